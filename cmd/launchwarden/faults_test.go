package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

// These tests break the world around `launchwarden run` — EC2 throttles,
// fails and hangs, Slack goes down, the clock jumps, a config file is cut
// in half, the process is killed mid-apply — and check that the state the
// runs leave behind keeps every invariant of docs/design.md.

const faultTokenEnv = "LW_FAULT_SLACK_TOKEN"

// faultAdmin is the admin file of the fault tests, with the per-run cap
// given.
func faultAdmin(maxDestructive int) string {
	return fmt.Sprintf(`schedule = "@every 1h"

[aws]
[[aws.accounts]]
name = "test"
id = "123456789012"
regions = ["us-east-1"]
vpc_id = "vpc-0123456789abcdef0"

[slack]
admin_channel = "#lw-admins"
token_env = %q

[defaults.lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"
terminate_stopped_after = "1d"

[caps]
max_instances = 2000
max_vcpus = 10000
allowed_instance_types = ["t3.*"]
min_notice = "2h"

[safety]
max_destructive_per_run = %d
orphan_grace = "1d"
enforce = true
`+testenv.StateTOML, faultTokenEnv, maxDestructive)
}

// faultProject is a project file with one template.
func faultProject(name string) string {
	return fmt.Sprintf(`owners = ["alice"]

[slack]
channel = "#%s"

[limits]
max_instances = 2000
max_vcpus = 10000

[[templates]]
name = "fedora"
image = "ami-0123456789abcdef0"
instance_type = "t3.micro"
volume_gib = 20
ssh_from = ["10.0.0.0/8"]
`, name)
}

// world is an emulator, a GitHub keys server, a Slack test server and a
// config repo; `launchwarden run` reaches them all over loopback.
type world struct {
	t        testing.TB
	sim      *ec2sim.Sim
	endpoint string
	keysURL  string
	slack    slackRecorder
	dir      string
}

func newWorld(t *testing.T, files map[string]string) *world {
	t.Helper()
	sim, endpoint, keysURL := startEmulator(t, testenv.T0)
	t.Setenv(faultTokenEnv, "xoxb-fault-test")
	return &world{t: t, sim: sim, endpoint: endpoint, keysURL: keysURL, slack: newSlackRecorder(t, sim), dir: testenv.WriteRepo(t, "", files)}
}

// templateID returns the ID of project's template "fedora" (see templateID).
func (w *world) templateID(project string) string {
	return templateID(w.t, w.sim, w.dir, w.endpoint, w.keysURL, serveAccount, serveRegion, project, "fedora")
}

// seed adds an instance of a project (untagged when project is "") born
// age before the emulator's now, with extra tags. An instance of a project
// is launched from the project's template "fedora" (see templateID), and
// its state tags are signed as launchwarden writes them.
func (w *world) seed(id, project, state string, age time.Duration, extra map[string]string) {
	tags := map[string]string{"Name": id}
	if project != "" {
		tags = testenv.Launched(w.templateID(project), id, project, "fedora", extra)
		tags["Name"] = id
	} else {
		for k, v := range extra {
			tags[k] = v
		}
	}
	born := w.sim.Now().Add(-age)
	w.sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", State: state,
		LaunchTime: born, AttachTime: born, Tags: tags, Account: serveAccount, Region: serveRegion})
}

// runArgs are the arguments of `launchwarden run` against this world, at
// the emulator's time.
func (w *world) runArgs(extra ...string) []string {
	return append([]string{"run", "--config", w.dir, "--endpoint-url", w.endpoint, "--github-url", w.keysURL,
		"--slack-api-url", w.slack.GetAPIURL(), "--now", w.sim.Now().Format(time.RFC3339), "--format", "json"}, extra...)
}

// run runs `launchwarden run` in-process and returns its exit code.
func (w *world) run(t *testing.T, extra ...string) int {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: os.Getenv}
	code := exitStatus(e, run(context.Background(), e, w.runArgs(extra...)))
	if testing.Verbose() {
		t.Logf("run at %s: exit %d\n%s", w.sim.Now().Format(time.RFC3339), code, errOut.String())
	}
	return code
}

// instances returns the emulator's instances by id.
func (w *world) instances() map[string]ec2sim.Instance {
	out := map[string]ec2sim.Instance{}
	for _, in := range w.sim.Instances(serveAccount, serveRegion) {
		out[in.ID] = in
	}
	return out
}

