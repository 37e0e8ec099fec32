package main

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

const exampleConfig = "../../examples/config-repo"

// runStory runs the demo in-process and fails the test on any error or
// logged warning.
func runStory(t *testing.T, o demoOptions) (*demoResult, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := demo(t.Context(), o, &stdout, &stderr)
	if err != nil {
		t.Fatalf("demo: %v\nstderr:\n%s", err, &stderr)
	}
	if stderr.Len() > 0 {
		t.Errorf("demo logged warnings:\n%s", &stderr)
	}
	return res, stdout.String()
}

func TestDemoWeek(t *testing.T) {
	res, out := runStory(t, demoOptions{config: exampleConfig, days: 7, step: 3 * time.Hour})

	t.Run("every template exists in every region, and the orphan's too", func(t *testing.T) {
		cfg, _ := projects.Load(exampleConfig)
		var names []string
		for _, p := range cfg.Projects {
			for _, tpl := range p.Templates {
				names = append(names, reconcile.Name(p.Name, tpl.Name))
			}
		}
		slices.Sort(names)
		// The orphan's template is what makes it ours: it stays until the
		// orphan is gone, and goes in the run after its termination.
		europe := slices.Sorted(slices.Values(append(slices.Clone(names), "lw-fedora-infra-builder")))
		want := map[string][]string{demoEast: names, demoEurope: europe}
		if diff := cmp.Diff(want, res.Templates); diff != "" {
			t.Errorf("launch templates (-want +got):\n%s", diff)
		}
	})

	states := []struct {
		name, id, want string
	}{
		{"expired instance is stopped", "i-00000000000000101", "stopped"},
		{"instance extended by a pull request keeps running", demoExtendedID, "running"},
		{"instance extended in the example file keeps running", "i-0c1d2e3f4a5b6c7d8", "running"},
		{"instance stopped for over a week is terminated", "i-00000000000000104", "terminated"},
		{"stop-only project's instance is stopped, not terminated", "i-00000000000000201", "stopped"},
		{"expired instance of a terminate-on-expiry project is terminated", "i-00000000000000302", "terminated"},
		{"orphan is terminated after the grace", demoOrphanID, "terminated"},
		{"instance without launchwarden tags keeps running", demoUntaggedID, "running"},
	}
	for _, tc := range states {
		t.Run(tc.name, func(t *testing.T) {
			if got := res.Instances[tc.id].State; got != tc.want {
				t.Errorf("%s is %q, want %q", tc.id, got, tc.want)
			}
		})
	}

	t.Run("instance without launchwarden tags keeps its tags", func(t *testing.T) {
		var want map[string]string
		for _, s := range demoFleet {
			if s.id == demoUntaggedID {
				want = s.tags
			}
		}
		if diff := cmp.Diff(want, res.Instances[demoUntaggedID].Tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})

	t.Run("the launch guard refuses a type outside the caps and a closed template", func(t *testing.T) {
		want := []string{"DenyInstanceTypes", "DenyClosedTemplates"}
		if diff := cmp.Diff(want, res.Refused); diff != "" {
			t.Errorf("refused launches by guard statement (-want +got):\n%s", diff)
		}
	})

	t.Run("instances launched from templates carry the project's tags", func(t *testing.T) {
		got := map[string]int{}
		for _, id := range res.Launched {
			in := res.Instances[id]
			got[in.Tags[cloud.TagProject]+"/"+in.Tags[cloud.TagTemplate]]++
		}
		want := map[string]int{"packit/fedora": 1, "osbuild/builder-x86": 4}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("launched instances by project/template tags (-want +got):\n%s", diff)
		}
	})

	t.Run("a newer Fedora image becomes a new template version, announced", func(t *testing.T) {
		var got []string
		for _, n := range res.notices() {
			if n.Kind == notify.KindTemplateChanged && strings.HasPrefix(n.Reason, "image updated") {
				got = append(got, n.Channel+" "+n.Template+": "+n.Reason)
			}
		}
		const reason = "image updated: " + "Fedora-Cloud-Base-Generic-41-20261101.0.x86_64 → Fedora-Cloud-Base-Generic-41-20261125.0.x86_64"
		want := []string{"#packit-ci fedora: " + reason, "C04ABCDE123 tasks: " + reason}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("image refresh notices (-want +got):\n%s", diff)
		}
	})

	t.Run("every kind of notice was delivered", func(t *testing.T) {
		got := map[notify.Kind]bool{}
		for _, n := range res.notices() {
			got[n.Kind] = true
		}
		for _, k := range []notify.Kind{notify.KindTemplateChanged, notify.KindExpiring, notify.KindOverQuota,
			notify.KindStopped, notify.KindTerminated, notify.KindOrphan} {
			if !got[k] {
				t.Errorf("no %s notice delivered; delivered kinds: %v", k, slices.Sorted(maps.Keys(got)))
			}
		}
	})

	t.Run("every stop and termination was announced first", func(t *testing.T) {
		notices := res.notices()
		for i, n := range notices {
			if n.Kind != notify.KindStopped && n.Kind != notify.KindTerminated {
				continue
			}
			announced := slices.ContainsFunc(notices[:i], func(e notify.Notice) bool {
				// A stop's message announces the termination that follows.
				if n.Kind == notify.KindTerminated && e.Kind == notify.KindStopped && e.InstanceID == n.InstanceID {
					return e.TerminateAt.Equal(n.Deadline)
				}
				return e.InstanceID == n.InstanceID && e.Action == n.Action && e.Deadline.Equal(n.Deadline) &&
					(e.Kind == notify.KindExpiring || e.Kind == notify.KindOverQuota || e.Kind == notify.KindOrphan)
			})
			if !announced {
				t.Errorf("%s %s without an earlier notice announcing it", n.Kind, n.InstanceID)
			}
		}
	})

	t.Run("the instance over quota is stopped, then terminated", func(t *testing.T) {
		var over []string
		for _, n := range res.notices() {
			if n.Kind == notify.KindOverQuota {
				over = append(over, n.InstanceID)
			}
		}
		if len(over) != 1 {
			t.Fatalf("over-quota notices for %v, want one instance", over)
		}
		if !slices.Contains(res.Stopped, over[0]) || !slices.Contains(res.Terminated, over[0]) {
			t.Errorf("%s: stopped %t, terminated %t; want both", over[0], slices.Contains(res.Stopped, over[0]), slices.Contains(res.Terminated, over[0]))
		}
	})

	t.Run("messages went through slack-go to the local server", func(t *testing.T) {
		via := map[string]string{}
		for _, m := range res.Messages {
			via[m.Channel] = m.Via
			if m.Blocks == 0 || m.Text == "" {
				t.Errorf("message to %s has %d blocks and text %q", m.Channel, m.Blocks, m.Text)
			}
			if headline, _, _ := strings.Cut(m.Text, "\n"); !strings.Contains(out, headline) {
				t.Errorf("output lacks the message %q", headline)
			}
		}
		want := map[string]string{
			"#packit-ci": "chat.postMessage", "C04ABCDE123": "chat.postMessage",
			"#launchwarden-admins": "chat.postMessage", "#osbuild-ci": "webhook",
		}
		if diff := cmp.Diff(want, via); diff != "" {
			t.Errorf("channels reached (-want +got):\n%s", diff)
		}
		if len(res.Messages) != len(res.Delivered) {
			t.Errorf("the server received %d messages for %d delivered digests", len(res.Messages), len(res.Delivered))
		}
	})

	t.Run("a click on Extend moves the expiry; admins hear who clicked; webhook digests have no button", func(t *testing.T) {
		const id = "i-00000000000000105"
		if !strings.Contains(out, "lbarcziova clicks Extend on "+id) || !strings.Contains(out, "Extended "+id+" (packit/centos-stream): it now expires 2026-11-26 07:00 UTC (was 2026-11-25 07:00 UTC).") {
			t.Errorf("output does not show the click and its answer")
		}
		told := false
		for _, n := range res.notices() {
			told = told || n.Kind == notify.KindExtended && n.InstanceID == id && strings.Contains(n.Reason, "extended by @lbarcziova")
		}
		if !told {
			t.Error("no admin digest names who extended " + id)
		}
		for _, m := range res.Messages {
			if m.Via == "webhook" && len(m.Buttons) > 0 {
				t.Errorf("webhook message to %s has buttons %v", m.Channel, m.Buttons)
			}
		}
	})
}

