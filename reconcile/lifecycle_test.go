package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/notify"
)

// sent is a delivered notice with the time of its run.
type sent struct {
	at time.Time
	n  notify.Notice
}

func (s sent) String() string {
	d := ""
	if !s.n.Deadline.IsZero() {
		d = " @" + s.n.Deadline.Sub(t0).String()
	}
	if !s.n.TerminateAt.IsZero() {
		d += " then terminate @" + s.n.TerminateAt.Sub(t0).String()
	}
	return fmt.Sprintf("+%s %s %s %s %s%s", s.at.Sub(t0), s.n.Channel, s.n.Kind, s.n.InstanceID, s.n.Action, d)
}

// instanceNotices returns the delivered notices about instances.
// instanceNotices returns the delivered notices about instances, in a
// stable order (digests of one run are delivered concurrently).
func instanceNotices(ds []notify.Digest) []sent {
	var out []sent
	for _, d := range ds {
		for _, n := range d.Notices {
			if n.InstanceID != "" {
				out = append(out, sent{at: d.Now, n: n})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b sent) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.n.Channel, b.n.Channel), strings.Compare(a.n.InstanceID, b.n.InstanceID))
	})
	return out
}

// seed adds an instance born at t0+born with the given tags. Tags naming a
// project and template (see ours) become those of an instance launched from
// that template, with its state tags signed; other tags are kept as given.
func (h *harness) seed(id, typ string, born time.Duration, tags map[string]string) {
	h.t.Helper()
	if p, t := tags[cloud.TagProject], tags[cloud.TagTemplate]; p != "" && t != "" && tags["aws:ec2launchtemplate:id"] == "" {
		tags = h.launched(id, p, t, tags)
	}
	h.sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: "ami-0123456789abcdef0", InstanceType: typ, State: "running",
		LaunchTime: t0.Add(born), AttachTime: t0.Add(born), Tags: tags, Account: testAccount, Region: testRegion})
}

// ours is the tags of an instance launched from a project's template (see seed).
func ours(project, template string) map[string]string {
	return map[string]string{cloud.TagProject: project, cloud.TagTemplate: template}
}

// runHours runs once an hour, from t0+1h, for n hours, and returns every
// instance notice delivered.
func (h *harness) runHours(n int) []sent {
	h.t.Helper()
	var all []sent
	for range n {
		h.sim.Advance(time.Hour)
		h.run()
		all = append(all, instanceNotices(h.slack.take())...)
	}
	return all
}

// checkNoSurprises asserts invariant 2 over a run history: every stop or
// termination was announced, naming that action, in a notice delivered at
// least minNotice before.
func checkNoSurprises(t *testing.T, history []sent, minNotice time.Duration) {
	t.Helper()
	for i, s := range history {
		if s.n.Kind != notify.KindStopped && s.n.Kind != notify.KindTerminated {
			continue
		}
		announced := false
		for _, earlier := range history[:i] {
			// The stop's message announces the termination that follows.
			if earlier.n.InstanceID == s.n.InstanceID && s.n.Kind == notify.KindTerminated && earlier.n.Kind == notify.KindStopped &&
				!earlier.n.TerminateAt.IsZero() && !earlier.at.Add(minNotice).After(s.at) && !earlier.n.TerminateAt.After(s.at) {
				announced = true
			}
			if earlier.n.InstanceID == s.n.InstanceID && earlier.n.Action == s.n.Action &&
				(earlier.n.Kind == notify.KindExpiring || earlier.n.Kind == notify.KindOrphan || earlier.n.Kind == notify.KindOverQuota || earlier.n.Kind == notify.KindDisallowedType) &&
				!earlier.at.Add(minNotice).After(s.at) && !earlier.n.Deadline.After(s.at) {
				announced = true
			}
		}
		if !announced {
			t.Errorf("%v without a notice delivered %s before", s, minNotice)
		}
	}
}