// mutatingCalls counts the emulator's calls that change something.
func (w *world) mutatingCalls() map[string]int {
	out := map[string]int{}
	for action, n := range w.sim.CallCounts() {
		if n > 0 && !strings.HasPrefix(action, "Describe") && action != "GetCallerIdentity" && action != "AssumeRole" {
			out[action] = n
		}
	}
	return out
}

// acted returns the instances a run stopped or terminated: those running
// (or stopped) in before and past that state in after.
func acted(before, after map[string]ec2sim.Instance) map[string]string {
	out := map[string]string{}
	for id, b := range before {
		a, ok := after[id]
		switch {
		case !ok || b.State == a.State:
		case a.State == ec2sim.StateShuttingDown || a.State == ec2sim.StateTerminated:
			out[id] = "terminate"
		case b.State == ec2sim.StateRunning && (a.State == ec2sim.StateStopping || a.State == ec2sim.StateStopped):
			out[id] = "stop"
		}
	}
	return out
}

// slackRecorder is testenv's Slack server, stamping posts with the
// emulator's time, read as digests.
type slackRecorder struct{ *testenv.Slack }

func newSlackRecorder(t *testing.T, sim *ec2sim.Sim) slackRecorder {
	return slackRecorder{testenv.NewSlack(t, sim.Now)}
}

// notices returns every instance line of every post so far.
func (s slackRecorder) notices() []delivered {
	var out []delivered
	for _, p := range s.Posts() {
		out = append(out, parseDigest(p)...)
	}
	return out
}

// delivered is one instance line of a delivered digest: an announcement
// (kind expiring, over quota, orphan…, with action and deadline) or a
// report of an action taken (kind stopped or terminated).
type delivered struct {
	at       time.Time
	run      int
	channel  string
	kind     string // the notify.Kind of the line's section
	instance string
	action   string
	deadline time.Time
}

func (d delivered) announces() bool { return d.action != "" && !d.deadline.IsZero() }

var (
	sectionTitle = regexp.MustCompile(`^(\S.*) \(\d+\)$`)
	instanceLine = regexp.MustCompile(`^\s+• (i-[0-9a-f]+)\b(?:.*?: (?:then )?(stop|terminate) at (\d{4}-\d\d-\d\d \d\d:\d\d) UTC)?`)
)

// titleKinds maps the section titles of a rendered digest to their kinds.
var titleKinds = func() map[string]notify.Kind {
	var d notify.Digest
	for _, k := range notify.Kinds {
		d.Notices = append(d.Notices, notify.Notice{Kind: k, InstanceID: "i-0"})
	}
	out := map[string]notify.Kind{}
	for _, s := range notify.Sections(d) {
		out[s.Title] = s.Kind
	}
	return out
}()

// parseDigest reads the instance lines of a digest's plain text (the
// message's fallback text, notify.RenderText).
func parseDigest(p testenv.Post) []delivered {
	var out []delivered
	section := ""
	for line := range strings.Lines(p.Text) {
		line = strings.TrimRight(line, "\n")
		if m := sectionTitle.FindStringSubmatch(line); m != nil {
			section = string(titleKinds[m[1]])
			continue
		}
		m := instanceLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := delivered{at: p.At, run: p.Run, channel: p.Channel, kind: section, instance: m[1], action: m[2]}
		if m[3] != "" {
			d.deadline, _ = time.Parse("2006-01-02 15:04", m[3])
		}
		switch notify.Kind(section) {
		case notify.KindStopped:
			if d.action == "terminate" {
				// "then terminate at …": the stop's message announces the
				// termination that follows.
				out = append(out, d)
				d.deadline = time.Time{}
			}
			d.action = "stop"
		case notify.KindTerminated:
			d.action = "terminate"
		}
		out = append(out, d)
	}
	return out
}

// checkAnnounced asserts invariant 2: every action in acts, taken at the
// given time, was announced (naming the instance and that action) in a
// digest delivered at least minNotice before, with a deadline not after it.
func checkAnnounced(t *testing.T, acts map[string]string, at time.Time, history []delivered, minNotice time.Duration) {
	t.Helper()
	for id, action := range acts {
		ok := false
		for _, d := range history {
			if d.instance == id && d.action == action && d.announces() && !d.at.Add(minNotice).After(at) && !d.deadline.After(at) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: %s %s without a notice delivered %s before", at.Format(time.RFC3339), action, id, minNotice)
		}
	}
}

