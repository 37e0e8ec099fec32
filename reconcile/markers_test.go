package reconcile

import (
	"context"
	"strings"
	"testing"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
)

// tagAs writes tags on a resource as someone with tag rights but without
// the state key would: through the EC2 API, unsigned.
func (h *harness) tagAs(id string, tags map[string]string) {
	h.t.Helper()
	if err := h.clients[0].CreateTags(context.Background(), []string{id}, tags).Failed[id]; err != nil {
		h.t.Fatal(err)
	}
}

// untrustedOf lists the untrusted-tag notices of digests, "channel reason
// detail".
func untrustedOf(digests []notify.Digest) []string {
	var out []string
	for _, d := range digests {
		for _, n := range d.Notices {
			if n.Kind == "untrusted" {
				out = append(out, d.Channel+" "+n.Reason+"\n"+n.Detail)
			}
		}
	}
	return out
}

// TestAttackFrozenHashWrittenAheadStillAnnounces: someone with tag rights
// writes, on a project's templates, the hash of the problems its file is
// about to have, so that the freeze would look announced already. The
// unsigned value counts as absent: team and admins are told, admins also
// hear of the forged marker, the marker is rewritten signed, and the next
// run posts nothing and writes nothing.
func TestAttackFrozenHashWrittenAheadStillAnnounces(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run()
	h.slack.take()

	files["projects/packit.toml"] += "colour = \"blue\"\n"
	h.write(files)
	hash := hashLines(problemLines(h.config().Frozen["packit"]))
	for name, lt := range h.templates() {
		if strings.HasPrefix(name, "lw-packit-") {
			h.tagAs(lt.ID, map[string]string{TagFrozen: hash})
		}
	}

	h.run()
	digests := h.slack.take()
	frozen := 0
	for _, d := range digests {
		for _, n := range d.Notices {
			if n.Kind == "frozen" && n.Project == "packit" {
				frozen++
			}
		}
	}
	if frozen != 2 {
		t.Errorf("frozen packit announced %d times, want to admins and team: %+v", frozen, digests)
	}
	if got := untrustedOf(digests); len(got) != 1 || !strings.Contains(got[0], "lw-packit-fedora "+TagFrozen) || !strings.HasPrefix(got[0], adminChan) {
		t.Errorf("forged markers reported as %q", got)
	}
	ts, _ := h.observed(testRegion)
	for _, name := range []string{"lw-packit-fedora", "lw-packit-centos"} {
		if ts[name].Tags[TagFrozen] != hash || ts[name].Forged != nil {
			t.Errorf("%s: frozen marker %q, forged %v; want it signed by the run", name, ts[name].Tags[TagFrozen], ts[name].Forged)
		}
	}

	h.sim.ResetCalls()
	h.run()
	if got := h.slack.take(); len(got) != 0 {
		t.Errorf("next run posted %+v", got)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("next run made mutating calls: %v", got)
	}
}

// TestAttackOldVersionNumberIsNotRestored: launchwarden restores its own
// default version when someone changes the default. Someone with tag rights
// names an older version in launchwarden:version — unsigned, or the signed
// value copied back from before the update — hoping that launchwarden makes
// the old version (old image, removed keys) the default again. Neither
// verifies: the default stays.
func TestAttackOldVersionNumberIsNotRestored(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run()
	old := h.templates()["lw-packit-fedora"]
	files["projects/packit.toml"] = strings.Replace(files["projects/packit.toml"], "volume_gib = 40", "volume_gib = 60", 1)
	h.write(files)
	h.run()
	h.slack.take()

	for _, v := range []string{"1", old.Tags[TagVersion]} {
		h.tagAs(old.ID, map[string]string{TagVersion: v})
		h.run()
		if lt := h.templates()["lw-packit-fedora"]; lt.DefaultVersion != 2 {
			t.Errorf("with version %q written: default version %d, want 2", v, lt.DefaultVersion)
		}
		if got := untrustedOf(h.slack.take()); len(got) != 1 || !strings.Contains(got[0], TagVersion) {
			t.Errorf("with version %q written: reported %q", v, got)
		}
	}
}

// TestUnsignedMarkersOfAnOlderReleaseConvergeInOneRun: a fleet whose
// markers an older release wrote unsigned (every marker of every template
// and group, plus a closed template) is brought to signed markers in one
// run, which admins hear of; the run after that writes and posts nothing.
func TestUnsignedMarkersOfAnOlderReleaseConvergeInOneRun(t *testing.T) {
	files := twoProjects()
	files["projects/cockpit.toml"] += "\n[limits]\nmax_instances = 1\n"
	h := newHarness(t, files)
	h.run()
	h.seed("i-00000000000000c01", "t3.medium", 0, ours("cockpit", "debian"))
	h.run()
	h.slack.take()
	ts, _ := h.observed(testRegion)
	if _, closed := closedBy(ts["lw-cockpit-debian"]); !closed {
		t.Fatalf("cockpit's template not closed at quota: %v", ts["lw-cockpit-debian"].Tags)
	}

	// As an older release would have left them: the same values, unsigned.
	unsigned := 0
	strip := func(id string, tags map[string]string) {
		plain := map[string]string{}
		for k, v := range tags {
			if cloud.IsMarker(k) {
				plain[k], _, _ = strings.Cut(v, " sig=")
			}
		}
		if unsigned += len(plain); len(plain) > 0 {
			h.tagAs(id, plain)
		}
	}
	for _, lt := range h.templates() {
		strip(lt.ID, lt.Tags)
	}
	for _, g := range h.groups() {
		strip(g.ID, g.Tags)
	}
	if unsigned < 7 {
		t.Fatalf("only %d markers to unsign", unsigned)
	}

	h.run()
	got := untrustedOf(h.slack.take())
	if len(got) != 1 || !strings.HasPrefix(got[0], adminChan) {
		t.Errorf("unsigned markers reported as %q", got)
	}
	ts, gs := h.observed(testRegion)
	for name, t2 := range ts {
		if t2.Forged != nil || t2.Spec == "" {
			t.Errorf("template %s after one run: forged %v, spec %q", name, t2.Forged, t2.Spec)
		}
	}
	for name, g := range gs {
		if g.Forged != nil {
			t.Errorf("group %s after one run: forged %v", name, g.Forged)
		}
	}
	if _, closed := closedBy(ts["lw-cockpit-debian"]); !closed {
		t.Errorf("cockpit's template not closed after the run: %v", ts["lw-cockpit-debian"].Tags)
	}

	h.sim.ResetCalls()
	h.run()
	if got := h.slack.take(); len(got) != 0 {
		t.Errorf("next run posted %+v", got)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("next run made mutating calls: %v", got)
	}
}
