package main

// The attack suite, state rows (issue "Unforgeable state"): each test plays
// an attack on launchwarden's state tags against the emulator, through
// `launchwarden run` as it is deployed, and fails if the hole reopens.
// Attackers here hold ec2:CreateTags on instances (the IAM deny policy in
// deploy/iam is the second lock); they never hold the state key.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/cloud/launchtest"
)

// attackWorld is the fault suite's world with projects packit, cockpit
// (one instance allowed) and osbuild; the first run has made their templates.
func attackWorld(t *testing.T) *world {
	t.Helper()
	cockpit := strings.Replace(faultProject("cockpit"), "max_instances = 2000", "max_instances = 1", 1)
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20),
		"projects/packit.toml": faultProject("packit"), "projects/cockpit.toml": cockpit, "projects/osbuild.toml": faultProject("osbuild")})
	if code := w.run(t); code != exitOK {
		t.Fatalf("first run exited %d", code)
	}
	return w
}

// forge seeds an instance with tags as an attacker wrote them: nothing is
// signed, nothing came from a template unless the tags say so.
func (w *world) forge(id, state string, age time.Duration, tags map[string]string) {
	born := w.sim.Now().Add(-age)
	w.sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", State: state,
		LaunchTime: born, AttachTime: born, Tags: tags, Account: serveAccount, Region: serveRegion})
}

// hours runs once an hour for n hours; every run must exit ok.
func (w *world) hours(t *testing.T, n int) {
	t.Helper()
	for range n {
		w.sim.Advance(time.Hour)
		if code := w.run(t); code != exitOK {
			t.Fatalf("run at %s exited %d", w.sim.Now().Format(time.RFC3339), code)
		}
	}
}

// adminText is everything posted to the admin channel so far.
func (w *world) adminText() string {
	var b strings.Builder
	for _, p := range w.slack.Posts() {
		if p.Channel == "#lw-admins" {
			b.WriteString(p.Text + "\n")
		}
	}
	return b.String()
}

// teamLines returns the digest lines about an instance, as "kind action".
func (w *world) teamLines(id string) []string {
	var out []string
	for _, d := range w.slack.notices() {
		if d.instance == id {
			out = append(out, d.kind+" "+d.action)
		}
	}
	return out
}

func past(w *world, d time.Duration) string { return w.sim.Now().Add(-d).UTC().Format(time.RFC3339) }

func TestAttackStrayLabelledWithAProjectIsUntouched(t *testing.T) {
	w := attackWorld(t)
	// An untagged "prod-web" someone dresses up as an expired, announced
	// osbuild instance.
	tags := map[string]string{"Name": "prod-web", cloud.TagProject: "osbuild", cloud.TagTemplate: "small",
		cloud.TagExpiresAt: past(w, 48*time.Hour), cloud.TagNotice: "terminate@" + past(w, 24*time.Hour)}
	w.forge("i-0000000000000web1", ec2sim.StateRunning, 90*24*time.Hour, tags)
	w.hours(t, 30)

	in := w.instances()["i-0000000000000web1"]
	if in.State != ec2sim.StateRunning {
		t.Errorf("prod-web is %s, want running", in.State)
	}
	for k, v := range tags {
		if in.Tags[k] != v {
			t.Errorf("prod-web tag %s = %q, want it untouched (%q)", k, in.Tags[k], v)
		}
	}
	if got := w.teamLines("i-0000000000000web1"); len(got) > 0 {
		t.Errorf("a team was told about prod-web: %v", got)
	}
	if n := strings.Count(w.adminText(), "i-0000000000000web1"); n != 1 {
		t.Errorf("admins were told about prod-web %d times in 30 runs, want once:\n%s", n, w.adminText())
	}
}

func TestAttackForgedKeepIsIgnored(t *testing.T) {
	w := attackWorld(t)
	w.seed("i-00000000000000a01", "packit", ec2sim.StateRunning, 0, nil)
	in := w.instances()["i-00000000000000a01"]
	tags := in.Tags
	tags[cloud.TagKeep] = "9999-12-31T00:00:00Z"
	w.forge("i-00000000000000a01", ec2sim.StateRunning, 0, tags)

	w.hours(t, 25) // TTL 1d: warned at +18h, stopped at +24h
	if got := w.instances()["i-00000000000000a01"].State; got != ec2sim.StateStopped {
		t.Errorf("instance with a forged keep is %s after its TTL, want stopped", got)
	}
	if diff := strings.Join(w.teamLines("i-00000000000000a01"), ", "); diff != "expiring stop, stopped terminate, stopped stop" {
		t.Errorf("team was told %q, want a warning then the stop", diff)
	}
	admin := w.adminText()
	if !strings.Contains(admin, cloud.TagKeep) || !strings.Contains(admin, "i-00000000000000a01") {
		t.Errorf("admins not told of the forged keep:\n%s", admin)
	}
	if v, ok := w.instances()["i-00000000000000a01"].Tags[cloud.TagKeep]; ok {
		t.Errorf("forged keep %q still there after it was reported", v)
	}
}

func TestAttackForgedProtectedIsIgnored(t *testing.T) {
	w := attackWorld(t)
	// Stopped for days, termination announced an hour ago: due now.
	ids := w.dueForTermination(1, nil)
	in := w.instances()[ids[0]]
	tags := in.Tags
	tags[cloud.TagProtected] = "9999-01-01T00:00:00Z reported"
	born := w.sim.Now().Add(-5 * 24 * time.Hour)
	w.sim.Seed(ec2sim.SeedInstance{ID: ids[0], ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", State: ec2sim.StateStopped,
		LaunchTime: born, AttachTime: born, Tags: tags, Account: serveAccount, Region: serveRegion})

	w.hours(t, 1)
	if got := w.instances()[ids[0]].State; got != ec2sim.StateShuttingDown && got != ec2sim.StateTerminated {
		t.Errorf("instance with a forged protected tag is %s, want terminated", got)
	}
	if admin := w.adminText(); !strings.Contains(admin, cloud.TagProtected) {
		t.Errorf("admins not told of the forged protected tag:\n%s", admin)
	}
}

