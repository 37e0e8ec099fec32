package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/projects"
)

// The attack suite, input rows: each test is one hostile config repo from
// issue 12's table, tried as an attacker who can only open a pull request
// against projects/ would. Each fails if its hole reopens. Rows about what a
// run does go through `launchwarden run` against the emulator, as the
// fault suite does: the hostile project is frozen, the others proceed.

// runOut runs `launchwarden run` in-process and returns its exit code and
// everything it printed.
func (w *world) runOut(t *testing.T, extra ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: os.Getenv}
	code := exitStatus(e, run(context.Background(), e, w.runArgs(extra...)))
	return code, out.String() + errOut.String()
}

// validateOut runs `launchwarden validate` in-process.
func validateOut(ctx context.Context, args ...string) (int, string) {
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: os.Getenv}
	code := exitStatus(e, run(ctx, e, append([]string{"validate"}, args...)))
	return code, out.String() + errOut.String()
}

// checkOthersProceed checks that packit's expired, announced instances were
// stopped although another project was hostile, and that the run was not
// aborted.
func checkOthersProceed(t *testing.T, w *world, code int, ids []string) {
	t.Helper()
	if code == exitAborted || code == exitUsage {
		t.Errorf("run exited %d; one hostile project file must not stop the run", code)
	}
	for id, s := range states(w.instances(), ids) {
		if s != ec2sim.StateStopping && s != ec2sim.StateStopped {
			t.Errorf("packit's %s is %s, want stopped: other projects proceed", id, s)
		}
	}
}

// TestAttackTemplateNameCollision: projects/a-b.toml template "c" and
// projects/a.toml template "b-c" are both lw-a-b-c. Validation names both
// files and lines; a run freezes both (neither may own the name) and
// creates no lw-a-b-c, while other projects proceed.
func TestAttackTemplateNameCollision(t *testing.T) {
	tpl := func(channel, name string) string {
		return strings.Replace(faultProject(channel), `name = "fedora"`, `name = "`+name+`"`, 1)
	}
	files := map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit"),
		"projects/a-b.toml": tpl("a-b", "c"), "projects/a.toml": tpl("a", "b-c")}
	w := newWorld(t, files)

	code, out := validateOut(context.Background(), w.dir)
	if code != exitFailed {
		t.Errorf("validate exited %d, want %d", code, exitFailed)
	}
	for _, want := range []string{
		"projects/a-b.toml:11:1: templates[0].name: template name lw-a-b-c is also claimed by projects/a.toml:11",
		"projects/a.toml:11:1: templates[0].name: template name lw-a-b-c is also claimed by projects/a-b.toml:11",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}

	ids := w.expiredFleet(2)
	code, _ = w.runOut(t)
	checkOthersProceed(t, w, code, ids)
	for _, lt := range w.sim.LaunchTemplates(serveAccount, serveRegion) {
		if lt.Name == "lw-a-b-c" {
			t.Errorf("template %s was created for one of two projects claiming it", lt.Name)
		}
	}
}

// TestAttackDeepNesting: x = [[[[…]]]] 30,000 deep (61 KB) in one project
// file used to take 2.7 GB to validate. It is now an error, returned with
// its line before the parser builds anything, and the run goes on for the
// other projects. (Memory per input byte is measured by the projects
// package's TestHostileInputIsCheap and BenchmarkLoadHostile.)
func TestAttackDeepNesting(t *testing.T) {
	deep := faultProject("evil") + "x = " + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + "\n"
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit"), "projects/evil.toml": deep})

	cfg, probs := projects.Load(w.dir)
	want := "projects/evil.toml:16:13: arrays and tables are nested more than 8 deep"
	if len(probs) != 1 || !strings.HasPrefix(probs[0].String(), want) {
		t.Fatalf("problems = %v, want one starting %q", probs, want)
	}
	if cfg.Frozen["evil"] == nil || cfg.Project("packit") == nil {
		t.Fatalf("want evil frozen and packit valid; frozen = %v", cfg.Frozen)
	}
	ids := w.expiredFleet(2)
	code, _ := w.runOut(t)
	checkOthersProceed(t, w, code, ids)
}