func threeProjects() map[string]string {
	return map[string]string{
		"launchwarden.toml": strings.Replace(adminTOML, `orphan_grace = "3d"`, `orphan_grace = "2d"`, 1) + `
[grants.cockpit]
allowed_modes = ["stop-only"]

[grants.osbuild]
allowed_modes = ["notify-only"]
`,
		"projects/packit.toml": projectTOML("#packit", []string{"alice"}, templateTOML("fedora", "t3.large", 40)) + `
[lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"
terminate_stopped_after = "2d"

[[extensions]]
instance = "i-00000000000000002"
until = 2026-11-27T12:00:00Z
reason = "long bisect"
`,
		"projects/cockpit.toml": projectTOML("#cockpit", []string{"carol"}, templateTOML("debian", "t3.medium", 20)) + `
[lifecycle]
ttl = "2d"
warn_before = "6h"
on_expiry = "stop"
terminate_stopped_after = "1d"
mode = "stop-only"
`,
		"projects/osbuild.toml": projectTOML("#osbuild", []string{"dave"}, templateTOML("rhel", "m6i.large", 20)) + `
[lifecycle]
ttl = "1d"
warn_before = "6h"
mode = "notify-only"
`,
	}
}

func TestThreeDaysOfThreeProjects(t *testing.T) {
	h := newHarness(t, threeProjects())
	h.seed("i-00000000000000001", "t3.large", 0, ours("packit", "fedora"))
	h.seed("i-00000000000000002", "t3.large", -48*time.Hour, ours("packit", "fedora")) // extended
	h.seed("i-00000000000000003", "t3.medium", 0, ours("cockpit", "debian"))
	h.seed("i-00000000000000004", "m6i.large", 0, ours("osbuild", "rhel"))
	h.seed("i-00000000000000005", "t3.large", 0, ours("retired", "old")) // orphan
	untagged := map[string]string{"Name": "someone-elses", "team": "infra"}
	h.seed("i-00000000000000006", "t3.large", -30*24*time.Hour, untagged)

	history := h.runHours(72)

	var got []string
	for _, s := range history {
		got = append(got, s.String())
	}
	want := []string{
		"+1h0m0s #lw-admins orphan i-00000000000000005 terminate @49h0m0s",
		"+18h0m0s #osbuild expiring i-00000000000000004 stop @24h0m0s",
		"+18h0m0s #packit expiring i-00000000000000001 stop @24h0m0s",
		"+24h0m0s #packit stopped i-00000000000000001 stop @24h0m0s then terminate @72h0m0s", // the termination notice, with the stop
		"+42h0m0s #cockpit expiring i-00000000000000003 stop @48h0m0s",
		"+48h0m0s #cockpit stopped i-00000000000000003 stop @48h0m0s", // stop-only: never terminated
		"+49h0m0s #lw-admins terminated i-00000000000000005 terminate @49h0m0s",
		"+72h0m0s #packit terminated i-00000000000000001 terminate @72h0m0s",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("notices over three days (-want +got):\n%s", diff)
	}
	checkNoSurprises(t, history, 2*time.Hour)

	h.sim.Advance(time.Minute) // let the last termination settle
	states := map[string]string{}
	for _, in := range h.sim.Instances(testAccount, testRegion) {
		states[in.ID] = in.State
	}
	wantStates := map[string]string{
		"i-00000000000000001": "terminated",
		"i-00000000000000002": "running", // extended past the three days
		"i-00000000000000003": "stopped", // stop-only never terminates
		"i-00000000000000004": "running", // notify-only
		"i-00000000000000006": "running", // not ours
		// i-…5 was terminated at +49h and has since vanished.
	}
	if diff := gocmp.Diff(wantStates, states); diff != "" {
		t.Errorf("final states (-want +got):\n%s", diff)
	}
	if got := h.stateTag("i-00000000000000002", cloud.TagExpiresAt); got != "2026-11-27T12:00:00Z" {
		t.Errorf("extended instance expires-at = %q", got)
	}
	if diff := gocmp.Diff(untagged, h.instance("i-00000000000000006").Tags); diff != "" {
		t.Errorf("untagged instance's tags changed (-want +got):\n%s", diff)
	}
}

