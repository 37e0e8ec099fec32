package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/reconcile"
)

// provisioningRole is the role the provisioning service launches with.
const provisioningRole = "arn:aws:iam::123456789012:role/provisioning"

// admissionProject allows 4 vCPUs: two t3.micro (2 vCPUs each) running.
const admissionProject = `owners = ["alice"]

[slack]
channel = "#packit"

[limits]
max_instances = 10
max_vcpus = 4

[[templates]]
name = "fedora"
image = "ami-0123456789abcdef0"
instance_type = "t3.micro"
volume_gib = 20
ssh_from = ["10.0.0.0/8"]
`

// launcher launches as the provisioning service does: its own instance type,
// image and count next to the template id, signed as provisioningRole.
type launcher struct {
	api *ec2.Client
}

func newLauncher(t *testing.T, w *world) launcher {
	t.Helper()
	base := aws.Config{Region: serveRegion, BaseEndpoint: aws.String(w.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLAUNCH", "secret", "")}
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), provisioningRole))
	return launcher{api: ec2.NewFromConfig(cfg)}
}

// launch returns "" when the launch succeeded, else the Sid of the guard
// statement that refused it.
func (l launcher) launch(t *testing.T, template, typ string) string {
	t.Helper()
	_, err := l.api.RunInstances(context.Background(), &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(template)},
		InstanceType:   ec2types.InstanceType(typ),
		ImageId:        aws.String("ami-0123456789abcdef0"),
	})
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
		t.Fatalf("launch: %v", err)
	}
	f, derr := ec2sim.DecodeAuthorizationFailure(ae.ErrorMessage())
	if derr != nil {
		t.Fatal(derr)
	}
	return f.MatchedStatements.Items[0].StatementID
}

// templateTags returns the launch tags of the world's template.
func templateTags(w *world) map[string]string {
	for _, lt := range w.sim.LaunchTemplates(serveAccount, serveRegion) {
		if lt.Name == reconcile.Name("packit", "fedora") {
			// The reason is a signed marker: its value, without the signature.
			reason, _, _ := strings.Cut(lt.Tags[reconcile.TagLaunchReason], " sig=")
			return map[string]string{reconcile.TagLaunch: lt.Tags[reconcile.TagLaunch], reconcile.TagLaunchReason: reason}
		}
	}
	return nil
}

// TestTemplatesCloseAtQuotaAndTheGuardRefuses attaches the policy that
// `launchwarden iam launch-guard` prints to the provisioning role, then
// launches as the provisioning service does: a closed template refuses, a
// disallowed type is refused, a stop reopens the template, and two launches
// racing into the last slot are caught by the next run.
func TestTemplatesCloseAtQuotaAndTheGuardRefuses(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": admissionProject})
	guard, stderr, code := runCmd(t, "iam", "launch-guard", "--config", w.dir)
	if code != exitOK {
		t.Fatalf("iam launch-guard: exit %d: %s", code, stderr)
	}
	if err := w.sim.AttachPolicy(provisioningRole, []byte(guard)); err != nil {
		t.Fatal(err)
	}
	lt := w.templateID("packit")
	l := newLauncher(t, w)
	lwRun := func(what string) {
		t.Helper()
		w.sim.Advance(time.Minute) // launched instances settle to running
		if code := w.run(t); code != exitOK {
			t.Fatalf("run %s: exit %d", what, code)
		}
	}

	// Open: two launches fill the 4 vCPUs; a type outside caps is refused
	// whatever the template says.
	for range 2 {
		if sid := l.launch(t, lt, "t3.micro"); sid != "" {
			t.Fatalf("launch into a free project refused by %s", sid)
		}
	}
	if sid := l.launch(t, lt, "m5.large"); sid != "DenyInstanceTypes" {
		t.Errorf("m5.large (outside caps) refused by %q, want DenyInstanceTypes", sid)
	}

	w.sim.ResetCalls()
	lwRun("at quota")
	if got := templateTags(w); got[reconcile.TagLaunch] != "closed" || got[reconcile.TagLaunchReason] != "max_vcpus 4 reached for t3.micro" {
		t.Errorf("template tags at 4/4 vCPUs: %v, want closed for max_vcpus", got)
	}
	if got := w.sim.Calls("CreateTags"); got != 1 {
		t.Errorf("closing took %d CreateTags calls, want 1", got)
	}
	if !slackSays(w, "#packit", "Launches closed", "4/4 vCPUs, and a t3.micro needs 2") {
		t.Errorf("the team was not told launches closed: %q", w.slack.Texts("#packit"))
	}
	if sid := l.launch(t, lt, "t3.micro"); sid != "DenyClosedTemplates" {
		t.Errorf("launch from the closed template refused by %q, want DenyClosedTemplates", sid)
	}
	if status := statusOf(t, w); !strings.Contains(status, "launches closed: fedora: max_vcpus 4 reached for t3.micro") {
		t.Errorf("status does not show the closed template:\n%s", status)
	}

	// Steady state: nothing changed, nothing written.
	w.sim.ResetCalls()
	lwRun("steady")
	if got := w.mutatingCalls(); len(got) > 0 {
		t.Errorf("a run with nothing changed made mutating calls: %v", got)
	}

	// A stop frees 2 vCPUs: the next run reopens the template.
	var running []string
	for id, in := range w.instances() {
		if in.State == ec2sim.StateRunning {
			running = append(running, id)
		}
	}
	if _, err := l.api.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: running[:1]}); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	lwRun("after a stop")
	if got := templateTags(w); got[reconcile.TagLaunch] != "" || got[reconcile.TagLaunchReason] != "" {
		t.Errorf("template tags after a stop: %v, want none", got)
	}
	if got := w.sim.Calls("DeleteTags"); got != 1 {
		t.Errorf("reopening took %d DeleteTags calls, want 1", got)
	}
	if !slackSays(w, "#packit", "Launches open again") {
		t.Errorf("the team was not told launches opened: %q", w.slack.Texts("#packit"))
	}

	// Two launches race into the one free slot: IAM cannot count, both
	// succeed; the next run sees 6/4 vCPUs, closes the template and
	// announces the over-quota instance before stopping it.
	for range 2 {
		if sid := l.launch(t, lt, "t3.micro"); sid != "" {
			t.Fatalf("launch after the reopening refused by %s", sid)
		}
	}
	lwRun("after the race")
	if got := templateTags(w); got[reconcile.TagLaunch] != "closed" {
		t.Errorf("template tags at 6/4 vCPUs: %v, want closed", got)
	}
	if !slackSays(w, "#packit", "Over quota") {
		t.Errorf("the over-quota instance was not announced: %q", w.slack.Texts("#packit"))
	}
	if sid := l.launch(t, lt, "t3.micro"); sid != "DenyClosedTemplates" {
		t.Errorf("launch over quota refused by %q, want DenyClosedTemplates", sid)
	}
}