// TestAttackSymlinkOutOfRepo: projects/evil.toml → a credentials file
// outside the repo, projects/env.toml → /proc/self/environ. Neither is
// followed: the secret planted in both targets appears in no problem, log
// line, plan or Slack message (the admin digest included), and the run
// goes on for the other projects.
func TestAttackSymlinkOutOfRepo(t *testing.T) {
	const marker = "MARKER-SECRET-2c9d41e7"
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte(marker+" = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LW_ATTACK_MARKER", marker) // so /proc/self/environ holds it too
	if err := os.Symlink(creds, filepath.Join(w.dir, "projects/evil.toml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/self/environ", filepath.Join(w.dir, "projects/env.toml")); err != nil {
		t.Fatal(err)
	}

	code, out := validateOut(context.Background(), "--format", "json", w.dir)
	if code != exitFailed || !strings.Contains(out, "is a symbolic link, which is never followed") {
		t.Errorf("validate exited %d:\n%s", code, out)
	}
	ids := w.expiredFleet(2)
	code, runOut := w.runOut(t, "--log-format", "json")
	checkOthersProceed(t, w, code, ids)
	everything := out + runOut
	for _, p := range w.slack.Posts() {
		everything += p.Channel + " " + p.Text + "\n"
	}
	if strings.Contains(everything, marker) {
		t.Errorf("the link's target leaked into output or Slack:\n%s", everything)
	}
	if len(w.slack.Posts()) == 0 {
		t.Error("no Slack message at all: the leak check above is vacuous")
	}
}

// TestAttackFIFOInProjects: projects/pipe.toml is a named pipe. validate
// used to hang on it forever and ignore the first SIGTERM. Now the built
// binary returns at once with the pipe as a problem, and validate ends on
// the first signal even while a load hangs.
func TestAttackFIFOInProjects(t *testing.T) {
	dir := testenv.WriteRepo(t, "", map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	if err := syscall.Mkfifo(filepath.Join(dir, "projects/pipe.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang fails the test, not the suite
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "validate", dir)
	cmd.Env = append(os.Environ(), "LAUNCHWARDEN_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed {
		t.Fatalf("validate with a FIFO: %v, want exit %d\n%s", err, exitFailed, out)
	}
	if !strings.Contains(string(out), "projects/pipe.toml: is a named pipe, not a file") {
		t.Errorf("validate output lacks the FIFO:\n%s", out)
	}

	// A load that hangs (as reading the FIFO used to): the first signal,
	// which main turns into ctx's end, ends validate.
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	loadRepo = func(string) (*projects.Config, projects.Problems) { close(started); <-release; return nil, nil }
	defer func() { loadRepo = projects.Load }()
	sigCtx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { code, _ := validateOut(sigCtx, dir); done <- code }()
	<-started
	stop() // SIGTERM
	select {
	case code := <-done:
		if code != exitFailed {
			t.Errorf("interrupted validate exited %d, want %d", code, exitFailed)
		}
	case <-ctx.Done():
		t.Fatal("validate did not end on the first signal")
	}
}

// TestAttackNearMissFileName: projects/packit.TOML is not projects/
// packit.toml. It used to be ignored silently, so packit's instances became
// orphans. Now validate reports it, and a run freezes packit instead of
// orphaning its instances.
func TestAttackNearMissFileName(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.TOML": faultProject("packit"),
		"projects/cockpit.toml": faultProject("cockpit")})
	code, out := validateOut(context.Background(), "--format", "github", w.dir)
	if code != exitFailed || !strings.Contains(out, "packit.TOML") || !strings.Contains(out, `project "packit" is frozen`) {
		t.Errorf("validate exited %d:\n%s", code, out)
	}
	ids := w.expiredFleet(2)
	w.run(t)
	for id, s := range states(w.instances(), ids) {
		if s != ec2sim.StateRunning {
			t.Errorf("packit's %s is %s: a project whose file is misnamed must be frozen, not orphaned or acted on", id, s)
		}
	}
}

// TestAttackUnknownDottedTable: [foo.bar] used to be reported without a
// line number.
func TestAttackUnknownDottedTable(t *testing.T) {
	dir := testenv.WriteRepo(t, "", map[string]string{"launchwarden.toml": faultAdmin(20),
		"projects/packit.toml": faultProject("packit") + "\n[foo.bar]\nx = 1\n"})
	_, out := validateOut(context.Background(), dir)
	if want := `projects/packit.toml:17:1: foo: unknown table "foo"`; !strings.Contains(out, want) {
		t.Errorf("validate output lacks %q:\n%s", want, out)
	}
}

// planFrozen runs `launchwarden plan --format json` and returns the
// projects the plan says are frozen.
func (w *world) planFrozen(t *testing.T) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: os.Getenv}
	args := append([]string{"plan"}, w.runArgs()[1:]...)
	if code := exitStatus(e, run(context.Background(), e, args)); code == exitAborted || code == exitUsage {
		t.Fatalf("plan exited %d:\n%s", code, errOut.String())
	}
	var plan struct {
		Frozen []string `json:"frozen"`
	}
	if err := json.Unmarshal(out.Bytes(), &plan); err != nil {
		t.Fatalf("plan output: %v\n%s", err, out.String())
	}
	return plan.Frozen
}

