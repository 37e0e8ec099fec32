package statuspage

import (
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// t0 is when the scripted run observes the fleet; pages are viewed 10
// minutes later.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

const adminTOML = `
[aws]
[[aws.accounts]]
name = "test"
id = "123456789012"
regions = ["us-east-1", "eu-central-1"]

[slack]
admin_channel = "#lw-admins"
token_env = "LW_TEST_SLACK_TOKEN"

[defaults.limits]
max_instances = 3

[defaults.lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"
terminate_stopped_after = "2d"

[caps]
max_instances = 10
max_vcpus = 64
allowed_instance_types = ["t3.*", "m6i.*"]
max_lifetime = "30d"
min_notice = "2h"

[grants.osbuild]
max_vcpus = 128
allowed_instance_types = ["c7i.*"]

[safety]
max_destructive_per_run = 20
orphan_grace = "3d"
enforce = true

[web]
base_url = "https://lw.example.org"
`

const packitTOML = `owners = ["alice", "bob"]

[slack]
channel = "#packit"

[limits]
max_instances = 4
max_vcpus = 4

[[templates]]
name = "fedora"
images = { us-east-1 = "ami-0123456789abcdef0", eu-central-1 = "ami-0123456789abcdee0" }
instance_type = "t3.large"
volume_gib = 40
ssh_from = ["10.0.0.0/8", "192.0.2.0/24"]

[[templates]]
name = "small"
images = { us-east-1 = "ami-0123456789abcdef1", eu-central-1 = "ami-0123456789abcdee1" }
instance_type = "t3.micro"
ssh_keys_from_github = ["carol"]

[[extensions]]
instance = "i-00000000000000102"
until = 2026-11-28T09:00:00Z
reason = "reproducing a flaky <build> & its logs"
`

const osbuildTOML = `owners = ["dave"]

[slack]
channel = "#osbuild"

[limits]
allowed_instance_types = ["c7i.*"]

[[templates]]
name = "builder"
images = { us-east-1 = "ami-0123456789abcdef2", eu-central-1 = "ami-0123456789abcdee2" }
instance_type = "c7i.2xlarge"
`

// cockpit's file is broken: the project is frozen.
const cockpitTOML = `owners = ["erin"]
[slack]
channel = "#cockpit"
[[templates]]
name = "tasks"
instance_type = "t3.micro"
`

// scriptedRun is a run of a fleet that shows every part of the pages: an
// instance warned and due soon, one extended, one stopped, one over the
// vCPU quota, an orphan, a frozen project, a template that left the config.
func scriptedRun(t *testing.T) Run {
	t.Helper()
	cfg, problems := projects.LoadFS(fstest.MapFS{
		"launchwarden.toml":     {Data: []byte(adminTOML)},
		"projects/packit.toml":  {Data: []byte(packitTOML)},
		"projects/osbuild.toml": {Data: []byte(osbuildTOML)},
		"projects/cockpit.toml": {Data: []byte(cockpitTOML)},
	}, t0)
	if cfg.Admin == nil || cfg.Frozen["cockpit"] == nil || len(cfg.Projects) != 2 {
		t.Fatalf("config did not load as scripted: %v", problems)
	}
	east := &cloud.Snapshot{
		Account: "123456789012", Region: "us-east-1",
		InstanceTypes: map[string]cloud.InstanceType{"t3.large": {Name: "t3.large", VCPUs: 2}, "t3.micro": {Name: "t3.micro", VCPUs: 2}, "c7i.2xlarge": {Name: "c7i.2xlarge", VCPUs: 8}},
		Instances: []cloud.Instance{
			{ID: "i-00000000000000101", Type: "t3.large", State: "running", Project: "packit", Template: "fedora", BornAt: t0.Add(-20 * time.Hour), LaunchTime: t0.Add(-20 * time.Hour),
				Notice: "stop@2026-11-23T07:00:00Z p=packit r=20261123T070000-aaaaaa", LabelProject: "packit", LabelTemplate: "fedora"},
			{ID: "i-00000000000000102", Type: "t3.large", State: "running", Project: "packit", Template: "fedora", BornAt: t0.Add(-2 * 24 * time.Hour), LaunchTime: t0.Add(-2 * 24 * time.Hour),
				ExpiresAt: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), LabelProject: "packit", LabelTemplate: "fedora"},
			{ID: "i-00000000000000103", Type: "t3.micro", State: "stopped", Project: "packit", Template: "small", BornAt: t0.Add(-30 * time.Hour), LaunchTime: t0.Add(-30 * time.Hour), StoppedAt: t0.Add(-6 * time.Hour),
				LabelProject: "packit", LabelTemplate: "small"},
			{ID: "i-00000000000000104", Type: "t3.large", State: "running", Project: "packit", Template: "fedora", BornAt: t0.Add(-1 * time.Hour), LaunchTime: t0.Add(-1 * time.Hour),
				LabelProject: "packit", LabelTemplate: "fedora"},
			// Extended with a digest's button.
			{ID: "i-00000000000000301", Type: "c7i.2xlarge", State: "running", Project: "osbuild", Template: "builder", BornAt: t0.Add(-3 * time.Hour), LaunchTime: t0.Add(-3 * time.Hour),
				ExpiresAt: t0.Add(48 * time.Hour), Extended: "2026-11-23T08:30:00Z u=U0DAVE01 n=dave r=20261123T080000-aaaaaa e=" + t0.Add(48*time.Hour).Format(time.RFC3339),
				LabelProject: "osbuild", LabelTemplate: "builder"},
			{ID: "i-00000000000000401", Type: "t3.micro", State: "running", Project: "cockpit", Template: "tasks", BornAt: t0.Add(-50 * time.Hour), LaunchTime: t0.Add(-50 * time.Hour),
				LabelProject: "cockpit", LabelTemplate: "tasks"},
		},
		Templates: []cloud.Template{
			{ID: "lt-0000000000000001", Name: "lw-packit-fedora", DefaultVersion: 2, LatestVersion: 2, Project: "packit", TemplateName: "fedora", Managed: true},
			{ID: "lt-0000000000000002", Name: "lw-packit-old", DefaultVersion: 1, LatestVersion: 1, Project: "packit", TemplateName: "old", Managed: true},
			// Closed when observed; the run opens it again (usage allows).
			{ID: "lt-0000000000000004", Name: "lw-osbuild-builder", DefaultVersion: 1, LatestVersion: 1, Project: "osbuild", TemplateName: "builder", Managed: true,
				Tags: map[string]string{reconcile.TagLaunch: reconcile.LaunchClosed, reconcile.TagLaunchReason: "max_vcpus 8 reached for c7i.2xlarge"}},
		},
	}
	europe := &cloud.Snapshot{
		Account: "123456789012", Region: "eu-central-1",
		InstanceTypes: map[string]cloud.InstanceType{"t3.xlarge": {Name: "t3.xlarge", VCPUs: 4}},
		Instances: []cloud.Instance{
			{ID: "i-00000000000000901", Type: "t3.xlarge", State: "running", Project: "fedora-infra", Template: "builder", BornAt: t0.Add(-20 * 24 * time.Hour), LaunchTime: t0.Add(-20 * 24 * time.Hour),
				LabelProject: "fedora-infra", LabelTemplate: "builder"},
		},
		Templates: []cloud.Template{
			{ID: "lt-0000000000000003", Name: "lw-packit-fedora", DefaultVersion: 3, LatestVersion: 3, Project: "packit", TemplateName: "fedora", Managed: true},
		},
	}
	for _, snap := range []*cloud.Snapshot{east, europe} {
		for i := range snap.Instances {
			snap.Instances[i].Account, snap.Instances[i].Region = snap.Account, snap.Region
		}
		for i := range snap.Templates {
			snap.Templates[i].Account, snap.Templates[i].Region = snap.Account, snap.Region
		}
		snap.SecurityGroups = []cloud.SecurityGroup{{ID: "sg-0000000000000001" + snap.Region[:2], Name: "lw-packit-fedora", Project: "packit", TemplateName: "fedora", Managed: true,
			Ingress: []cloud.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "10.0.0.0/8"}}}}
	}
	// The images the templates name exist in their regions, and their
	// instance types are offered there.
	for _, snap := range []*cloud.Snapshot{east, europe} {
		snap.Images = map[string]cloud.Image{}
		for _, p := range cfg.Projects {
			for _, tpl := range p.Templates {
				id := tpl.ImageID(snap.Region)
				snap.Images[id] = cloud.Image{ID: id, Name: "fedora-41", Architecture: "x86_64", RootDevice: "/dev/sda1", RootVolumeGiB: 5}
				if _, ok := snap.InstanceTypes[tpl.InstanceType]; !ok {
					snap.InstanceTypes[tpl.InstanceType] = east.InstanceTypes[tpl.InstanceType]
				}
			}
		}
	}
	obs := &reconcile.Observation{Snapshots: []*cloud.Snapshot{east, europe}}
	plan := reconcile.Plan(cfg, obs, t0, "20261123T090000-abcdef")
	rep := &reconcile.Report{}
	for _, d := range notify.Group(plan.RunID, plan.Now, plan.Notices, plan.Usage) {
		res := notify.Result{Digest: d}
		if d.Channel == "#osbuild" {
			res.Err = notify.Permanent(errors.New("channel_not_found"))
		}
		rep.Deliveries = append(rep.Deliveries, res)
	}
	for _, rp := range plan.Regions {
		for _, c := range rp.Instances {
			if c.Destructive() {
				rep.Stopped = append(rep.Stopped, c.ID)
			}
		}
	}
	return Run{Config: cfg, Observation: obs, Plan: plan, Report: rep, Result: "ok"}
}

