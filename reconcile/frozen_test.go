package reconcile

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// frozenNoticesOf lists the frozen notices of digests as "channel project
// detail".
func frozenNoticesOf(h *harness) []string {
	var out []string
	for _, d := range h.slack.take() {
		for _, n := range d.Notices {
			if n.Kind == "frozen" {
				out = append(out, d.Channel+" "+n.Project+" "+n.Detail)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestFrozenProjectWithoutTemplatesIsAnnouncedOnce checks that a frozen
// project with no template of its own is announced to admins (and its
// team) with file:line, once per distinct set of problems, remembered on a
// marker template only after the admin digest got through.
func TestFrozenProjectWithoutTemplatesIsAnnouncedOnce(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run() // packit's and cockpit's templates exist
	h.slack.take()

	files["projects/newbie.toml"] = "owners = [\"dave\"]\nttl = \"1d\"\n[slack]\nchannel = \"#newbie\"\n"
	h.write(files)

	// The admin channel fails: nothing is recorded, so it is told again.
	h.slack.failChannel(adminChan)
	h.run()
	h.slack.take()
	h.slack.failChannel("")

	h.run()
	want := []string{
		"#lw-admins newbie projects/newbie.toml:2:1: ttl: unknown key \"ttl\" (ttl belongs in the [lifecycle] table)",
		"#newbie newbie projects/newbie.toml:2:1: ttl: unknown key \"ttl\" (ttl belongs in the [lifecycle] table)",
	}
	if diff := cmp.Diff(want, frozenNoticesOf(h)); diff != "" {
		t.Fatalf("frozen notices (-want +got):\n%s", diff)
	}
	h.run()
	if got := frozenNoticesOf(h); len(got) != 0 {
		t.Errorf("announced again with the same problems: %v", got)
	}

	// Other problems: told again.
	files["projects/newbie.toml"] = strings.Replace(files["projects/newbie.toml"], "ttl", "tl", 1)
	h.write(files)
	h.run()
	if got := frozenNoticesOf(h); len(got) != 2 || !strings.Contains(got[0], `unknown key "tl"`) {
		t.Errorf("new problems announced as %v", got)
	}

	// Fixed: the mark goes, so that the same breakage later is told again.
	delete(files, "projects/newbie.toml")
	h.write(files)
	h.run()
	for name, lt := range h.templates() {
		if v, ok := lt.Tags[TagFrozenBare]; ok {
			t.Errorf("template %s still carries %s=%s", name, TagFrozenBare, v)
		}
	}
}