func TestAttackLabelledStraysDoNotCountInAQuota(t *testing.T) {
	w := attackWorld(t)
	w.seed("i-00000000000000c01", "cockpit", ec2sim.StateRunning, time.Hour, nil) // cockpit's one real instance
	for _, id := range []string{"i-00000000000000c91", "i-00000000000000c92", "i-00000000000000c93", "i-00000000000000c94"} {
		w.forge(id, ec2sim.StateRunning, 0, map[string]string{cloud.TagProject: "cockpit", cloud.TagTemplate: "fedora",
			cloud.TagKeep: "9999-12-31T00:00:00Z"})
	}
	w.hours(t, 6)
	for id, in := range w.instances() {
		if in.State != ec2sim.StateRunning {
			t.Errorf("%s is %s, want running: cockpit is at 1/1", id, in.State)
		}
	}
	for _, d := range w.slack.notices() {
		if d.channel == "#cockpit" {
			t.Errorf("cockpit was told %s %s about %s; it is within its quota", d.kind, d.action, d.instance)
		}
	}
}

func TestAttackForgedExpiryIsIgnored(t *testing.T) {
	w := attackWorld(t)
	w.seed("i-00000000000000e01", "packit", ec2sim.StateRunning, 0, nil)
	tags := w.instances()["i-00000000000000e01"].Tags
	tags[cloud.TagExpiresAt] = w.sim.Now().Add(29 * 24 * time.Hour).UTC().Format(time.RFC3339)
	w.forge("i-00000000000000e01", ec2sim.StateRunning, 0, tags)

	w.hours(t, 25)
	if got := w.instances()["i-00000000000000e01"].State; got != ec2sim.StateStopped {
		t.Errorf("instance with a forged 29-day expiry is %s after its 1d TTL, want stopped", got)
	}
}

// TestAttackLaunchStyleInstanceWithReplacedTagsIsOurs launches as the
// provisioning service does (template id plus its own type, image, user
// data and Name tag), then strips launchwarden's labels, as a launch whose
// tags replace the template's would leave them: EC2's launch template tag
// still makes it packit's, and the run puts the labels back.
func TestAttackLaunchStyleInstanceWithReplacedTagsIsOurs(t *testing.T) {
	w := attackWorld(t)
	api := launchtest.Client(w.endpoint, serveRegion, "AKIDTEST")
	ctx := context.Background()
	launched, err := launchtest.Launch(ctx, api, launchtest.Request{TemplateID: w.templateID("packit"),
		InstanceType: "t3.micro", ImageID: "ami-0123456789abcdef0", KeyName: "launch-key", UserData: "#cloud-config\n", Name: "launch-1234"})
	if err != nil {
		t.Fatal(err)
	}
	id := launched[0]
	if _, err := api.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id},
		Tags: []ec2types.Tag{{Key: aws.String(cloud.TagProject)}, {Key: aws.String(cloud.TagTemplate)}}}); err != nil {
		t.Fatal(err)
	}

	w.hours(t, 1)
	in := w.instances()[id]
	if in.Tags[cloud.TagProject] != "packit" || in.Tags[cloud.TagTemplate] != "fedora" {
		t.Errorf("labels after a run: project %q, template %q; want packit/fedora", in.Tags[cloud.TagProject], in.Tags[cloud.TagTemplate])
	}
	w.hours(t, 24)
	if got := w.instances()[id].State; got != ec2sim.StateStopped {
		t.Errorf("Launch-style instance is %s after its 1d TTL, want stopped", got)
	}
	if got := strings.Join(w.teamLines(id), ", "); got != "expiring stop, stopped terminate, stopped stop" {
		t.Errorf("packit was told %q about it, want a warning then the stop", got)
	}
}

// TestAttackCopiedNoticeGainsNothing copies a genuine notice, signature
// and all, from an instance that was warned onto a younger one: the
// younger one is warned in its own time and stopped a full notice period
// after that, never on the strength of the copy.
func TestAttackCopiedNoticeGainsNothing(t *testing.T) {
	w := attackWorld(t)
	w.seed("i-00000000000000f01", "packit", ec2sim.StateRunning, 20*time.Hour, nil) // warned at once (TTL 1d, warn 6h)
	w.seed("i-00000000000000f02", "packit", ec2sim.StateRunning, 0, nil)
	w.hours(t, 1)
	notice := w.instances()["i-00000000000000f01"].Tags[cloud.TagNotice]
	if notice == "" {
		t.Fatal("the older instance was not warned")
	}
	young := w.instances()["i-00000000000000f02"]
	young.Tags[cloud.TagNotice] = notice
	w.forge("i-00000000000000f02", ec2sim.StateRunning, time.Hour, young.Tags)

	w.hours(t, 6) // the older one is stopped at +4h
	if got := w.instances()["i-00000000000000f01"].State; got != ec2sim.StateStopped {
		t.Fatalf("older instance is %s, want stopped", got)
	}
	if got := w.instances()["i-00000000000000f02"].State; got != ec2sim.StateRunning {
		t.Errorf("the instance with the copied notice is %s, want running", got)
	}
	w.hours(t, 18) // the younger one: warned at +18h of its life, stopped at +24h
	if got := strings.Join(w.teamLines("i-00000000000000f02"), ", "); got != "expiring stop, stopped terminate, stopped stop" {
		t.Errorf("team was told %q about the younger one, want its own warning then the stop", got)
	}
}
