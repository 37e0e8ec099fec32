package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/internal/testenv"
	slacknotify "github.com/launchwarden/launchwarden/notify/slack"
)

// runSlack plans and applies once, sending through slack-go.
func (h *harness) runSlack(sender *slacknotify.Sender) *Report {
	h.t.Helper()
	rep, err := Apply(context.Background(), h.plan(), Deps{Clients: h.clients, Sender: sender})
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	return rep
}

func newSlackSender(s *testenv.Slack) *slacknotify.Sender {
	return slacknotify.New(slacknotify.Options{Token: "xoxb-test-token", APIURL: s.GetAPIURL(), Backoff: time.Millisecond})
}

func TestSlackOutageThenRecoveryThroughSlackGo(t *testing.T) {
	h := newHarness(t, threeProjects())
	slack := testenv.NewSlack(t, nil)
	sender := newSlackSender(slack)
	h.seed("i-00000000000000001", "t3.large", 0, ours("packit", "fedora"))

	// Warned at +18h in the normal course; Slack goes down at +17h.
	for range 17 {
		h.sim.Advance(time.Hour)
		h.runSlack(sender)
	}
	slack.Take()
	slack.Set(true, 0)
	for hour := 18; hour <= 26; hour++ {
		h.sim.Advance(time.Hour)
		rep := h.runSlack(sender)
		if len(rep.Stopped)+len(rep.Terminated) > 0 {
			t.Fatalf("+%dh: acted while Slack was down: %+v", hour, rep)
		}
	}
	if got := h.instance("i-00000000000000001"); got.State != "running" || got.Tags[cloud.TagNotice] != "" {
		t.Fatalf("after the outage: state %s, notice %q; want running and no notice", got.State, got.Tags[cloud.TagNotice])
	}

	// Back at +27h: the warning is delivered with a deadline a full
	// min_notice (2h) later, and the stop waits for it.
	slack.Set(false, 0)
	var timeline []string
	for hour := 27; hour <= 30; hour++ {
		h.sim.Advance(time.Hour)
		rep := h.runSlack(sender)
		for _, p := range slack.Take() {
			timeline = append(timeline, fmt.Sprintf("+%dh post to %s", hour, p.Channel))
		}
		for _, id := range rep.Stopped {
			timeline = append(timeline, fmt.Sprintf("+%dh stopped %s", hour, id))
		}
	}
	want := []string{
		"+27h post to #packit",
		"+29h post to #packit",
		"+29h stopped i-00000000000000001",
	}
	if diff := diffStrings(want, timeline); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if got := h.instance("i-00000000000000001").State; got != "stopped" {
		t.Errorf("state = %s, want stopped", got)
	}
}

func TestMessageCountFivehundredInstancesTwentyProjects(t *testing.T) {
	files := map[string]string{"launchwarden.toml": strings.Replace(adminTOML, "max_instances = 10", "max_instances = 50", 1)}
	for p := range 20 {
		name := fmt.Sprintf("team%02d", p)
		files["projects/"+name+".toml"] = projectTOML("#"+name, []string{"alice"}, templateTOML("fedora", "t3.large", 40)) +
			"\n[limits]\nmax_instances = 30\nmax_vcpus = 64\n\n[lifecycle]\nttl = \"1d\"\nwarn_before = \"6h\"\n"
	}
	h := newHarness(t, files)
	for i := range 500 {
		name := fmt.Sprintf("team%02d", i%20)
		h.seed(fmt.Sprintf("i-%017x", i+1), "t3.large", -20*time.Hour, ours(name, "fedora")) // all in the warning window
	}
	h.seed("i-0000000000000ffff", "t3.large", -time.Hour, ours("gone", "fedora")) // one orphan for the admins

	slack := testenv.NewSlack(t, nil)
	sender := newSlackSender(slack)
	h.runSlack(sender)
	slack.Take() // the first run also announces the new templates
	h.sim.Advance(time.Hour)
	h.runSlack(sender)
	h.sim.Advance(time.Hour)
	h.runSlack(sender)
	// Runs at +1h and +2h: +1h has nothing new (all warned at +0h).
	posts := slack.Take()
	if len(posts) != 0 {
		t.Errorf("runs after the warnings posted %d messages, want 0", len(posts))
	}

	// The warned instances are all stopped at +4h, in one digest per team.
	h.sim.Advance(2 * time.Hour)
	rep := h.runSlack(sender)
	posts = slack.Take()
	channels := map[string]int{}
	for _, p := range posts {
		channels[p.Channel]++
	}
	admin := channels[adminChan]
	delete(channels, adminChan)
	if len(posts)-admin != 20 || len(channels) != 20 || admin > 1 {
		t.Errorf("posted %d messages: %d to %d team channels, %d to admins; want 20 to 20 and at most 1: %v", len(posts), len(posts)-admin, len(channels), admin, channels)
	}
	if len(rep.Stopped) != 20 {
		// The per-run cap (20) holds the rest; the next runs take them.
		t.Errorf("stopped %d, want the cap of 20", len(rep.Stopped))
	}
	for _, p := range posts {
		if p.Channel != "#team00" {
			continue
		}
		var blocks []map[string]any
		if err := json.Unmarshal([]byte(p.Form.Get("blocks")), &blocks); err != nil || len(blocks) == 0 || len(blocks) > 50 {
			t.Errorf("#team00 digest: %d blocks, err %v", len(blocks), err)
		}
		if !strings.Contains(p.Text, "stopping now") || !strings.Contains(p.Text, "i-") {
			t.Errorf("#team00 fallback text names no stopped instance: %q", p.Text)
		}
	}
}

func diffStrings(want, got []string) string {
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return ""
	}
	return "- " + strings.Join(want, "\n- ") + "\n+ " + strings.Join(got, "\n+ ")
}