func TestSlackDownDestroysNothingAndTheNoticePeriodHolds(t *testing.T) {
	h := newHarness(t, threeProjects())
	h.seed("i-00000000000000001", "t3.large", 0, ours("packit", "fedora"))
	h.runHours(17)

	// Slack is down from the warning time until well past the expiry.
	h.slack.down = true
	for range 10 {
		h.sim.Advance(time.Hour)
		plan, _ := h.run()
		if c := plan.Counts(); c.Stops+c.Terminations > 0 {
			t.Fatalf("+%s: plan stops or terminates while no notice was ever delivered: %+v", h.sim.Now().Sub(t0), c)
		}
	}
	if got := h.instance("i-00000000000000001").State; got != "running" {
		t.Fatalf("state after Slack outage = %s, want running", got)
	}
	if _, ok := h.instance("i-00000000000000001").Tags[cloud.TagNotice]; ok {
		t.Fatal("notice tag recorded although nothing was delivered")
	}

	// Slack is back at +28h: the notice goes out with a fresh deadline of
	// at least min_notice (2h), and the stop waits for it.
	h.slack.down = false
	history := h.runHours(3)
	var got []string
	for _, s := range history {
		got = append(got, s.String())
	}
	want := []string{
		"+28h0m0s #packit expiring i-00000000000000001 stop @30h0m0s",
		"+30h0m0s #packit stopped i-00000000000000001 stop @30h0m0s then terminate @78h0m0s",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("notices after Slack came back (-want +got):\n%s", diff)
	}
	checkNoSurprises(t, history, 2*time.Hour)
}

func TestSecondIdenticalRunPostsNothing(t *testing.T) {
	h := newHarness(t, threeProjects())
	for i := range 30 {
		h.seed(fmt.Sprintf("i-%017x", 0x100+i), "t3.large", -20*time.Hour, ours("packit", "fedora"))
	}
	h.run()
	first := h.slack.take()
	if len(first) == 0 {
		t.Fatal("first run posted nothing")
	}
	h.run()
	if got := h.slack.take(); len(got) != 0 {
		t.Errorf("second run posted %d digests: %+v", len(got), got)
	}
}

func TestDestructiveCapHoldsTheExcessAndTellsAdmins(t *testing.T) {
	files := threeProjects()
	files["launchwarden.toml"] = strings.Replace(files["launchwarden.toml"], "max_destructive_per_run = 20", "max_destructive_per_run = 3", 1)
	files["projects/packit.toml"] += "\n[limits]\nmax_instances = 10\n"
	h := newHarness(t, files)
	for i := range 8 {
		h.seed(fmt.Sprintf("i-%017x", 0x100+i), "t3.large", -time.Duration(20+i)*time.Hour, ours("packit", "fedora"))
	}
	h.sim.Advance(time.Hour)
	h.run() // warns all twelve
	h.slack.take()
	h.sim.Advance(24 * time.Hour)
	plan, rep := h.run()
	if len(rep.Stopped) != 3 || rep.Held != 5 || len(plan.Held) != 5 {
		t.Fatalf("stopped %d, held %d, want 3 and 5", len(rep.Stopped), rep.Held)
	}
	// The plan says of each held instance why it is left, not "…: " and
	// nothing after the colon.
	var text strings.Builder
	if err := plan.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, ic := range plan.Held {
		found := false
		for line := range strings.Lines(text.String()) {
			if strings.Contains(line, "instance "+ic.ID+" (packit, t3.large): ") {
				found = true
				if !strings.Contains(line, "stop due ") || !strings.Contains(line, "held back by safety.max_destructive_per_run") {
					t.Errorf("held instance printed without its reason: %q", line)
				}
			}
		}
		if !found {
			t.Errorf("held instance %s not in the plan text:\n%s", ic.ID, text.String())
		}
	}
	// The oldest deadlines go first. 0x100 expired last (t0+4h); the others'
	// deadlines were all floored to t0+3h by min_notice: ties go by ID.
	wantStopped := []string{"i-00000000000000101", "i-00000000000000102", "i-00000000000000103"}
	slices.Sort(wantStopped)
	if diff := gocmp.Diff(wantStopped, rep.Stopped); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}
	var safety int
	for _, d := range h.slack.take() {
		for _, n := range d.Notices {
			if n.Kind == notify.KindSafety && d.Channel == adminChan {
				safety++
			}
		}
	}
	if safety != 1 {
		t.Errorf("admin safety notices = %d, want 1", safety)
	}
	running := 0
	for _, in := range h.sim.Instances(testAccount, testRegion) {
		if in.State == "running" {
			running++
		}
	}
	if running != 5 {
		t.Errorf("running after the capped run = %d, want 5", running)
	}
	// Held instances keep their notice and are stopped by the next runs.
	h.sim.Advance(time.Hour)
	_, rep = h.run()
	h.sim.Advance(time.Hour)
	_, rep2 := h.run()
	if got := len(rep.Stopped) + len(rep2.Stopped); got != 5 {
		t.Errorf("next two runs stopped %d, want the 5 held", got)
	}
}

