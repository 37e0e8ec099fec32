package bench

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/reconcile"
)

// The lifecycle of a fleet from launch to termination, walked by a
// scheduler on the emulated clock. The fleet's projects use the bench admin
// file's lifecycle (adminTOML): ttl 1d, warn_before 6h, on_expiry stop,
// terminate_stopped_after 2d, min_notice 2h. Runs are scheduled every hour
// on the hour; the templates are made by a run at t0 (08:00 UTC) and the
// instances launched from 08:00:30 on, so that no tick falls inside the
// launch wave.
const (
	tick          = time.Hour
	launchStart   = 30 * time.Second
	ttl           = 24 * time.Hour
	warnBefore    = 6 * time.Hour
	minNotice     = 2 * time.Hour
	stoppedBefore = 48 * time.Hour // terminate_stopped_after
)

// lifecycleFleet is a fleet walked from launch to termination: ours
// instances of its projects launched over spread, plus notOurs instances
// that are none of launchwarden's business: half launched from a template
// someone else made, half labelled launchwarden:project by hand without a
// managed template (strays).
type lifecycleFleet struct {
	name                    string
	projects, ours, notOurs int
	// spread is how long the launch wave lasts: the instances' births, and
	// so their expiries, are spread evenly over it, to the second.
	spread time.Duration
	// serve is true when one process makes every run (launchwarden serve,
	// which remembers the instance types it described), false when each
	// run is a process of its own (launchwarden run from cron).
	serve bool
}

// mode is how the runs are made: "serve" or "run".
func (f lifecycleFleet) mode() string {
	if f.serve {
		return "serve"
	}
	return "run"
}

var (
	spreadFleet = lifecycleFleet{name: "launches spread over 101 s", projects: 10, ours: 1000, notOurs: 100, spread: 100 * time.Second}
	dueFleet    = lifecycleFleet{name: "all due at the same moment", projects: 10, ours: 1000, notOurs: 100}
)

// lifecycleFleets are the fleets walked, each by serve and by run.
func lifecycleFleets() []lifecycleFleet {
	var out []lifecycleFleet
	for _, f := range []lifecycleFleet{spreadFleet, dueFleet} {
		for _, serve := range []bool{true, false} {
			f.serve = serve
			out = append(out, f)
		}
	}
	return out
}

// born is when the i-th of ours was launched: 101 distinct seconds over a
// spread of 100 s (0 s to 100 s after the wave's start).
func (f lifecycleFleet) born(i int) time.Time {
	at := t0.Add(launchStart)
	if f.spread > 0 {
		at = at.Add(time.Duration(int64(i)*int64(f.spread/time.Second+1)/int64(f.ours)) * time.Second)
	}
	return at
}

// lifecycleRun is one scheduled run.
type lifecycleRun struct {
	at           time.Time
	calls, bound Calls
	// acted is true when the run warned, stopped or terminated any of ours.
	acted bool
}

// lifecycleResult is a fleet walked from launch to termination.
type lifecycleResult struct {
	fleet lifecycleFleet
	// runs are the runs that acted on ours (notices, stops,
	// terminations); reports are the other runs that wrote (the first run
	// after the launches reports the strays to admins once and records
	// that on a template); steady counts the scheduled runs that only
	// listed, and steadyCalls is what the last of them cost.
	runs, reports       []lifecycleRun
	steady, steadyCalls int
	// terminated counts ours terminated at the end; untouched counts the
	// instances not ours that are as they were launched.
	terminated, untouched int
}

// calls sums the acting runs' EC2 calls, their lower bound, and their
// STS calls (the account's identity, once a run).
func (r lifecycleResult) calls() (ec2, bound, sts int) {
	for _, run := range r.runs {
		sts += run.calls[stsAction]
		ec2 += run.calls.Total() - run.calls[stsAction]
		bound += run.bound.Total() - run.bound[stsAction]
	}
	return ec2, bound, sts
}

const stsAction = "GetCallerIdentity"

// byAction sums the calls of every run by action.
func (r lifecycleResult) byAction() Calls {
	out := Calls{}
	for _, run := range r.runs {
		for a, n := range run.calls {
			out[a] += n
		}
	}
	return out
}

// notOursPrefix starts the ids of the instances not ours.
const notOursPrefix = "i-0ff00000000"

// lifecycleWorld is a one-region world whose fleet is launched and whose
// instances not ours are remembered as launched.
type lifecycleWorld struct {
	*world
	fleet   lifecycleFleet
	notOurs map[string]ec2sim.Instance
	// known are the instance types the serving process has described
	// (nil when each run is a process of its own).
	known map[string]bool
}

// learn records the instance types a serving process described in a run.
func (w *lifecycleWorld) learn(obs *reconcile.Observation) {
	if w.known == nil {
		return
	}
	for _, snap := range obs.Snapshots {
		for t := range snap.InstanceTypes {
			w.known[t] = true
		}
	}
}

