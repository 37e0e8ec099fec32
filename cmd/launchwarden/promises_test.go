package main

import (
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// The tests of this file check the promises README makes for Slack failing
// in three ways: down for days, refusing one team's channel for good, and
// the admin channel itself broken.

// TestPromiseSlackDownForDays: nothing is stopped or terminated while no
// digest gets through, every run exits 1, and once Slack is back the team
// gets its notice with a full min_notice before anything happens.
func TestPromiseSlackDownForDays(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	const id = "i-00000000000000001"
	w.seed(id, "packit", ec2sim.StateRunning, 20*time.Hour, nil) // expires in 4h
	announced := w.expiredFleet(1)                               // its stop was announced before the outage

	w.slack.Set(true, 0)
	for range 2 { // day 1 and day 3 of the outage
		w.sim.Advance(36 * time.Hour)
		if code := w.run(t); code != exitFailed {
			t.Errorf("run with Slack down exited %d, want %d", code, exitFailed)
		}
		for _, i := range []string{id, announced[0]} {
			if got := w.instances()[i]; got.State != ec2sim.StateRunning {
				t.Fatalf("%s is %s while Slack is down, want running", i, got.State)
			}
		}
		if got := w.instances()[id].Tags[cloud.TagNotice]; got != "" {
			t.Fatalf("notice %q recorded while Slack was down", got)
		}
	}

	// Back: the warning goes out with a full min_notice (2h) from now; the
	// stop announced before the outage goes ahead, as announced.
	w.slack.Set(false, 0)
	w.sim.Advance(time.Hour)
	back := w.sim.Now()
	if code := w.run(t); code != exitOK {
		t.Errorf("first run with Slack back exited %d, want 0", code)
	}
	var warned bool
	for _, d := range w.slack.notices() {
		if d.instance == id && d.kind == "expiring" {
			warned = true
			if d.deadline.Before(back.Add(2 * time.Hour).Truncate(time.Minute)) {
				t.Errorf("warning after the outage gives until %s, less than min_notice after %s", d.deadline, back)
			}
		}
	}
	if !warned {
		t.Fatalf("no warning for %s once Slack was back: %v", id, w.slack.notices())
	}
	if s := w.instances()[id].State; s != ec2sim.StateRunning {
		t.Errorf("%s is %s right after its first warning, want running", id, s)
	}
	w.sim.Advance(2 * time.Hour)
	w.run(t)
	if s := w.instances()[id].State; s != ec2sim.StateStopping && s != ec2sim.StateStopped {
		t.Errorf("%s is %s a full notice after its warning, want stopped", id, s)
	}
}

// TestPromiseChannelRefusedForGood: while Slack refuses a team's channel
// (channel_not_found), that team's instances are never stopped or
// terminated, admins are told every run, and every run exits 1; fixed, the
// next run goes ahead.
func TestPromiseChannelRefusedForGood(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20),
		"projects/packit.toml": faultProject("packit"), "projects/cockpit.toml": faultProject("cockpit")})
	ids := w.expiredFleet(1) // packit's, stop announced and due
	w.seed("i-0000000000000c0c1", "cockpit", ec2sim.StateRunning, 20*time.Hour, nil)
	w.slack.Refuse("#packit", "channel_not_found")

	for run := range 3 {
		if code := w.run(t); code != exitFailed {
			t.Errorf("run %d exited %d, want %d", run, code, exitFailed)
		}
		if s := w.instances()[ids[0]].State; s != ec2sim.StateRunning {
			t.Fatalf("run %d: packit's instance is %s though its team cannot be told", run, s)
		}
		w.sim.Advance(time.Hour)
	}
	told := 0
	for _, text := range w.slack.Texts("#lw-admins") {
		if strings.Contains(text, "digest for #packit not delivered (permanent failure") && strings.Contains(text, "channel_not_found") {
			told++
		}
	}
	if told != 3 {
		t.Errorf("admins were told of the refused channel in %d runs, want every one of 3", told)
	}
	var cockpitWarned bool
	for _, d := range w.slack.notices() {
		cockpitWarned = cockpitWarned || (d.channel == "#cockpit" && d.kind == "expiring")
	}
	if !cockpitWarned {
		t.Error("the other team was not warned while #packit was refused")
	}

	w.slack.Refuse("#packit", "")
	if code := w.run(t); code != exitOK {
		t.Errorf("run with the channel fixed exited %d, want 0", code)
	}
	if s := w.instances()[ids[0]].State; s != ec2sim.StateStopping && s != ec2sim.StateStopped {
		t.Errorf("packit's instance is %s once its team is told, want stopped", s)
	}
}

// TestPromiseAdminChannelBroken: teams are still told and their instances
// handled; what only admins are told (a removed project's orphans) is not
// acted on; every run exits 1, which with the metrics is how admins learn
// of it.
func TestPromiseAdminChannelBroken(t *testing.T) {
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(20), "projects/packit.toml": faultProject("packit")})
	ids := w.expiredFleet(1)
	const orphan = "i-0000000000000dead"
	w.seed(orphan, "gone", ec2sim.StateRunning, time.Hour, nil)
	w.slack.Refuse("#lw-admins", "is_archived")

	if code := w.run(t); code != exitFailed {
		t.Errorf("run exited %d, want %d", code, exitFailed)
	}
	if s := w.instances()[ids[0]].State; s != ec2sim.StateStopping && s != ec2sim.StateStopped {
		t.Errorf("packit's announced instance is %s, want stopped: its team was told", s)
	}
	w.sim.Advance(3 * 24 * time.Hour) // far past the orphan grace
	if code := w.run(t); code != exitFailed {
		t.Errorf("run exited %d, want %d", code, exitFailed)
	}
	if got := w.instances()[orphan]; got.State != ec2sim.StateRunning || got.Tags[cloud.TagNotice] != "" {
		t.Errorf("orphan is %s with notice %q though admins were never told", got.State, got.Tags[cloud.TagNotice])
	}
}