func TestDemoQuietPrintsNoMessages(t *testing.T) {
	_, out := runStory(t, demoOptions{config: exampleConfig, days: 1, step: 6 * time.Hour, quiet: true})
	if strings.Contains(out, "│") {
		t.Errorf("quiet output shows message text:\n%s", out)
	}
	for _, want := range []string{"── Mon 23 Nov 09:00 UTC (+0h) ──", "10 template changes", "══ The fleet at Tue 24 Nov 09:00 UTC (+1d) ══", demoUntaggedID} {
		if !strings.Contains(out, want) {
			t.Errorf("quiet output lacks %q:\n%s", want, out)
		}
	}
}

func TestDemoFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int // 0: no error
		wantErr  string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"no config repo here", []string{"--config", "testdata/no-such-dir"}, exitUsage, "run the demo from the repository root, or pass --config"},
		{"zero days", []string{"--config", exampleConfig, "--days", "0"}, exitUsage, "--days"},
		{"step too long", []string{"--config", exampleConfig, "--step", "48h"}, exitUsage, "--step"},
		{"arguments", []string{"--config", exampleConfig, "extra"}, exitUsage, "no arguments"},
		{"unknown flag", []string{"--region", "us-east-1"}, exitUsage, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			e := env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			err := runDemo(t.Context(), e, tc.args)
			code := 0
			if err != nil {
				var ee *exitError
				if !errors.As(err, &ee) {
					t.Fatalf("error %v is not an *exitError", err)
				}
				code = ee.code
			}
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (err %v)", code, tc.wantCode, err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want it to mention %q", err, tc.wantErr)
			}
			if stdout.Len() > 0 {
				t.Errorf("printed to stdout:\n%s", &stdout)
			}
		})
	}
}
