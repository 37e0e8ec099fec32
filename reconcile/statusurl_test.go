package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/notify"
)

// With [web] base_url, every digest a run delivers carries the status
// pages' address, so that its items link to their project's page.
func TestDigestsCarryTheStatusPagesAddress(t *testing.T) {
	files := threeProjects()
	files["launchwarden.toml"] += "\n[web]\nbase_url = \"https://lw.example.org/\"\n"
	h := newHarness(t, files)
	h.seed("i-00000000000000001", "t3.large", -20*time.Hour, ours("packit", "fedora"))
	plan, rep := h.run()
	if plan.StatusURL != "https://lw.example.org" {
		t.Errorf("plan's status URL %q, want the base_url without its trailing slash", plan.StatusURL)
	}
	if len(rep.Deliveries) == 0 {
		t.Fatal("nothing delivered")
	}
	for _, d := range rep.Deliveries {
		if d.Digest.StatusURL != plan.StatusURL {
			t.Errorf("digest to %s: status URL %q, want %q", d.Digest.Channel, d.Digest.StatusURL, plan.StatusURL)
		}
	}
	found := false
	for _, d := range h.slack.take() {
		if d.Channel != "#packit" {
			continue
		}
		found = true
		if text := notify.RenderText(d); !strings.Contains(text, "i-00000000000000001 (fedora, t3.large)") || !strings.Contains(text, "https://lw.example.org/projects/packit") {
			t.Errorf("the #packit digest does not link the instance to the project's page:\n%s", text)
		}
	}
	if !found {
		t.Error("no digest to #packit")
	}
}