func TestKillSwitchMakesApplyRefuse(t *testing.T) {
	files := threeProjects()
	files["launchwarden.toml"] = strings.Replace(files["launchwarden.toml"], "enforce = true", "enforce = false", 1)
	h := newHarness(t, files)
	h.seed("i-00000000000000001", "t3.large", -30*time.Hour, ours("packit", "fedora"))
	h.sim.ResetCalls() // seeding made the templates it was launched from
	plan := h.plan()
	if plan.Enforce {
		t.Fatal("plan.Enforce = true with safety.enforce = false")
	}
	if _, err := Apply(t.Context(), plan, Deps{Clients: h.clients, Sender: h.slack}); err != ErrPlanOnly {
		t.Fatalf("Apply = %v, want ErrPlanOnly", err)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("kill switch on, yet mutating calls: %v", got)
	}
}

func TestOverQuotaNewestChosenAndStoppedAfterNotice(t *testing.T) {
	files := threeProjects()
	files["projects/packit.toml"] += "\n[limits]\nmax_vcpus = 4\n"
	h := newHarness(t, files)
	// t3.large has 2 vCPUs: three running use 6 of 4, the newest must go.
	h.seed("i-00000000000000001", "t3.large", -3*time.Hour, ours("packit", "fedora"))
	h.seed("i-00000000000000002", "t3.large", -2*time.Hour, ours("packit", "fedora"))
	h.seed("i-00000000000000003", "t3.large", -1*time.Hour, ours("packit", "fedora"))
	history := h.runHours(3)
	var got []string
	for _, s := range history {
		got = append(got, s.String())
	}
	want := []string{
		"+1h0m0s #packit over-quota i-00000000000000003 stop @3h0m0s",
		"+3h0m0s #packit stopped i-00000000000000003 stop @3h0m0s then terminate @51h0m0s",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if got := h.instance("i-00000000000000002").State; got != "running" {
		t.Errorf("older instance state = %s, want running", got)
	}
}

func TestRestartedInstanceIsToldItStopsAgainAfterTheGrace(t *testing.T) {
	for _, tt := range []struct {
		name string
		// cleared lets a run see the instance stopped before the restart,
		// which leaves the termination announced with the stop tagged.
		cleared bool
	}{
		{"restarted with the spent stop notice still tagged", false},
		{"restarted with the termination announced with the stop tagged", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, threeProjects())
			const id = "i-00000000000000001"
			h.seed(id, "t3.large", 0, ours("packit", "fedora"))
			h.runHours(24) // warned at +18h, stopped at +24h
			if tt.cleared {
				h.sim.Advance(time.Hour)
				h.run()
				if tag := h.stateTag(id, cloud.TagNotice); !strings.HasPrefix(tag, "terminate@") || !strings.Contains(tag, " w=stop") {
					t.Fatalf("notice tag %q while stopped, want the termination announced with the stop", tag)
				}
			}
			start := h.sim.Now().Add(10 * time.Minute)
			h.sim.Advance(10 * time.Minute)
			if _, err := rawEC2(t, h).StartInstances(t.Context(), &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
				t.Fatal(err)
			}
			history := h.runHours(3)
			var got []string
			for _, s := range history {
				got = append(got, s.String())
			}
			// Started again past its expiry: not stopped on the strength of
			// the old notice, nor given another full min_notice (2h), but
			// told it stops again after the restart grace (1h by default).
			run, deadline := start.Add(time.Hour).Sub(t0), start.Add(2*time.Hour).Sub(t0)
			want := []string{
				fmt.Sprintf("+%s #packit expiring %s stop @%s", run, id, deadline),
				fmt.Sprintf("+%s #packit stopped %s stop @%s then terminate @%s", deadline, id, deadline, deadline+48*time.Hour),
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("notices after the restart (-want +got):\n%s", diff)
			}
			checkNoSurprises(t, history, time.Hour)
		})
	}
}