// checkTemplatesConverged asserts that the templates and groups are what
// the config asks for: one of each per template entry, the default version
// the latest, and a plan with nothing left to change.
func (w *world) checkTemplatesConverged(t *testing.T) {
	t.Helper()
	cfg, problems := projects.Load(w.dir)
	if cfg.Admin == nil {
		t.Fatalf("config: %v", problems)
	}
	want := map[string]bool{}
	for _, p := range cfg.Projects {
		for _, tmpl := range p.Templates {
			want[reconcile.Name(p.Name, tmpl.Name)] = true
		}
	}
	got := map[string]int{}
	for _, lt := range w.sim.LaunchTemplates(serveAccount, serveRegion) {
		got[lt.Name]++
		if lt.DefaultVersion != lt.LatestVersion || lt.Tags[cloud.TagSpec] == "" {
			t.Errorf("template %s: default version %d, latest %d, spec tag %q", lt.Name, lt.DefaultVersion, lt.LatestVersion, lt.Tags[cloud.TagSpec])
		}
	}
	groups := map[string]int{}
	for _, g := range w.sim.SecurityGroups(serveAccount, serveRegion) {
		if g.Tags[cloud.TagManaged] == "true" {
			groups[g.Name]++
		}
	}
	for name := range want {
		if got[name] != 1 || groups[name] != 1 {
			t.Errorf("%s: %d templates and %d groups, want 1 of each", name, got[name], groups[name])
		}
	}
	if len(got) != len(want) || len(groups) != len(want) {
		t.Errorf("%d templates and %d groups, want %d of each", len(got), len(groups), len(want))
	}

	// The clients hold the state key: the markers are read as a run reads them.
	clients := testenv.Connect(t, w.endpoint, 0)
	obs, err := reconcile.Observe(context.Background(), cfg, clients, &sshkeys.Fetcher{BaseURL: w.keysURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rp := range reconcile.Plan(cfg, obs, w.sim.Now(), "check").Regions {
		if len(rp.Templates) > 0 || len(rp.Groups) > 0 {
			t.Errorf("templates or groups still to change after convergence: %+v %+v", rp.Templates, rp.Groups)
		}
	}
}

// expiredFleet seeds, in project packit, n instances past expiry whose
// stop was announced with a deadline an hour ago: a run stops them.
func (w *world) expiredFleet(n int) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("i-%017x", 0xe000+i)
		w.seed(id, "packit", ec2sim.StateRunning, 26*time.Hour, map[string]string{
			cloud.TagNotice: announced("stop", "packit", w.sim.Now().Add(-time.Hour))})
		ids = append(ids, id)
	}
	return ids
}

func states(all map[string]ec2sim.Instance, ids []string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		out[id] = all[id].State
	}
	return out
}

func TestRunCompletesThroughRequestLimitBursts(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	ids := w.expiredFleet(5)
	// Each action the run makes is refused once or twice before it gets
	// through; the SDK's retries must carry the run.
	for _, action := range []string{"DescribeInstances", "DescribeLaunchTemplates", "CreateSecurityGroup", "CreateLaunchTemplate", "StopInstances"} {
		w.sim.InjectFault(action, ec2sim.Fault{Code: "RequestLimitExceeded", Times: 2})
	}
	if code := w.run(t); code != exitOK {
		t.Fatalf("run exited %d, want 0", code)
	}
	for id, state := range states(w.instances(), ids) {
		if state != ec2sim.StateStopping && state != ec2sim.StateStopped {
			t.Errorf("%s is %s, want stopped", id, state)
		}
	}
	w.checkTemplatesConverged(t)
}

// pageFault arms a fault on every DescribeInstances call after the first
// page, so an observation fails halfway through the listing; disarmed, it
// passes every call through.
type pageFault struct {
	sim      *ec2sim.Sim
	fault    ec2sim.Fault
	mu       sync.Mutex
	pages    int
	disarmed bool
}

func (p *pageFault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm() // the emulator reads the parsed form
	if r.Form.Get("Action") == "DescribeInstances" {
		p.mu.Lock()
		p.pages++
		if p.pages == 2 && !p.disarmed {
			p.sim.InjectFault("DescribeInstances", p.fault)
		}
		p.mu.Unlock()
	}
	p.sim.ServeHTTP(w, r)
}