// TestAttackSSHFromHalves: ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]
// with allow_world_ssh = false used to be accepted: the world, in halves.
// Every prefix wider than the caps' minimum is refused, with its line.
func TestAttackSSHFromHalves(t *testing.T) {
	evil := strings.Replace(faultProject("evil"), `ssh_from = ["10.0.0.0/8"]`, `ssh_from = ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]`, 1)
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit"), "projects/evil.toml": evil})
	_, out := validateOut(context.Background(), w.dir)
	for _, want := range []string{
		"projects/evil.toml:15:13: templates[0].ssh_from[0]: 0.0.0.0/1 is wider than /16",
		"projects/evil.toml:15:26: templates[0].ssh_from[1]: 128.0.0.0/1 is wider than /16",
		"projects/evil.toml:15:41: templates[0].ssh_from[2]: ::/1 is wider than /32",
		"projects/evil.toml:15:49: templates[0].ssh_from[3]: 8000::/1 is wider than /32",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	ids := w.expiredFleet(2)
	code, _ := w.runOut(t)
	checkOthersProceed(t, w, code, ids)
	for _, lt := range w.sim.LaunchTemplates(serveAccount, serveRegion) {
		if strings.HasPrefix(lt.Name, "lw-evil-") {
			t.Errorf("template %s was created with SSH from the world", lt.Name)
		}
	}
}

// TestAttackNotifyOnlyWithoutGrant: mode = "notify-only" in a project file
// used to be accepted, so its instances were never stopped and its quotas
// never enforced. Without an admin grant it is a problem and the project is
// frozen; with the grant it is accepted.
func TestAttackNotifyOnlyWithoutGrant(t *testing.T) {
	evil := faultProject("evil") + "\n[lifecycle]\nmode = \"notify-only\"\n"
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit"), "projects/evil.toml": evil})
	_, out := validateOut(context.Background(), w.dir)
	if want := `projects/evil.toml:18:1: lifecycle.mode: mode "notify-only" needs an admin grant`; !strings.Contains(out, want) {
		t.Errorf("validate output lacks %q:\n%s", want, out)
	}
	if got := w.planFrozen(t); !slices.Contains(got, "evil") || slices.Contains(got, "packit") {
		t.Errorf("frozen = %v, want evil and not packit", got)
	}

	granted := faultAdmin(20) + "\n[grants.evil]\nallowed_modes = [\"notify-only\"]\n"
	if err := os.WriteFile(filepath.Join(w.dir, "launchwarden.toml"), []byte(granted), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := validateOut(context.Background(), w.dir); code != exitOK {
		t.Errorf("with the grant, validate exited %d:\n%s", code, out)
	}
}

// TestAttackChannelHijack: a project that sets the admin channel or another
// team's channel used to get it (and the webhook admins set up for it).
// Now both are problems; every project involved is frozen until an admin
// grants the sharing, and other projects proceed.
func TestAttackChannelHijack(t *testing.T) {
	toAdmin := strings.Replace(faultProject("evil"), `channel = "#evil"`, `channel = "#lw-admins"`, 1)
	toTeam := strings.Replace(faultProject("mallory"), `channel = "#mallory"`, `channel = "#cockpit"`, 1)
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit"),
		"projects/cockpit.toml": faultProject("cockpit"), "projects/evil.toml": toAdmin, "projects/mallory.toml": toTeam})
	_, out := validateOut(context.Background(), w.dir)
	for _, want := range []string{
		"projects/evil.toml:4:1: slack.channel: #lw-admins is the admin channel",
		"projects/mallory.toml:4:1: slack.channel: #cockpit is also the channel of projects/cockpit.toml",
		"projects/cockpit.toml:4:1: slack.channel: #cockpit is also the channel of projects/mallory.toml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	got := w.planFrozen(t)
	if !slices.Equal(got, []string{"cockpit", "evil", "mallory"}) {
		t.Errorf("frozen = %v, want cockpit, evil and mallory", got)
	}
	ids := w.expiredFleet(2)
	code, _ := w.runOut(t)
	checkOthersProceed(t, w, code, ids)
	for _, p := range w.slack.Posts() {
		if strings.Contains(p.Text, "evil") && p.Channel == "#lw-admins" && strings.Contains(p.Text, "Extend") {
			t.Errorf("a team digest of evil reached the admin channel: %s", p.Text)
		}
	}
}

// TestAttackWebhookWithTrailingWhitespace: a webhook URL env value with a
// trailing newline or space used to be logged whole at WARN when the post
// failed. The value is trimmed when it is read, and no form of it (raw,
// quoted, escaped, percent-encoded) shows in any log line or error.
func TestAttackWebhookWithTrailingWhitespace(t *testing.T) {
	// A webhook on a closed port: net/http's error quotes the URL it tried.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, tail := range map[string]string{"newline": "\n", "space": " ", "both": " \r\n"} {
		t.Run(name, func(t *testing.T) {
			admin := faultAdmin(20) + "\n[slack.webhooks.\"#packit\"]\nurl_env = \"LW_ATTACK_WEBHOOK\"\n"
			w := newWorld(t, map[string]string{"launchwarden.toml": admin, "projects/packit.toml": faultProject("packit")})
			t.Setenv("LW_ATTACK_WEBHOOK", closed.URL+"/services/T0ATTACK/B0ATTACK/WEBHOOKSECRET"+tail)
			w.expiredFleet(1)
			_, out := w.runOut(t, "--log-format", "json")
			for _, secret := range []string{"WEBHOOKSECRET", "B0ATTACK"} {
				if strings.Contains(out, secret) {
					t.Errorf("run output shows %q:\n%s", secret, out)
				}
			}
			if !strings.Contains(out, `"via":"webhook"`) || !strings.Contains(out, "<secret>") {
				t.Errorf("no failed webhook post was logged redacted; the check above is vacuous:\n%s", out)
			}
		})
	}
}
