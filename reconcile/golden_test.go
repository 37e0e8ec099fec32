package reconcile

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update if intended):\n%s", path, diff)
	}
}

// goldenConfig is a config repo loaded from memory at a fixed time.
func goldenConfig(t *testing.T) *projects.Config {
	t.Helper()
	fsys := fstest.MapFS{
		"launchwarden.toml":     {Data: []byte(adminTOML)},
		"projects/packit.toml":  {Data: []byte(twoProjects()["projects/packit.toml"] + "\n[limits]\nmax_instances = 2\n")},
		"projects/cockpit.toml": {Data: []byte(twoProjects()["projects/cockpit.toml"])},
		"projects/broken.toml":  {Data: []byte("owners = [\"eve\"]\nttl = \"1d\"\n")},
	}
	cfg, _ := projects.LoadFS(fsys, t0)
	if cfg.Admin == nil {
		t.Fatal("admin file invalid")
	}
	return cfg
}

// testImage is the image the test templates name: a Fedora image whose root
// device is /dev/sda1 with a 5 GiB snapshot.
var testImage = cloud.Image{
	ID: "ami-0123456789abcdef0", Name: "Fedora-Cloud-Base-Generic-41-20261101.0.x86_64", OwnerID: "125523088429",
	Architecture: "x86_64", RootDevice: "/dev/sda1", RootVolumeGiB: 5, CreationDate: t0.Add(-22 * 24 * time.Hour),
}

// goldenObservation is a region with drift of every kind.
func goldenObservation(t *testing.T, cfg *projects.Config) *Observation {
	keys := sshkeys.Result{}
	for _, u := range []string{"alice", "bob", "carol"} {
		keys.Keys = append(keys.Keys, sshkeys.Key{User: u, Type: "ssh-ed25519", Line: testenv.KeyLine(t, u) + " github:" + u})
	}
	born := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	// inst is an instance as cloud.Observe gives it: launched from its
	// template (by the ID the template has below), with its verified notice.
	inst := func(id, project, template, typ string, bornAt time.Time, notice string) cloud.Instance {
		lt := map[string]string{"packit/fedora": "lt-0000000000000000a", "gone/box": "lt-0000000000000000b", "broken/x": "lt-0000000000000000c"}[project+"/"+template]
		return cloud.Instance{ID: id, Type: typ, State: "running", Project: project, Template: template, LabelProject: project, LabelTemplate: template,
			BornAt: bornAt, LaunchTime: bornAt, Notice: notice, LaunchTemplateID: lt, Account: testAccount, Region: testRegion}
	}
	managed := func(project, template string, extra map[string]string) map[string]string {
		tags := map[string]string{cloud.TagManaged: "true", cloud.TagProject: project, cloud.TagTemplate: template}
		for k, v := range extra {
			tags[k] = v
		}
		return tags
	}
	snap := &cloud.Snapshot{
		Account: testAccount, Region: testRegion,
		SecurityGroups: []cloud.SecurityGroup{
			{ID: "sg-0000000000000000a", Name: "lw-packit-fedora", Managed: true, Project: "packit", TemplateName: "fedora", Tags: managed("packit", "fedora", nil),
				Ingress: []cloud.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "203.0.113.0/24"}, {Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}}},
			{ID: "sg-0000000000000000b", Name: "lw-gone-box", Managed: true, Project: "gone", TemplateName: "box", Tags: managed("gone", "box", nil)},
			{ID: "sg-0000000000000000c", Name: "lw-broken-x", Managed: true, Project: "broken", TemplateName: "x", Tags: managed("broken", "x", nil)},
		},
		Templates: []cloud.Template{
			{ID: "lt-0000000000000000a", Name: "lw-packit-fedora", Managed: true, Project: "packit", TemplateName: "fedora", Spec: "stale", DefaultVersion: 3, LatestVersion: 3, Tags: managed("packit", "fedora", map[string]string{TagVersion: "3"})},
			{ID: "lt-0000000000000000b", Name: "lw-gone-box", Managed: true, Project: "gone", TemplateName: "box", DefaultVersion: 1, LatestVersion: 1, Tags: managed("gone", "box", nil)},
			{ID: "lt-0000000000000000c", Name: "lw-broken-x", Managed: true, Project: "broken", TemplateName: "x", DefaultVersion: 1, LatestVersion: 1, Tags: managed("broken", "x", nil)},
		},
		Instances: []cloud.Instance{
			inst("i-0000000000000000a", "packit", "fedora", "t3.large", born(-20), ""),                                             // warned now
			inst("i-0000000000000000b", "packit", "fedora", "t3.large", born(-30), "stop@2026-11-23T05:00:00Z p=packit r=earlier"), // stopped now
			inst("i-0000000000000000c", "packit", "centos", "m6i.xlarge", born(-1), ""),                                            // over quota
			inst("i-0000000000000000d", "gone", "box", "t3.large", born(-2), ""),                                                   // orphan
			inst("i-0000000000000000e", "broken", "x", "t3.large", born(-200), ""),                                                 // frozen: untouched
		},
		InstanceTypes: map[string]cloud.InstanceType{
			"t3.large":   {Name: "t3.large", VCPUs: 2, Architectures: []string{"x86_64"}},
			"t3.medium":  {Name: "t3.medium", VCPUs: 2, Architectures: []string{"x86_64"}},
			"m6i.xlarge": {Name: "m6i.xlarge", VCPUs: 4, Architectures: []string{"x86_64"}},
		},
		Images:  map[string]cloud.Image{testImage.ID: testImage},
		Subnets: []cloud.Subnet{{ID: "subnet-0000000000000000a", VPCID: "vpc-0123456789abcdef0", AvailabilityZone: "us-east-1a"}},
	}
	return &Observation{Snapshots: []*cloud.Snapshot{snap}, Keys: keys}
}