// slackSays reports whether one message to channel contains every part.
func slackSays(w *world, channel string, parts ...string) bool {
	for _, text := range w.slack.Texts(channel) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(text, p)
		}
		if all {
			return true
		}
	}
	return false
}

// builderTemplate is the entry a pull request adds to a project file.
const builderTemplate = `
[[templates]]
name = "builder"
image = "ami-0123456789abcdef0"
instance_type = "t3.micro"
volume_gib = 20
ssh_from = ["10.0.0.0/8"]
`

// launchTemplate returns a project template's launch template in the
// world's region, with its launch tags (the reason without its signature).
func launchTemplate(t *testing.T, w *world, project, template string) (id string, launch map[string]string) {
	t.Helper()
	for _, lt := range w.sim.LaunchTemplates(serveAccount, serveRegion) {
		if lt.Name == reconcile.Name(project, template) {
			reason, _, _ := strings.Cut(lt.Tags[reconcile.TagLaunchReason], " sig=")
			return lt.ID, map[string]string{reconcile.TagLaunch: lt.Tags[reconcile.TagLaunch], reconcile.TagLaunchReason: reason}
		}
	}
	t.Fatalf("no launch template %s", reconcile.Name(project, template))
	return "", nil
}

// countIn counts the occurrences of s in the messages to channel.
func countIn(w *world, channel, s string) int {
	n := 0
	for _, text := range w.slack.Texts(channel) {
		n += strings.Count(text, s)
	}
	return n
}