func TestTerminationProtectionIsRespectedAndReportedOnce(t *testing.T) {
	files := threeProjects()
	files["projects/packit.toml"] = strings.Replace(files["projects/packit.toml"], `on_expiry = "stop"`, `on_expiry = "terminate"`, 1)
	h := newHarness(t, files)
	h.sim.Seed(ec2sim.SeedInstance{ID: "i-00000000000000001", ImageID: "ami-0123456789abcdef0", InstanceType: "t3.large", State: "running",
		LaunchTime: t0, AttachTime: t0, Tags: h.launched("i-00000000000000001", "packit", "fedora", nil), TerminationProtection: true, Account: testAccount, Region: testRegion})
	h.seed("i-00000000000000003", "t3.large", 0, ours("packit", "fedora")) // (…2 has an extension)

	history := h.runHours(30)
	var got []string
	for _, s := range history {
		got = append(got, s.String())
	}
	want := []string{
		"+18h0m0s #packit expiring i-00000000000000001 terminate @24h0m0s",
		"+18h0m0s #packit expiring i-00000000000000003 terminate @24h0m0s",
		"+24h0m0s #packit terminated i-00000000000000001 terminate @24h0m0s", // the team is told before the attempt
		"+24h0m0s #packit terminated i-00000000000000003 terminate @24h0m0s",
		"+25h0m0s #lw-admins action-failed i-00000000000000001 terminate", // admins, once
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if got := h.instance("i-00000000000000001").State; got != "running" {
		t.Errorf("protected instance state = %s, want running", got)
	}
	if got := h.stateTag("i-00000000000000001", cloud.TagProtected); got != "2026-11-24T08:00:00Z reported" {
		t.Errorf("protected tag = %q", got)
	}

	// A day later it is tried again, and admins hear of it again once.
	history = h.runHours(24)
	got = nil
	for _, s := range history {
		got = append(got, s.String())
	}
	want = []string{
		"+48h0m0s #packit terminated i-00000000000000001 terminate @24h0m0s",
		"+49h0m0s #lw-admins action-failed i-00000000000000001 terminate",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("notices of the second day (-want +got):\n%s", diff)
	}
}

// TestWarnStopTerminateInThreeRuns walks the instances of one project born
// together (as many as its quota allows) through their whole life in three
// runs: the warning, the stop (whose message announces the termination),
// the termination. Each run records its notice on all of them with one
// CreateTags call.
func TestWarnStopTerminateInThreeRuns(t *testing.T) {
	h := newHarness(t, threeProjects()) // packit: TTL 1d, warned 6h before, terminated 2d after the stop
	var ids []string
	const n = 4 // packit's instance quota
	for i := range n {
		id := fmt.Sprintf("i-%017x", 0x300+i)
		h.seed(id, "t3.large", 0, ours("packit", "fedora"))
		ids = append(ids, id)
	}
	h.run() // templates and labels settle
	h.slack.take()

	for _, step := range []struct {
		at        time.Duration
		wantState string
		wantKind  notify.Kind
	}{
		{18 * time.Hour, "running", notify.KindExpiring},
		{24 * time.Hour, "stopped", notify.KindStopped},
		{72 * time.Hour, "terminated", notify.KindTerminated},
	} {
		h.sim.SetNow(t0.Add(step.at))
		h.sim.ResetCalls()
		h.run()
		h.sim.Advance(time.Minute) // let stops and terminations settle
		kinds := map[notify.Kind]int{}
		for _, s := range instanceNotices(h.slack.take()) {
			kinds[s.n.Kind]++
			if s.n.Kind == notify.KindStopped && !s.n.TerminateAt.Equal(t0.Add(72*time.Hour)) {
				t.Errorf("+%s: stop of %s announces termination at %v, want +72h", step.at, s.n.InstanceID, s.n.TerminateAt)
			}
		}
		if diff := gocmp.Diff(map[notify.Kind]int{step.wantKind: n}, kinds); diff != "" {
			t.Errorf("+%s: notices by kind (-want +got):\n%s", step.at, diff)
		}
		for _, id := range ids {
			if got := h.instance(id).State; got != step.wantState {
				t.Errorf("+%s: %s is %s, want %s", step.at, id, got, step.wantState)
			}
		}
		if step.wantKind != notify.KindTerminated {
			if got := h.sim.Calls("CreateTags"); got != 1 {
				t.Errorf("+%s: %d CreateTags calls to record the notice on %d instances, want 1", step.at, got, n)
			}
		}
	}
}

// TestUnsignedStateFromAnOlderReleaseIsWarnedAfresh is a fleet moving from
// a release that wrote unsigned state tags: its old notices, expiries and
// keeps count as absent. Nothing is stopped on the strength of an old
// notice; every instance is warned afresh with a full notice period; admins
// get one report per tag, listing the instances, and the old tags go.
func TestUnsignedStateFromAnOlderReleaseIsWarnedAfresh(t *testing.T) {
	h := newHarness(t, threeProjects()) // packit: TTL 1d, warned 6h before; min_notice 2h
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("i-%017x", 0x700+i)
		tags := h.launched(id, "packit", "fedora", nil)
		tags[cloud.TagNotice] = "stop@" + t0.Add(-time.Hour).Format(time.RFC3339) // old format, due an hour ago
		tags[cloud.TagExpiresAt] = t0.Add(-2 * time.Hour).Format(time.RFC3339)
		h.sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: "ami-0123456789abcdef0", InstanceType: "t3.large", State: "running",
			LaunchTime: t0.Add(-30 * time.Hour), AttachTime: t0.Add(-30 * time.Hour), Tags: tags, Account: testAccount, Region: testRegion})
		ids = append(ids, id)
	}

	plan, rep := h.run()
	if len(rep.Stopped) > 0 {
		t.Fatalf("stopped %v on the strength of unsigned notices", rep.Stopped)
	}
	var warned, reports int
	for _, n := range plan.Notices {
		switch {
		case n.Kind == notify.KindExpiring && n.Deadline.Equal(t0.Add(2*time.Hour)):
			warned++
		case n.Kind == notify.KindUntrusted:
			reports++
			for _, id := range ids {
				if !strings.Contains(n.Detail, id) {
					t.Errorf("report %q does not list %s", n.Reason, id)
				}
			}
		}
	}
	if warned != 3 || reports != 2 {
		t.Errorf("%d warned with a full notice period, %d admin reports; want 3 and 2 (one per tag)", warned, reports)
	}
	for _, id := range ids {
		if got := h.stateTag(id, cloud.TagExpiresAt); got != "" {
			t.Errorf("%s: old expires-at left as %q", id, got)
		}
		if got := h.stateTag(id, cloud.TagNotice); !strings.HasPrefix(got, "stop@2026-11-23T08:00:00Z p=packit") {
			t.Errorf("%s: notice %q, want this run's, signed", id, got)
		}
	}

	h.sim.Advance(time.Hour)
	plan, _ = h.run()
	for _, n := range plan.Notices {
		if n.Kind == notify.KindUntrusted || n.Kind == notify.KindExpiring {
			t.Errorf("second run: %s %s %s again", n.Kind, n.InstanceID, n.Reason)
		}
	}
	h.sim.Advance(time.Hour)
	if _, rep = h.run(); len(rep.Stopped) != 3 {
		t.Errorf("stopped %v a full notice period after the new warning, want all 3", rep.Stopped)
	}
}

