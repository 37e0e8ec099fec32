package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
)

func TestExtendedRoundTrip(t *testing.T) {
	e := Extended{At: t0, Until: t0.Add(48 * time.Hour), UserID: "U0123", User: "alice smith<>", Run: "20261124T080000-7f3a"}
	got, err := ParseExtended(e.String())
	if err != nil {
		t.Fatal(err)
	}
	e.User = "alice_smith__" // tag values keep to letters, digits and a few signs
	if got != e {
		t.Errorf("ParseExtended(%q) = %+v, want %+v", e.String(), got, e)
	}
	e.Reported = true
	if got, _ := ParseExtended(e.String()); !got.Reported {
		t.Errorf("reported mark lost: %q", e.String())
	}
	if _, err := ParseExtended("2026-11-24T08:00:00Z by alice"); err == nil {
		t.Error("malformed value accepted")
	}
}

// An extension made with the Extend button (a signed launchwarden:extended
// value) is told to admins by the next run, once: the run marks it
// reported after the admin digest was delivered. A forged one is ignored
// and reported as forged.
func TestButtonExtensionsReachTheAdminDigestOnce(t *testing.T) {
	h := newHarness(t, threeProjects())
	rec := Extended{At: t0.Add(-time.Hour), Until: t0.Add(40 * time.Hour), UserID: "U0123", User: "alice", Run: "20261123T200000-7f3a"}
	h.seed("i-00000000000000001", "t3.large", 0, map[string]string{cloud.TagProject: "packit", cloud.TagTemplate: "fedora",
		cloud.TagExpiresAt: rec.Until.Format(time.RFC3339), cloud.TagExtended: rec.String()})
	h.seed("i-00000000000000003", "t3.large", 0, ours("packit", "fedora"))
	// Forged: written without the key.
	forged := h.launched("i-00000000000000004", "packit", "fedora", nil)
	forged[cloud.TagExtended] = rec.String()
	h.seed("i-00000000000000004", "t3.large", 0, forged)

	h.run()
	var lines []string
	for _, d := range h.slack.take() {
		for _, n := range d.Notices {
			if n.Kind == notify.KindExtended || n.Kind == notify.KindUntrusted {
				lines = append(lines, d.Channel+" "+string(n.Kind)+" "+n.InstanceID+" "+n.Reason)
			}
		}
	}
	want := "#lw-admins extended i-00000000000000001 extended by @alice (U0123) via Slack at 2026-11-23 07:00 UTC, to 2026-11-25 00:00 UTC"
	if len(lines) != 2 || lines[1] != want || !strings.Contains(lines[0], "untrusted  1 instance(s) carry a launchwarden:extended value") {
		t.Errorf("admin notices:\n%s\nwant:\n%s\nand the forged tag of i-00000000000000004", strings.Join(lines, "\n"), want)
	}
	rec.Reported = true
	if got := h.stateTag("i-00000000000000001", cloud.TagExtended); got != rec.String() {
		t.Errorf("record after the admin digest = %q, want %q", got, rec.String())
	}
	if got := h.stateTag("i-00000000000000004", cloud.TagExtended); got != "" {
		t.Errorf("forged record left in place: %q", got)
	}

	h.run()
	for _, d := range h.slack.take() {
		for _, n := range d.Notices {
			if n.Kind == notify.KindExtended {
				t.Errorf("told again: %s %s", n.InstanceID, n.Reason)
			}
		}
	}
}
