package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestKillSwitchRunWithAFrozenProjectExits1: with safety.enforce = false
// nothing is applied, but a frozen project is still a problem admins must
// see: the run exits 1 and names it, as with enforce on; without one it
// exits 0.
func TestKillSwitchRunWithAFrozenProjectExits1(t *testing.T) {
	admin := strings.Replace(faultAdmin(20), "enforce = true", "enforce = false", 1)
	files := map[string]string{"launchwarden.toml": admin, "projects/packit.toml": faultProject("packit")}
	w := newWorld(t, files)
	if code, out := w.runOut(t); code != exitOK {
		t.Fatalf("kill switch, nothing frozen: exited %d, want 0:\n%s", code, out)
	}

	w.writeFile("projects/packit.toml", faultProject("packit")+"colour = \"blue\"\n")
	code, out := w.runOut(t)
	if code != exitFailed || !strings.Contains(out, "frozen by config problems: packit") {
		t.Errorf("kill switch, packit frozen: exited %d, want %d naming packit:\n%s", code, exitFailed, out)
	}
	if n := len(w.sim.LaunchTemplates("123456789012", "us-east-1")); n != 0 {
		t.Errorf("%d templates written under the kill switch", n)
	}
}

// TestAttackChannelClaimFreezesOnlyTheClaimant: someone who can write one
// project file (mallory's) names another team's channel (#packit) in it.
// Before, both files were frozen: an attacker could freeze any project,
// sending its notices to admins and pausing its lifecycle. launchwarden
// recorded #packit on packit's templates (signed) when packit had it, so
// the run keeps packit working — its expired instances stop after their
// notice in #packit — and freezes only mallory, whose problem names packit.
// validate, offline, still reports both files.
func TestAttackChannelClaimFreezesOnlyTheClaimant(t *testing.T) {
	files := map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")}
	w := newWorld(t, files)
	if code, out := w.runOut(t); code != exitOK {
		t.Fatalf("first run exited %d:\n%s", code, out)
	}

	w.writeFile("projects/mallory.toml", strings.Replace(faultProject("mallory"), `channel = "#mallory"`, `channel = "#packit"`, 1))
	if _, out := validateOut(context.Background(), w.dir); !strings.Contains(out, "projects/packit.toml:4:1: slack.channel: #packit is also the channel of projects/mallory.toml") {
		t.Errorf("validate no longer reports both files:\n%s", out)
	}
	if got := w.planFrozen(t); !slices.Equal(got, []string{"mallory"}) {
		t.Errorf("frozen = %v, want mallory only", got)
	}

	ids := w.expiredFleet(2)
	code, out := w.runOut(t)
	if code != exitFailed || !strings.Contains(out, "frozen by config problems: mallory;") {
		t.Errorf("run exited %d, want %d for mallory alone:\n%s", code, exitFailed, out)
	}
	for id, s := range states(w.instances(), ids) {
		if s != ec2sim.StateStopping && s != ec2sim.StateStopped {
			t.Errorf("packit's %s is %s, want stopped: packit keeps working", id, s)
		}
	}
	var toPackit, malloryToAdmins bool
	for _, p := range w.slack.Posts() {
		switch {
		case p.Channel == "#packit" && strings.Contains(p.Text, "mallory"):
			t.Errorf("mallory's news reached #packit: %s", p.Text)
		case p.Channel == "#packit":
			toPackit = true
		case p.Channel == "#lw-admins" && strings.Contains(p.Text, "is the channel of project packit"):
			malloryToAdmins = true
		}
	}
	if !toPackit || !malloryToAdmins {
		t.Errorf("packit told in #packit: %v; admins told mallory's claim is refused: %v\n%+v", toPackit, malloryToAdmins, w.slack.Posts())
	}
}