// TestTemplateAddedAtQuotaIsCreatedClosed: a project at quota gains a
// template through its file; the one run that creates it creates it
// closed (no extra call, the team told once), and a Launch-style
// RunInstances from it is refused by the launch guard at once, while a
// project under quota gets an open template that launches. The next run
// leaves it as it is; when usage drops, it opens like any template.
func TestTemplateAddedAtQuotaIsCreatedClosed(t *testing.T) {
	w := newWorld(t, map[string]string{
		"launchwarden.toml":     faultAdmin(20),
		"projects/packit.toml":  admissionProject,
		"projects/cockpit.toml": faultProject("cockpit"),
	})
	guard, stderr, code := runCmd(t, "iam", "launch-guard", "--config", w.dir)
	if code != exitOK {
		t.Fatalf("iam launch-guard: exit %d: %s", code, stderr)
	}
	if err := w.sim.AttachPolicy(provisioningRole, []byte(guard)); err != nil {
		t.Fatal(err)
	}
	l := newLauncher(t, w)
	lwRun := func(what string) {
		t.Helper()
		w.sim.Advance(time.Minute) // launched instances settle to running
		if code := w.run(t); code != exitOK {
			t.Fatalf("run %s: exit %d", what, code)
		}
	}

	// packit fills its 4 vCPUs; a run closes its one template.
	lwRun("first")
	fedora, _ := launchTemplate(t, w, "packit", "fedora")
	for range 2 {
		if sid := l.launch(t, fedora, "t3.micro"); sid != "" {
			t.Fatalf("launch into a free project refused by %s", sid)
		}
	}
	lwRun("at quota")
	if _, tags := launchTemplate(t, w, "packit", "fedora"); tags[reconcile.TagLaunch] != reconcile.LaunchClosed {
		t.Fatalf("fedora at 4/4 vCPUs: %v, want closed", tags)
	}

	// The pull request: both projects add a template "builder".
	for _, p := range []struct{ name, file string }{{"packit", admissionProject}, {"cockpit", faultProject("cockpit")}} {
		if err := os.WriteFile(filepath.Join(w.dir, "projects", p.name+".toml"), []byte(p.file+builderTemplate), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	closedBefore := countIn(w, "#packit", "Launches closed")
	w.sim.ResetCalls()
	lwRun("adding the templates")

	// Each new template costs what a template costs: its group, its rule
	// and CreateLaunchTemplate, the launch tags riding along in the last.
	want := map[string]int{"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 2, "CreateLaunchTemplate": 2}
	if diff := cmp.Diff(want, w.mutatingCalls()); diff != "" {
		t.Errorf("mutating calls of the run adding templates (-want +got):\n%s", diff)
	}
	packitBuilder, tags := launchTemplate(t, w, "packit", "builder")
	if diff := cmp.Diff(map[string]string{reconcile.TagLaunch: "closed", reconcile.TagLaunchReason: "max_vcpus 4 reached for t3.micro"}, tags); diff != "" {
		t.Errorf("packit's new template (-want +got):\n%s", diff)
	}
	cockpitBuilder, tags := launchTemplate(t, w, "cockpit", "builder")
	if tags[reconcile.TagLaunch] != "" || tags[reconcile.TagLaunchReason] != "" {
		t.Errorf("cockpit's new template under quota: %v, want open", tags)
	}
	if got := countIn(w, "#packit", "Launches closed") - closedBefore; got != 1 || !slackSays(w, "#packit", "Launches closed", "builder", "4/4 vCPUs, and a t3.micro needs 2") {
		t.Errorf("the closing was announced %d times, want once naming builder: %q", got, w.slack.Texts("#packit"))
	}
	if got := countIn(w, "#cockpit", "Launches closed"); got != 0 {
		t.Errorf("cockpit was told of %d closings: %q", got, w.slack.Texts("#cockpit"))
	}

	// In the run's aftermath: the guard refuses a launch from packit's new
	// template and lets cockpit's launch.
	if sid := l.launch(t, packitBuilder, "t3.micro"); sid != "DenyClosedTemplates" {
		t.Errorf("launch from packit's new template refused by %q, want DenyClosedTemplates", sid)
	}
	if status := statusOf(t, w); !strings.Contains(status, "builder: max_vcpus 4 reached for t3.micro") {
		t.Errorf("status does not show the new template closed:\n%s", status)
	}

	// The next run, usage unchanged: nothing written, nothing told.
	texts := len(w.slack.Texts("#packit"))
	w.sim.ResetCalls()
	lwRun("steady")
	if got := w.mutatingCalls(); len(got) > 0 {
		t.Errorf("a run with nothing changed made mutating calls: %v", got)
	}
	if got := w.slack.Texts("#packit")[texts:]; len(got) > 0 {
		t.Errorf("a run with nothing changed told packit: %q", got)
	}
	if sid := l.launch(t, cockpitBuilder, "t3.micro"); sid != "" {
		t.Errorf("launch from cockpit's new template refused by %s", sid)
	}

	// A stop frees 2 vCPUs: both packit templates open, one DeleteTags each.
	var running []string
	for id, in := range w.instances() {
		if in.State == ec2sim.StateRunning && in.Tags["aws:ec2launchtemplate:id"] == fedora {
			running = append(running, id)
		}
	}
	if _, err := l.api.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: running[:1]}); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	lwRun("after a stop")
	for _, name := range []string{"fedora", "builder"} {
		if _, tags := launchTemplate(t, w, "packit", name); tags[reconcile.TagLaunch] != "" || tags[reconcile.TagLaunchReason] != "" {
			t.Errorf("packit's %s after a stop: %v, want open", name, tags)
		}
	}
	if got := w.sim.Calls("DeleteTags"); got != 2 {
		t.Errorf("reopening took %d DeleteTags calls, want 2", got)
	}
	if !slackSays(w, "#packit", "Launches open again", "builder") {
		t.Errorf("the team was not told builder opened: %q", w.slack.Texts("#packit"))
	}
	if sid := l.launch(t, packitBuilder, "t3.micro"); sid != "" {
		t.Errorf("launch from the reopened template refused by %s", sid)
	}
}

// statusOf runs `launchwarden status` against w at the emulator's time and
// returns what it printed; the command must succeed.
func statusOf(t *testing.T, w *world) string {
	t.Helper()
	var status, errOut bytes.Buffer
	e := env{stdout: &status, stderr: &errOut, getenv: os.Getenv}
	err := run(context.Background(), e, []string{"status", "--config", w.dir, "--endpoint-url", w.endpoint, "--now", w.sim.Now().Format(time.RFC3339)})
	if err != nil {
		t.Fatalf("status: %v\n%s", err, errOut.String())
	}
	return status.String()
}