// launchLifecycleFleet makes the projects' templates by a run at t0 and
// launches the fleet: ours from their projects' templates (tags as EC2 and
// the template's tag specifications set them), the others as
// lifecycleFleet says.
func launchLifecycleFleet(tb testing.TB, f lifecycleFleet) *lifecycleWorld {
	tb.Helper()
	ctx := context.Background()
	w := newWorld(tb, f.projects, allRegions[:1])
	region := w.regions[0]
	lw := &lifecycleWorld{world: w, fleet: f, notOurs: map[string]ec2sim.Instance{}}
	if f.serve {
		cache := &cloud.InstanceTypeCache{}
		for _, c := range w.clients {
			c.InstanceTypes = cache
		}
		lw.known = map[string]bool{}
	}
	obs, _, _ := w.run(ctx, w.config())
	lw.learn(obs)
	foreign, err := w.clients[0].CreateTemplate(ctx, "ci-runner", cloud.TemplateData{ImageID: testenv.Image}, map[string]string{"team": "ci"})
	if err != nil {
		tb.Fatal(err)
	}
	templates, ids := w.templateIDs(region), map[string]string{}
	fleet := make([]ec2sim.SeedInstance, 0, f.ours+f.notOurs)
	for i := range f.ours {
		p := projectName(i % f.projects)
		if ids[p] == "" {
			ids[p] = w.templateID(templates, region, p)
		}
		born := f.born(i)
		fleet = append(fleet, ec2sim.SeedInstance{
			ID: fmt.Sprintf("i-%017x", i+1), InstanceType: "t3.large", State: ec2sim.StateRunning, LaunchTime: born, AttachTime: born,
			Tags:    map[string]string{"aws:ec2launchtemplate:id": ids[p], cloud.TagProject: p, cloud.TagTemplate: "fedora"},
			Account: account, Region: region,
		})
	}
	for i := range f.notOurs {
		tags := map[string]string{"aws:ec2launchtemplate:id": foreign.ID, "team": "ci"}
		if i%2 == 1 {
			tags = map[string]string{cloud.TagProject: projectName(i % f.projects)}
		}
		fleet = append(fleet, ec2sim.SeedInstance{
			ID: fmt.Sprintf("%s%06x", notOursPrefix, i), InstanceType: "t3.large", State: ec2sim.StateRunning,
			LaunchTime: t0.Add(launchStart), AttachTime: t0.Add(launchStart), Tags: tags, Account: account, Region: region,
		})
	}
	w.sim.Seed(fleet)
	for _, in := range w.sim.Instances(account, region) {
		if strings.HasPrefix(in.ID, notOursPrefix) {
			lw.notOurs[in.ID] = in
		}
	}
	return lw
}

// runAt runs once at the emulator's time at and returns the calls it made
// and their lower bound (bench.LowerBound of what it observed and planned).
func (w *lifecycleWorld) runAt(ctx context.Context, at time.Time) lifecycleRun {
	w.tb.Helper()
	w.sim.SetNow(at)
	w.sim.ResetCalls()
	cfg := w.config()
	obs, plan, _ := w.run(ctx, cfg)
	run := lifecycleRun{at: at, calls: w.callsIn(w.regions[0]), bound: Calls{}}
	for _, rp := range plan.Regions {
		for _, ic := range rp.Instances {
			run.acted = run.acted || ic.Action != lifecycle.ActionKeep
		}
	}
	for i, snap := range obs.Snapshots {
		b := LowerBoundKnowing(snap, reconcile.LookupsFor(cfg, snap.Account, snap.Region), i == 0, plan.Regions[i], w.known)
		for a, n := range b {
			run.bound[a] += n
		}
	}
	w.learn(obs)
	return run
}

// writes reports whether a run changed anything in EC2.
func (r lifecycleRun) writes() bool {
	for a := range r.calls {
		if !strings.HasPrefix(a, "Describe") && a != stsAction {
			return true
		}
	}
	return false
}

// walk runs at every tick from the launch wave to until, as the scheduler
// would, and records the runs that wrote anything.
func (w *lifecycleWorld) walk(ctx context.Context, until time.Time) lifecycleResult {
	res := lifecycleResult{fleet: w.fleet}
	for at := t0.Add(tick); !at.After(until); at = at.Add(tick) {
		switch run := w.runAt(ctx, at); {
		case run.acted:
			res.runs = append(res.runs, run)
		case run.writes():
			res.reports = append(res.reports, run)
		default:
			res.steady++
			res.steadyCalls = run.calls.Total()
		}
	}
	w.endState(&res)
	return res
}

// endState counts ours terminated and the instances not ours untouched.
func (w *lifecycleWorld) endState(res *lifecycleResult) {
	w.sim.Advance(time.Minute) // shutting-down settles
	for _, in := range w.sim.Instances(account, w.regions[0]) {
		if was, ok := w.notOurs[in.ID]; ok {
			if in.State == was.State && maps.Equal(in.Tags, was.Tags) {
				res.untouched++
			}
			continue
		}
		if in.State == ec2sim.StateTerminated {
			res.terminated++
		}
	}
}

// firstTick is the first scheduled run at or after t.
func firstTick(t time.Time) time.Time {
	at := t.Truncate(tick)
	if at.Before(t) {
		at = at.Add(tick)
	}
	return at
}

// dueTicks are the scheduled runs at which the fleet's stages fall due,
// from the lifecycle settings: the warning once the last instance's warning
// window has opened, the stop once its deadline (its expiry, or min_notice
// after the warning if later) has passed, the termination once the
// stopped instances have been stopped for terminate_stopped_after (at least
// min_notice after the stop announced it).
func (f lifecycleFleet) dueTicks() []time.Time {
	last := f.born(f.ours - 1)
	warn := firstTick(last.Add(ttl - warnBefore))
	stop := firstTick(later(last.Add(ttl), warn.Add(minNotice)))
	terminate := firstTick(stop.Add(max(stoppedBefore, minNotice)))
	return []time.Time{warn, stop, terminate}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// SetNow sets the emulator's clock.
func (e *emulator) SetNow(t time.Time) {
	e.do("POST", "/_sim/clock", map[string]string{"now": t.Format(time.RFC3339)}, nil)
}

// Advance moves the emulator's clock forward by d.
func (e *emulator) Advance(d time.Duration) {
	e.do("POST", "/_sim/clock", map[string]string{"advance": d.String()}, nil)
}