func TestFailedListingPageMeansNoActionAtAll(t *testing.T) {
	tests := []struct {
		name  string
		fault ec2sim.Fault
	}{
		{"5xx on the second page", ec2sim.Fault{Status: http.StatusServiceUnavailable, Times: 1000}},
		{"second page hangs", ec2sim.Fault{Hang: true, Times: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
			ids := w.expiredFleet(10)
			for i := range 1100 { // more than one 1,000-instance page
				w.seed(fmt.Sprintf("i-%017x", 0x10000+i), "packit", ec2sim.StateRunning, time.Hour, nil)
			}
			pf := &pageFault{sim: w.sim, fault: tt.fault}
			srv := httptest.NewServer(pf)
			defer srv.Close()
			w.endpoint = srv.URL
			before := w.instances()

			if code := w.run(t, "--timeout", "3s"); code != exitAborted {
				t.Errorf("run exited %d, want %d (aborted before any action)", code, exitAborted)
			}
			if got := w.mutatingCalls(); len(got) > 0 {
				t.Errorf("mutating calls after a failed listing: %v", got)
			}
			if got := w.slack.notices(); len(got) > 0 {
				t.Errorf("digests delivered after a failed listing: %v", got)
			}
			after := w.instances()
			for id, b := range before {
				if a := after[id]; a.State != b.State || !maps.Equal(a.Tags, b.Tags) {
					t.Errorf("%s changed: %s %v → %s %v", id, b.State, b.Tags, a.State, a.Tags)
				}
			}

			// The same world without the fault does act: the checks above
			// are not vacuous. (A fault armed again replaces the old one;
			// this one is used up by the first call and retried.)
			// Disarmed first: under load the first run's timeout can end it
			// before its second page, which must not arm the fault now.
			pf.mu.Lock()
			pf.disarmed = true
			pf.mu.Unlock()
			w.sim.InjectFault("DescribeInstances", ec2sim.Fault{Code: "RequestLimitExceeded"})
			if code := w.run(t); code != exitOK {
				t.Fatalf("run without the fault exited %d", code)
			}
			if got := len(acted(before, w.instances())); got != len(ids) {
				t.Errorf("run without the fault stopped %d instances, want %d", got, len(ids))
			}
		})
	}
}

// dueForTermination seeds, in project packit, n instances stopped for days
// whose termination was announced with a deadline an hour ago.
func (w *world) dueForTermination(n int, protected map[int]bool) []string {
	var ids []string
	born := w.sim.Now().Add(-5 * 24 * time.Hour)
	for i := range n {
		id := fmt.Sprintf("i-%017x", 0xd000+i)
		w.sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", State: ec2sim.StateStopped,
			LaunchTime: born, AttachTime: born, Account: serveAccount, Region: serveRegion, TerminationProtection: protected[i],
			Tags: testenv.Launched(w.templateID("packit"), id, "packit", "fedora",
				map[string]string{cloud.TagNotice: announced("terminate", "packit", w.sim.Now().Add(-time.Hour))})})
		ids = append(ids, id)
	}
	return ids
}

// checkNoRepeats asserts that no stage (instance, action, deadline) was
// announced twice.
func checkNoRepeats(t *testing.T, history []delivered) {
	t.Helper()
	seen := map[string]int{}
	for _, d := range history {
		if !d.announces() {
			continue
		}
		key := fmt.Sprintf("%s %s %s", d.instance, d.action, d.deadline.Format(time.RFC3339))
		if seen[key]++; seen[key] == 2 {
			t.Errorf("announced twice: %s", key)
		}
	}
}

func TestTerminateBatchFailuresFallBackPerInstance(t *testing.T) {
	tests := []struct {
		name      string
		protected map[int]bool
		fault     *ec2sim.Fault
		wantCode  int
		// wantLeft are the instances left after the first run, by index.
		wantLeft map[int]bool
	}{
		{
			// Termination protection is respected, not a failure.
			name:      "one protected instance among many",
			protected: map[int]bool{7: true},
			wantCode:  exitOK,
			wantLeft:  map[int]bool{7: true},
		},
		{
			name:     "the batch refused for one instance",
			fault:    &ec2sim.Fault{Code: "OperationNotPermitted"},
			wantCode: exitOK,
		},
		{
			// Not an error of one instance: the batch fails as a whole
			// and the next run takes it again.
			name:     "the batch refused as a whole",
			fault:    &ec2sim.Fault{Code: "UnauthorizedOperation"},
			wantCode: exitFailed,
			wantLeft: func() map[int]bool {
				all := map[int]bool{}
				for i := range 40 {
					all[i] = true
				}
				return all
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(100), "projects/packit.toml": faultProject("packit")})
			ids := w.dueForTermination(40, tt.protected)
			if tt.fault != nil {
				w.sim.InjectFault("TerminateInstances", *tt.fault)
			}
			if code := w.run(t); code != tt.wantCode {
				t.Errorf("run exited %d, want %d", code, tt.wantCode)
			}
			checkTerminated(t, w, ids, tt.wantLeft)

			// The next run finishes the job (protection is respected) and
			// announces nothing again.
			w.sim.Advance(time.Hour)
			w.run(t)
			checkTerminated(t, w, ids, tt.protected)
			checkNoRepeats(t, w.slack.notices())
		})
	}
}

