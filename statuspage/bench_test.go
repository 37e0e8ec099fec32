package statuspage

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// fleetRun is a run over 20 projects of 250 instances each (5,000), of
// every age, in one region.
func fleetRun(b *testing.B) Run {
	b.Helper()
	files := fstest.MapFS{"launchwarden.toml": {Data: []byte(adminTOML)}}
	for p := range 20 {
		files[fmt.Sprintf("projects/p%02d.toml", p)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"owners = [\"alice\"]\n[slack]\nchannel = \"#p%02d\"\n[limits]\nmax_instances = 10\n[[templates]]\nname = \"t\"\nimage = \"ami-0123456789abcdef0\"\ninstance_type = \"t3.micro\"\n", p))}
	}
	cfg, problems := projects.LoadFS(files, t0)
	if cfg.Admin == nil || len(cfg.Projects) != 20 {
		b.Fatalf("config: %v", problems)
	}
	snap := &cloud.Snapshot{Account: "123456789012", Region: "us-east-1", InstanceTypes: map[string]cloud.InstanceType{"t3.micro": {Name: "t3.micro", VCPUs: 2}}}
	for i := range 5000 {
		project := fmt.Sprintf("p%02d", i%20)
		born := t0.Add(-time.Duration(i%72) * time.Hour)
		snap.Instances = append(snap.Instances, cloud.Instance{
			ID: fmt.Sprintf("i-%017x", i), Type: "t3.micro", State: "running", Project: project, Template: "t",
			BornAt: born, LaunchTime: born, Account: snap.Account, Region: snap.Region,
		})
	}
	obs := &reconcile.Observation{Snapshots: []*cloud.Snapshot{snap}}
	plan := reconcile.Plan(cfg, obs, t0, "bench")
	return Run{Config: cfg, Observation: obs, Plan: plan, Report: &reconcile.Report{}, Result: "ok"}
}

// BenchmarkRecord is what serve adds to each run: the status and the
// recent actions of a 5,000-instance fleet.
func BenchmarkRecord(b *testing.B) {
	r := fleetRun(b)
	s := NewStore()
	for b.Loop() {
		s.Record(r)
	}
}

// BenchmarkPages is one page view of a 5,000-instance fleet: the overview,
// and a project page of 250 instances.
func BenchmarkPages(b *testing.B) {
	s := NewStore()
	s.Record(fleetRun(b))
	h := Handler(s, Options{Now: fixedClock})
	for _, path := range []string{"/", "/projects/p07"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", path, rec.Code)
				}
			}
		})
	}
}