func TestPlanGolden(t *testing.T) {
	cfg := goldenConfig(t)
	plan := Plan(cfg, goldenObservation(t, cfg), t0, "golden-run")

	for _, f := range []struct {
		name  string
		write func(*RunPlan, *bytes.Buffer) error
	}{
		{"plan.txt", func(p *RunPlan, b *bytes.Buffer) error { return p.WriteText(b) }},
		{"plan.md", func(p *RunPlan, b *bytes.Buffer) error { return p.WriteMarkdown(b) }},
		{"plan.json", func(p *RunPlan, b *bytes.Buffer) error { return p.WriteJSON(b) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.write(plan, &b); err != nil {
				t.Fatal(err)
			}
			golden(t, f.name, b.Bytes())
		})
	}

	// The decisions the golden files show, checked outright as well.
	got := map[string]lifecycle.Action{}
	for _, ic := range plan.Regions[0].Instances {
		got[ic.ID] = ic.Action
	}
	want := map[string]lifecycle.Action{
		"i-0000000000000000a": lifecycle.ActionNotify,
		"i-0000000000000000b": lifecycle.ActionStop,
		"i-0000000000000000c": lifecycle.ActionNotify,
		"i-0000000000000000d": lifecycle.ActionNotify,
		// The frozen project's: warned (admins, since its channel is
		// unreadable), never acted on.
		"i-0000000000000000e": lifecycle.ActionNotify,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance actions (-want +got):\n%s", diff)
	}
}

func TestCreateLaunchTemplateInputGolden(t *testing.T) {
	cfg := goldenConfig(t)
	plan := Plan(cfg, goldenObservation(t, cfg), t0, "golden-run")
	var create *TemplateChange
	for i, tc := range plan.Regions[0].Templates {
		if tc.Op == OpCreate && tc.Name == "lw-packit-centos" {
			create = &plan.Regions[0].Templates[i]
		}
	}
	if create == nil {
		t.Fatal("no create for lw-packit-centos in the plan")
	}
	data := *create.Data
	data.SecurityGroupIDs = []string{"sg-00000000000000001"} // as Apply fills it in
	// The tags as Apply gives them: packit is at quota, so the template is
	// created closed, its launch tags on the launch-template resource in
	// the same call.
	b, err := json.MarshalIndent(cloud.CreateLaunchTemplateInput(create.Name, data, createTags(*create, SpecHash(data))), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "create_launch_template_input.json", append(b, '\n'))
}

func TestTemplatesOnlyKeepsNothingDestructive(t *testing.T) {
	cfg := goldenConfig(t)
	plan := Plan(cfg, goldenObservation(t, cfg), t0, "golden-run").TemplatesOnly()
	if len(plan.Held) != 0 {
		t.Errorf("held %d, want none", len(plan.Held))
	}
	// packit is at quota: lw-packit-centos is created closed, and that
	// closing is the one thing told (no later run would tell it).
	if diff := cmp.Diff([]string{"launches-closed packit/centos: 3/2 instances — stop or terminate one to launch again"}, launchNotices(plan)); diff != "" || len(plan.Notices) != 1 {
		t.Errorf("notices: %d (-want +got):\n%s", len(plan.Notices), diff)
	}
	var ops []string
	for _, rp := range plan.Regions {
		if len(rp.Instances) != 0 || len(rp.TemplateTags) != 0 {
			t.Errorf("instance changes %d, tag changes %d, want none", len(rp.Instances), len(rp.TemplateTags))
		}
		for _, g := range rp.Groups {
			ops = append(ops, "group "+g.Op+" "+g.Name)
		}
		for _, tc := range rp.Templates {
			ops = append(ops, "template "+tc.Op+" "+tc.Name)
		}
	}
	want := []string{
		"group create lw-cockpit-debian", "group authorize lw-packit-fedora", "group revoke lw-packit-fedora", "group create lw-packit-centos",
		"template create lw-cockpit-debian", "template update lw-packit-fedora", "template create lw-packit-centos",
	}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("kept operations (-want +got):\n%s", diff)
	}
}

func TestStatusGolden(t *testing.T) {
	cfg := goldenConfig(t)
	st := StatusOf(cfg, goldenObservation(t, cfg), t0)
	var b bytes.Buffer
	if err := st.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.txt", b.Bytes())
	b.Reset()
	if err := st.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.json", b.Bytes())
}

// TestPlanAndStatusJSONAreSnakeCase checks that every key of the JSON that
// `plan --format json` and `status --format json` print (their goldens,
// which the golden tests keep current) is snake_case: no Go field name
// leaks. Keys of maps that hold data (tags, usage and fleet by project)
// are the data's own.
func TestPlanAndStatusJSONAreSnakeCase(t *testing.T) {
	dataMaps := map[string]bool{"tag_specs": true, "set": true, "usage": true, "fleet": true, "tags": true}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(path string, v any, check bool)
	walk = func(path string, v any, check bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if check && !snake.MatchString(k) {
					t.Errorf("%s: key %q is not snake_case", path, k)
				}
				walk(path+"."+k, child, check && !dataMaps[k])
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), child, check)
			}
		}
	}
	for _, name := range []string{"plan.json", "status.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		walk(name, v, true)
	}
}