func get(t *testing.T, h http.Handler, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(body)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update if intended):\n%s", path, diff)
	}
}

func fixedClock() time.Time { return t0.Add(10 * time.Minute) }

func TestPagesGolden(t *testing.T) {
	s := NewStore()
	s.Record(scriptedRun(t))
	h := Handler(s, Options{Now: fixedClock})
	for _, tc := range []struct {
		path, golden string
		code         int
	}{
		{"/", "overview.html", http.StatusOK},
		{"/projects/packit", "project-packit.html", http.StatusOK},
		{"/projects/osbuild", "project-osbuild.html", http.StatusOK},
		{"/projects/cockpit", "project-cockpit.html", http.StatusOK},
		{"/projects/fedora-infra", "project-fedora-infra.html", http.StatusOK},
		{"/projects/nosuch", "notfound.html", http.StatusNotFound},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			code, hdr, body := get(t, h, tc.path)
			if code != tc.code {
				t.Errorf("GET %s: %d, want %d", tc.path, code, tc.code)
			}
			if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			golden(t, tc.golden, body)
		})
	}
}

func TestNoRunYet(t *testing.T) {
	h := Handler(NewStore(), Options{Now: fixedClock})
	code, _, body := get(t, h, "/")
	if code != http.StatusOK {
		t.Errorf("GET /: %d", code)
	}
	golden(t, "norun.html", body)
	if code, _, _ := get(t, h, "/projects/packit"); code != http.StatusNotFound {
		t.Errorf("a project page before any run: %d, want 404", code)
	}
}