// checkTerminated asserts that the instances are terminated but those left
// (by index), which are still stopped.
func checkTerminated(t *testing.T, w *world, ids []string, left map[int]bool) {
	t.Helper()
	got := states(w.instances(), ids)
	for i, id := range ids {
		want := ec2sim.StateTerminated
		if left[i] {
			want = ec2sim.StateStopped
		}
		if got[id] != want && !(want == ec2sim.StateTerminated && got[id] == ec2sim.StateShuttingDown) {
			t.Errorf("%s is %s, want %s", id, got[id], want)
		}
	}
}

func TestSlackDownThenRateLimitedDestroysNothingUntilDelivered(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	const id = "i-00000000000000001"
	w.seed(id, "packit", ec2sim.StateRunning, 17*time.Hour, nil) // warned at 18h, stopped at 24h in the normal course
	announced := w.expiredFleet(1)                               // stop announced earlier, due now

	// Down at +1h (the warning is due) and at +9h (past expiry): nothing
	// is destroyed, not even what was announced before the outage.
	w.slack.Set(true, 0)
	for _, hours := range []time.Duration{1, 8} {
		w.sim.Advance(hours * time.Hour)
		before := w.instances()
		w.run(t)
		if got := acted(before, w.instances()); len(got) > 0 {
			t.Fatalf("acted while Slack was down: %v", got)
		}
		if got := w.instances()[id].Tags[cloud.TagNotice]; got != "" {
			t.Fatalf("notice %q recorded while Slack was down", got)
		}
	}

	// Back, but answering the first post with 429 Retry-After: 1. The
	// warning goes out with a deadline a full min_notice away; the stop
	// waits for it.
	w.slack.Set(false, 1)
	var timeline []string
	for range 3 {
		w.sim.Advance(time.Hour)
		before := w.instances()
		w.run(t)
		acts := acted(before, w.instances())
		mine := maps.Clone(acts)
		delete(mine, announced[0]) // announced before the test began
		checkAnnounced(t, mine, w.sim.Now(), w.slack.notices(), 2*time.Hour)
		for id, a := range acts {
			timeline = append(timeline, fmt.Sprintf("+%s %s %s", w.sim.Now().Sub(testenv.T0), a, id))
		}
	}
	var told []string
	for _, d := range w.slack.notices() {
		told = append(told, fmt.Sprintf("+%s %s %s %s", d.at.Sub(testenv.T0), d.kind, d.instance, d.action))
	}
	slices.Sort(told)
	slices.Sort(timeline)
	want := []string{
		"+10h0m0s expiring i-00000000000000001 stop",
		"+10h0m0s stopped " + announced[0] + " stop",
		"+10h0m0s stopped " + announced[0] + " terminate", // the termination, announced with the stop
		"+12h0m0s stopped i-00000000000000001 stop",
		"+12h0m0s stopped i-00000000000000001 terminate",
	}
	if diff := cmp.Diff(want, told); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"+10h0m0s stop " + announced[0], "+12h0m0s stop i-00000000000000001"}, timeline); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func TestClockJumpNotifiesFirstAndKeepsTheCap(t *testing.T) {
	const fleet, cap = 200, 40
	files := map[string]string{"launchwarden.toml": faultAdmin(cap)}
	for p := range 4 {
		files[fmt.Sprintf("projects/team%d.toml", p)] = faultProject(fmt.Sprintf("team%d", p))
	}
	w := newWorld(t, files)
	for i := range fleet {
		w.seed(fmt.Sprintf("i-%017x", i+1), fmt.Sprintf("team%d", i%4), ec2sim.StateRunning, time.Hour, nil)
	}
	if code := w.run(t); code != exitOK {
		t.Fatalf("first run exited %d", code)
	}

	// 30 days later every instance is far past expiry. The first run only
	// tells the teams; then each run stops at most the cap.
	w.sim.Advance(30 * 24 * time.Hour)
	noticed := map[string]time.Time{} // when each notice tag first appeared
	stopped := 0
	for run := 0; stopped < fleet && run < 10; run++ {
		before := w.instances()
		code := w.run(t)
		after := w.instances()
		acts := acted(before, after)
		if run == 0 && len(acts) > 0 {
			t.Errorf("first run after the jump acted on %d instances, want none (notices come first)", len(acts))
		}
		if len(acts) > cap {
			t.Errorf("run %d acted on %d instances, more than the cap of %d", run, len(acts), cap)
		}
		for id := range acts {
			if first, ok := noticed[id]; !ok || first.Add(2*time.Hour).After(w.sim.Now()) {
				t.Errorf("%s acted on at %s without a notice recorded 2h before", id, w.sim.Now().Format(time.RFC3339))
			}
		}
		stopped += len(acts)
		if held := len(acts) == cap && stopped < fleet; held != (code == exitUnsafe) {
			t.Errorf("run %d acted on %d with %d left and exited %d; want exit %d exactly when the cap held some back", run, len(acts), fleet-stopped, code, exitUnsafe)
		}
		for id, in := range after {
			if _, ok := noticed[id]; !ok && in.Tags[cloud.TagNotice] != "" {
				noticed[id] = w.sim.Now()
			}
		}
		w.sim.Advance(time.Hour)
	}
	if stopped != fleet {
		t.Errorf("stopped %d instances in the runs after the jump, want all %d", stopped, fleet)
	}
}

