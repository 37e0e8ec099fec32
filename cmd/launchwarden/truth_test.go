package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestRunExitCodeTellsTheTruth checks invariant 7: a digest not delivered,
// an action withheld for that reason, a frozen project make `run` exit 1,
// and admins hear of every undelivered team digest, permanent or not.
func TestRunExitCodeTellsTheTruth(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
		// wantAdmin are strings the admin digest must hold ("" for no
		// admin digest expected).
		wantAdmin []string
		// wantStopped is whether the expired packit instance was stopped.
		wantStopped bool
	}{
		{
			name:      "team channel refused for good (channel_not_found)",
			setup:     func(w *world) { w.slack.Refuse("#packit", "channel_not_found") },
			wantAdmin: []string{"digest for #packit not delivered (permanent failure", "channel_not_found"},
		},
		{
			name:      "team channel failing for now (rate limited past the retries)",
			setup:     func(w *world) { w.slack.Refuse("#packit", "429") },
			wantAdmin: []string{"digest for #packit not delivered (temporary failure, tried again next run)"},
		},
		{
			name: "admin channel broken, team told",
			setup: func(w *world) {
				w.slack.Refuse("#lw-admins", "channel_not_found")
				w.seed("i-00000000000000bad", "gone", ec2sim.StateRunning, time.Hour, nil) // an orphan: admins have news
			},
			wantStopped: true,
		},
		{
			name:        "a project frozen by its file",
			setup:       func(w *world) { w.writeFile("projects/cockpit.toml", "owners = [\"bob\"\n") },
			wantAdmin:   []string{"projects/cockpit.toml:1"},
			wantStopped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
			ids := w.expiredFleet(1)
			tt.setup(w)
			if code := w.run(t); code != exitFailed {
				t.Errorf("run exited %d, want %d", code, exitFailed)
			}
			state := w.instances()[ids[0]].State
			if stopped := state != ec2sim.StateRunning; stopped != tt.wantStopped {
				t.Errorf("announced instance is %s; want stopped %t", state, tt.wantStopped)
			}
			admin := strings.Join(w.slack.Texts("#lw-admins"), "\n")
			for _, want := range tt.wantAdmin {
				if !strings.Contains(admin, want) {
					t.Errorf("admin digest lacks %q:\n%s", want, admin)
				}
			}
		})
	}
}

// writeFile writes one file of the world's config repo.
func (w *world) writeFile(name, content string) {
	p := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		panic(err)
	}
}

// TestFrozenProjectStillWarnsItsTeam checks the promise of the config
// repo's README: a frozen project's team is still warned, and nothing of
// it is stopped; admins get the problem with file and line.
func TestFrozenProjectStillWarnsItsTeam(t *testing.T) {
	// A problem in owners only: the file's channel is still good.
	broken := strings.Replace(faultProject("packit"), `owners = ["alice"]`, `owners = ["not a user!"]`, 1)
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": broken})
	const id = "i-00000000000000060"
	w.seed(id, "packit", ec2sim.StateRunning, 60*24*time.Hour, nil)

	if code := w.run(t); code != exitFailed {
		t.Errorf("run with a frozen project exited %d, want %d", code, exitFailed)
	}
	var warned bool
	for _, d := range w.slack.notices() {
		if d.channel == "#packit" && d.instance == id && d.kind == "expiring" && d.action == "stop" {
			warned = true
		}
	}
	if !warned {
		t.Errorf("the frozen project's team was not warned of %s: %v", id, w.slack.notices())
	}
	if admin := strings.Join(w.slack.Texts("#lw-admins"), "\n"); !strings.Contains(admin, "projects/packit.toml:1") {
		t.Errorf("admins were not told the file and line:\n%s", admin)
	}
	if team := strings.Join(w.slack.Texts("#packit"), "\n"); !strings.Contains(team, "projects/packit.toml:1") {
		t.Errorf("the team, which owns the file, was not told the file and line:\n%s", team)
	}

	// Past the announced deadline, still frozen: still running.
	for range 3 {
		w.sim.Advance(2 * time.Hour)
		w.run(t)
	}
	if got := w.instances()[id].State; got != ec2sim.StateRunning {
		t.Errorf("frozen project's instance is %s, want running", got)
	}
}