func TestAbortedRunIsShownAboveTheLastGoodOne(t *testing.T) {
	s := NewStore()
	s.Record(scriptedRun(t))
	s.Attempted("20261123T100000-000001", t0.Add(time.Hour), "aborted")
	_, _, body := get(t, Handler(s, Options{Now: fixedClock}), "/")
	for _, want := range []string{"A later run recorded nothing: run 20261123T100000-000001 at 2026-11-23 10:00 UTC: aborted", "run <code>20261123T090000-abcdef</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestStylesheetAndHeaders(t *testing.T) {
	h := Handler(NewStore(), Options{Now: fixedClock})
	code, hdr, body := get(t, h, "/style.css")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") || !strings.Contains(body, "@media") {
		t.Errorf("GET /style.css: %d %q", code, hdr.Get("Content-Type"))
	}
	_, hdr, _ = get(t, h, "/")
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestPassword(t *testing.T) {
	var pw string
	var pwErr error
	h := Handler(NewStore(), Options{Now: fixedClock, Password: func() (string, error) { return pw, pwErr }})
	do := func(user, pass string, auth bool) int {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if auth {
			req.SetBasicAuth(user, pass)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := do("", "", false); got != http.StatusOK {
		t.Errorf("no password configured: %d", got)
	}
	pw = "correct horse"
	for _, tc := range []struct {
		name       string
		user, pass string
		auth       bool
		want       int
	}{
		{"no credentials", "", "", false, http.StatusUnauthorized},
		{"wrong password", "alice", "correct hors", true, http.StatusUnauthorized},
		{"longer password", "alice", "correct horse!", true, http.StatusUnauthorized},
		{"right password, any user", "alice", "correct horse", true, http.StatusOK},
	} {
		if got := do(tc.user, tc.pass, tc.auth); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	pwErr = errors.New("environment variable LW_WEB_PASSWORD is empty or unset")
	if got := do("alice", "correct horse", true); got != http.StatusServiceUnavailable {
		t.Errorf("unreadable password: %d, want 503 (closed, not open)", got)
	}
}

// A template's launch state is the observed one, changed as the run
// planned when the run applied its plan; one the run created is there as
// it was created.
func TestLaunchStates(t *testing.T) {
	r := scriptedRun(t)
	got := launchesClosed(&r)
	want := map[launchKey]string{
		{"packit", "fedora"}:   "max_instances 4 reached", // closed by the run
		{"packit", "old"}:      "",                        // deleted by the run: not the guard's business
		{"osbuild", "builder"}: "",                        // opened by the run
		{"packit", "small"}:    "max_instances 4 reached", // created closed by the run
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(launchKey{})); diff != "" {
		t.Errorf("after the run (-want +got):\n%s", diff)
	}
	r.Report = nil // nothing applied (safety.enforce = false)
	got = launchesClosed(&r)
	want = map[launchKey]string{{"packit", "fedora"}: "", {"packit", "old"}: "", {"osbuild", "builder"}: "max_vcpus 8 reached for c7i.2xlarge"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(launchKey{})); diff != "" {
		t.Errorf("nothing applied (-want +got):\n%s", diff)
	}
}