func TestTruncatedProjectFileFreezesOnlyThatProject(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20),
		"projects/packit.toml": faultProject("packit"), "projects/cockpit.toml": faultProject("cockpit")})
	if code := w.run(t); code != exitOK { // creates both templates
		t.Fatalf("first run exited %d", code)
	}
	notice := func(project string) map[string]string {
		return map[string]string{cloud.TagNotice: announced("stop", project, w.sim.Now().Add(-time.Hour))}
	}
	w.seed("i-0000000000000aaa1", "packit", ec2sim.StateRunning, 26*time.Hour, notice("packit"))
	w.seed("i-0000000000000bbb1", "cockpit", ec2sim.StateRunning, 26*time.Hour, notice("cockpit"))
	templatesBefore := w.sim.LaunchTemplates(serveAccount, serveRegion)

	// A write cut in half, as a crash or a full disk leaves it.
	file := filepath.Join(w.dir, "projects", "packit.toml")
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, text[:len(text)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := projects.Load(w.dir); cfg.Admin == nil || len(cfg.Frozen["packit"]) == 0 {
		t.Fatalf("the truncated file validates; the test needs a broken one:\n%s", text[:len(text)/2])
	}

	w.sim.Advance(time.Hour)
	w.run(t)
	got := states(w.instances(), []string{"i-0000000000000aaa1", "i-0000000000000bbb1"})
	if got["i-0000000000000aaa1"] != ec2sim.StateRunning {
		t.Errorf("frozen project's instance is %s, want running", got["i-0000000000000aaa1"])
	}
	if s := got["i-0000000000000bbb1"]; s != ec2sim.StateStopping && s != ec2sim.StateStopped {
		t.Errorf("other project's instance is %s, want stopped", s)
	}
	if diff := cmp.Diff(versions(templatesBefore), versions(w.sim.LaunchTemplates(serveAccount, serveRegion))); diff != "" {
		t.Errorf("templates changed while packit was frozen (-before +after):\n%s", diff)
	}
}

// versions describes templates by name: versions, default, and spec tag.
func versions(lts []ec2sim.LaunchTemplate) map[string]string {
	out := map[string]string{}
	for _, lt := range lts {
		out[lt.Name] = fmt.Sprintf("%s default %d latest %d versions %d spec %s", lt.ID, lt.DefaultVersion, lt.LatestVersion, len(lt.Versions), lt.Tags[cloud.TagSpec])
	}
	return out
}

// TestProtectedInstanceIsReportedOnce checks that an instance whose
// termination fails on termination protection is listed in one digest
// only, not again by every later run that would retry it.
func TestProtectedInstanceIsReportedOnce(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	ids := w.dueForTermination(3, map[int]bool{1: true})
	for range 3 {
		w.run(t)
		w.sim.Advance(time.Hour)
	}
	reports := 0
	for _, d := range w.slack.notices() {
		if d.instance == ids[1] && d.kind == string(notify.KindTerminated) {
			reports++
		}
	}
	if reports != 1 {
		t.Errorf("protected %s was reported as terminating %d times, want once", ids[1], reports)
	}
}
