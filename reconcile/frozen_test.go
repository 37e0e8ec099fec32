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

// TestFrozenProjectsWithNothingManagedAreToldOncePerProcess: with no
// managed template or group anywhere, AWS has nowhere to record that a
// template-less frozen project was announced. serve's process remembers it
// (once the admin digest got through): its next run posts nothing new, a
// new problem set is told, and a fixed file resets it. A one-shot run, with
// no memory, tells it every run.
func TestFrozenProjectsWithNothingManagedAreToldOncePerProcess(t *testing.T) {
	files := map[string]string{"projects/newbie.toml": "owners = [\"dave\"]\nttl = \"1d\"\n[slack]\nchannel = \"#newbie\"\n"}
	h := newHarness(t, files)
	h.memory = &Memory{}

	h.slack.failChannel(adminChan) // not delivered: not remembered
	h.run()
	h.slack.take()
	h.slack.failChannel("")
	h.run()
	if got := frozenNoticesOf(h); len(got) != 2 {
		t.Fatalf("first delivered run told %v, want admins and team", got)
	}
	if n := len(h.templates()) + len(h.groups()); n != 0 {
		t.Fatalf("%d templates and groups: the test needs none", n)
	}
	h.sim.ResetCalls()
	h.run()
	if got := frozenNoticesOf(h); len(got) != 0 {
		t.Errorf("second run of the process told again: %v", got)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("second run made mutating calls: %v", got)
	}

	files["projects/newbie.toml"] = strings.Replace(files["projects/newbie.toml"], "ttl", "tl", 1)
	h.write(files)
	h.run()
	if got := frozenNoticesOf(h); len(got) != 2 {
		t.Errorf("new problems told as %v", got)
	}

	h.memory = nil // a one-shot run remembers nothing
	for range 2 {
		h.run()
		if got := frozenNoticesOf(h); len(got) != 2 {
			t.Errorf("one-shot run told %v, want the set again", got)
		}
	}
}

// TestFrozenBareMarkerOnAGroupWhenNoTemplateExists: a valid project whose
// only template is held back has a security group but no template; the
// template-less frozen project's announcement is recorded on that group
// (signed), so the next run, even of another process, posts nothing new.
func TestFrozenBareMarkerOnAGroupWhenNoTemplateExists(t *testing.T) {
	files := map[string]string{
		"projects/packit.toml": projectTOML("#packit", []string{"alice"}, templateTOML("fedora", "t3.large", 2)), // below the image's 5 GiB: held
	}
	h := newHarness(t, files)
	h.run()
	files["projects/newbie.toml"] = "owners = [\"dave\"]\nttl = \"1d\"\n[slack]\nchannel = \"#newbie\"\n"
	h.write(files)
	h.run()
	if got := frozenNoticesOf(h); len(got) != 2 {
		t.Fatalf("run told %v, want admins and team", got)
	}
	if len(h.templates()) != 0 || len(h.groups()) != 1 {
		t.Fatalf("%d templates and %d groups, want a group only", len(h.templates()), len(h.groups()))
	}
	_, gs := h.observed(testRegion)
	if g := gs["lw-packit-fedora"]; g.Tags[TagFrozenBare] == "" || g.Forged != nil {
		t.Errorf("group tags %v, forged %v: want a signed %s", g.Tags, g.Forged, TagFrozenBare)
	}
	h.sim.ResetCalls()
	h.run()
	if got := frozenNoticesOf(h); len(got) != 0 {
		t.Errorf("second run told again: %v", got)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("second run made mutating calls: %v", got)
	}
}