// TestStopsAndTerminationsOfOneRun: one run stops some instances of a
// region and terminates others, the two actions side by side. A stop that
// fails holds up neither the terminations nor the stops' safety: the
// termination its digest announced is recorded only on instances that
// were stopped, so the failed ones keep their stop notice, and are stopped
// (and their termination recorded) by the next run.
func TestStopsAndTerminationsOfOneRun(t *testing.T) {
	h := newHarness(t, threeProjects()) // packit: TTL 1d, warned 6h before, terminated 2d after the stop
	old := []string{"i-00000000000000400", "i-00000000000000401"}
	young := []string{"i-00000000000000402", "i-00000000000000403"}
	for _, id := range old {
		h.seed(id, "t3.large", 0, ours("packit", "fedora"))
	}
	at := func(d time.Duration) *Report {
		t.Helper()
		h.sim.SetNow(t0.Add(d))
		_, rep := h.run()
		h.sim.Advance(time.Minute) // let stops and terminations settle
		h.slack.take()
		return rep
	}
	at(18 * time.Hour) // old: warned
	at(24 * time.Hour) // old: stopped, terminated at +72h
	h.sim.SetNow(t0.Add(48 * time.Hour))
	for _, id := range young {
		h.seed(id, "t3.large", 48*time.Hour, ours("packit", "fedora"))
	}
	at(66 * time.Hour) // young: warned, stopped at +72h

	h.sim.InjectFault("StopInstances", ec2sim.Fault{Code: "UnauthorizedOperation", Status: 403})
	rep := at(72 * time.Hour)
	if diff := gocmp.Diff(old, rep.Terminated); diff != "" {
		t.Errorf("terminated while the stops failed (-want +got):\n%s", diff)
	}
	if len(rep.Stopped) != 0 || len(rep.Errors) != len(young) {
		t.Errorf("stopped %v with errors %v, want none stopped and %d errors", rep.Stopped, rep.Errors, len(young))
	}
	state := func(ids []string) (states, notices []string) {
		for _, id := range ids {
			states = append(states, h.instance(id).State)
			n, _, _ := strings.Cut(h.stateTag(id, cloud.TagNotice), "@")
			notices = append(notices, n)
		}
		return states, notices
	}
	states, notices := state(append(slices.Clone(old), young...))
	if diff := gocmp.Diff([]string{"terminated", "terminated", "running", "running"}, states); diff != "" {
		t.Errorf("states after the run whose stops failed (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"stop", "stop"}, notices[2:]); diff != "" {
		t.Errorf("notices of the instances not stopped (-want +got):\n%s", diff)
	}

	rep = at(73 * time.Hour)
	if diff := gocmp.Diff(young, rep.Stopped); diff != "" {
		t.Errorf("stopped by the next run (-want +got):\n%s", diff)
	}
	states, notices = state(young)
	if diff := gocmp.Diff([]string{"stopped", "stopped"}, states); diff != "" {
		t.Errorf("states after the next run (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"terminate", "terminate"}, notices); diff != "" {
		t.Errorf("notices once stopped: the termination announced with the stop (-want +got):\n%s", diff)
	}
}
