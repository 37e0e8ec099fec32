package main

import (
	"strings"
	"testing"
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
