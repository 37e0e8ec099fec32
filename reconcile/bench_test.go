package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

// writeFleetConfig writes a config repo of n projects with two templates
// each, owned by 50 distinct GitHub users.
func writeFleetConfig(tb testing.TB, dir string, n int) {
	tb.Helper()
	admin := adminTOML
	if err := os.MkdirAll(filepath.Join(dir, "projects"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "launchwarden.toml"), []byte(admin), 0o644); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("p%04d", i)
		text := projectTOML("#"+name, []string{fmt.Sprintf("user%02d", i%50)},
			templateTOML("fedora", "t3.large", 40, "203.0.113.0/24"),
			templateTOML("centos", "m6i.large", 60)) + "\n[limits]\nmax_instances = 10\nmax_vcpus = 64\n"
		if err := os.WriteFile(filepath.Join(dir, "projects", name+".toml"), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkSteadyRun1000Projects measures a run over 1,000 projects × 2
// templates that are already in place: the API calls must be the lower
// bound (the account's identity, one DescribeInstances page, ⌈2000/200⌉
// template pages, ⌈2000/1000⌉ group pages, the templates' two instance
// types in one call, their image by id in one, the configured subnet in
// one) and no mutating call.
func BenchmarkSteadyRun1000Projects(b *testing.B) {
	h := newHarness(b, map[string]string{})
	writeFleetConfig(b, h.dir, 1000)
	h.run() // creates 2,000 templates and groups

	const lowerBound = 1 + 1 + 10 + 2 + 1 + 1 + 1
	var calls, mutating int
	for b.Loop() {
		h.sim.ResetCalls()
		h.run()
		calls, mutating = 0, 0
		for action, n := range h.sim.CallCounts() {
			calls += n
			if action[:8] != "Describe" && action != "GetCallerIdentity" {
				mutating += n
			}
		}
	}
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(lowerBound), "lower-bound-calls")
	b.ReportMetric(float64(mutating), "mutating-calls/op")
	if mutating != 0 || calls != lowerBound {
		b.Errorf("steady run made %d calls (%d mutating), want %d and 0", calls, mutating, lowerBound)
	}
}

// BenchmarkPlan100kInstances measures the pure planning step for 100,000
// instances in 1,000 projects (no I/O): CPU per plan, allocations, and the
// heap the plan keeps.
func BenchmarkPlan100kInstances(b *testing.B) {
	dir := b.TempDir()
	writeFleetConfig(b, dir, 1000)
	cfg, problems := projects.Load(dir)
	if cfg.Admin == nil || len(cfg.Frozen) > 0 {
		b.Fatalf("config: %v", problems)
	}
	obs := fleetObservation(cfg, 100_000)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var plan *RunPlan
	for b.Loop() {
		plan = Plan(cfg, obs, t0.Add(20*time.Hour), "bench")
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-inuse-MiB")
	b.ReportMetric(float64(len(plan.Notices)), "notices")
}

// fleetObservation is a steady region (every template and group in place)
// holding n instances spread over the config's projects, of every age.
func fleetObservation(cfg *projects.Config, n int) *Observation {
	snap := &cloud.Snapshot{Account: testAccount, Region: testRegion, InstanceTypes: map[string]cloud.InstanceType{
		"t3.large": {Name: "t3.large", VCPUs: 2}, "m6i.large": {Name: "m6i.large", VCPUs: 2},
	}}
	obs := &Observation{Snapshots: []*cloud.Snapshot{snap}}
	for _, p := range cfg.Projects {
		for _, u := range p.Owners {
			obs.Keys.Keys = append(obs.Keys.Keys, sshkeys.Key{User: u, Line: "ssh-ed25519 AAAA github:" + u})
		}
		for i := range p.Templates {
			t := &p.Templates[i]
			name := Name(p.Name, t.Name)
			tags := map[string]string{cloud.TagManaged: "true", cloud.TagProject: p.Name, cloud.TagTemplate: t.Name}
			snap.SecurityGroups = append(snap.SecurityGroups, cloud.SecurityGroup{ID: "sg-" + name, Name: name, Managed: true, Project: p.Name, TemplateName: t.Name, Tags: tags, Ingress: sshRules(t)})
			snap.Templates = append(snap.Templates, cloud.Template{ID: "lt-" + name, Name: name, Managed: true, Project: p.Name, TemplateName: t.Name, DefaultVersion: 1, LatestVersion: 1, Tags: tags})
		}
	}
	for i := range n {
		p := cfg.Projects[i%len(cfg.Projects)]
		t := p.Templates[i%2]
		born := t0.Add(-time.Duration(i%72) * time.Hour)
		snap.Instances = append(snap.Instances, cloud.Instance{
			ID: fmt.Sprintf("i-%017x", i), Type: t.InstanceType, State: "running", Project: p.Name, Template: t.Name,
			BornAt: born, LaunchTime: born,
			LabelProject: p.Name, LabelTemplate: t.Name,
		})
	}
	return obs
}
