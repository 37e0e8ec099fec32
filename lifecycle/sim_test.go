package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestFleetSimulation runs Decide over a simulated fleet for 10 days of hourly
// runs, with launches, extensions, keeps, demands, teams stopping and starting
// their instances, and a Slack that fails at random during the first 7 days,
// when some stops and terminations are also held back (the per-run cap).
// A notice counts as delivered only when the simulated Slack took it; only
// then is it recorded as the instance's notice tag.
//
// The harness keeps its own record of what was delivered when, and checks
// the promises against that rather than against Decide's bookkeeping:
//   - nothing is stopped or terminated unless the last notice delivered to its
//     team named that action, was neither withdrawn nor carried out since, was
//     delivered at least MinNotice earlier, and announced a deadline that has
//     passed; and, without a demand, not before its expiry;
//   - nothing is announced while KeepUntil is in the future, or acted on;
//   - nothing is done to instances in flux (pending, stopping, shutting-down)
//     or terminated;
//   - notify-only destroys nothing, stop-only terminates nothing;
//   - a notice is never the one already recorded, and gives at least MinNotice
//     (RestartGrace for the stop of an instance started again past expiry);
//   - once Slack works, nothing in enforce or stop-only mode runs (and, in
//     enforce mode, nothing stays stopped) much past its due time.
func TestFleetSimulation(t *testing.T) {
	var total simStats
	for seed := uint64(1); seed <= 32; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			st := simulate(t, seed)
			t.Logf("%+v", st)
			total.add(st)
		})
	}
	// The promises above are only worth checking if the fleet went through
	// every kind of event.
	t.Logf("total %+v", total)
	for name, n := range map[string]int{
		"delivered": total.delivered, "failed deliveries": total.failed, "held actions": total.held, "stops": total.stops,
		"terminates": total.terminates, "cleared notices": total.cleared, "late notices": total.late,
		"demand actions": total.demandActions, "acts after a keep": total.afterKeep, "restart notices": total.restarts,
	} {
		if n == 0 {
			t.Errorf("simulation never produced %s", name)
		}
	}
}

type simStats struct {
	delivered, failed, held, stops, terminates, cleared, late, demandActions, afterKeep int
	// restarts counts notices given the restart grace.
	restarts int
}

func (s *simStats) add(o simStats) {
	s.delivered += o.delivered
	s.failed += o.failed
	s.held += o.held
	s.stops += o.stops
	s.terminates += o.terminates
	s.cleared += o.cleared
	s.late += o.late
	s.demandActions += o.demandActions
	s.afterKeep += o.afterKeep
	s.restarts += o.restarts
}

type delivery struct {
	notice Notice
	at     time.Time
	// deadline is what the delivered digest said.
	deadline time.Time
}

type simInstance struct {
	in       Instance
	p        Policy
	launchAt time.Time
	launched bool
	// tag is the recorded launchwarden:notice tag.
	tag Notice
	// The harness's own record.
	deliveries []delivery
	spent      bool      // the last delivery was withdrawn or carried out since
	keptOnce   bool      // an admin kept it at some point
	demandGone time.Time // when a demand last went away
	// demandStopped is when a demand's stop was carried out.
	demandStopped time.Time
}

func randomPolicy(r *rand.Rand) Policy {
	pick := func(ds ...time.Duration) time.Duration { return ds[r.IntN(len(ds))] }
	const day = 24 * time.Hour
	p := Policy{
		TTL:                   pick(6*time.Hour, day, 2*day, 3*day, 5*day),
		WarnBefore:            pick(0, 2*time.Hour, day),
		MinNotice:             pick(time.Hour, 4*time.Hour, 12*time.Hour),
		RestartGrace:          pick(0, 30*time.Minute, time.Hour),
		TerminateStoppedAfter: pick(0, day, 3*day),
		MaxLifetime:           pick(0, 7*day),
		OnExpiry:              []Action{ActionStop, ActionTerminate}[r.IntN(2)],
		Mode:                  ModeEnforce,
	}
	switch r.IntN(5) {
	case 0:
		p.Mode = ModeStopOnly
	case 1:
		p.Mode = ModeNotifyOnly
	}
	return p
}

func simulate(t *testing.T, seed uint64) simStats {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	start := ts("2026-11-01T00:00:00Z")
	slackStable := start.Add(7 * 24 * time.Hour)
	const hours = 240

	fleet := make([]*simInstance, 60)
	for i := range fleet {
		launch := start.Add(time.Duration(r.Int64N(int64(9*24*time.Hour))) / time.Millisecond * time.Millisecond)
		fleet[i] = &simInstance{in: Instance{ID: fmt.Sprintf("i-%02d", i)}, p: randomPolicy(r), launchAt: launch}
	}

	var st simStats
	var slackDownUntil, now time.Time
	for h := range hours {
		now = start.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(60))*time.Second)
		if now.Before(slackStable) && r.IntN(30) == 0 {
			slackDownUntil = now.Add(time.Duration(1+r.IntN(12)) * time.Hour)
		}
		for _, s := range fleet {
			world(r, s, now)
		}
		for _, s := range fleet {
			if !s.launched {
				continue
			}
			d := Decide(s.in, s.p, s.tag, now)
			check(t, s, d, now)
			switch d.Action {
			case ActionNotify:
				if now.Before(slackDownUntil) || (now.Before(slackStable) && r.IntN(7) == 0) {
					st.failed++
					continue
				}
				st.delivered++
				if leastNotice(s, d) < s.p.MinNotice {
					st.restarts++
				}
				if d.Deadline.After(Expiry(s.in, s.p).Add(s.p.MinNotice)) {
					st.late++
				}
				s.deliveries = append(s.deliveries, delivery{notice: *d.Notice, at: now, deadline: d.Deadline})
				s.spent = false
				s.tag = *d.Notice
			case ActionStop, ActionTerminate:
				if now.Before(slackStable) && r.IntN(10) == 0 {
					st.held++ // held back by the per-run cap, or its digest failed
					continue
				}
				if s.in.Demand != nil && d.Reason == s.in.Demand.Reason {
					st.demandActions++
					if d.Action == ActionStop {
						s.demandStopped = now
					}
				}
				if s.keptOnce {
					st.afterKeep++
				}
				s.spent = true
				if d.Action == ActionStop {
					st.stops++
					s.in.State, s.in.StoppedAt = "stopping", now
					if d.Then != nil {
						// The stop's digest announced the termination too,
						// recorded once the stop was done.
						s.deliveries = append(s.deliveries, delivery{notice: *d.Then, at: now, deadline: d.ThenDeadline})
						s.tag, s.spent = *d.Then, false
					}
				} else {
					st.terminates++
					s.in.State = "shutting-down"
				}
			}
			if d.ClearNotice {
				st.cleared++
				s.tag = Notice{}
				s.spent = len(s.deliveries) > 0
			}
		}
	}
	for _, s := range fleet {
		checkDone(t, s, now, slackStable)
	}
	return st
}

// world applies what happens to an instance between runs, outside launchwarden.
func world(r *rand.Rand, s *simInstance, now time.Time) {
	in := &s.in
	switch {
	case !s.launched:
		if !now.Before(s.launchAt) {
			s.launched, in.State, in.BornAt, in.StartedAt = true, "pending", s.launchAt, s.launchAt
		}
		return
	case in.State == "terminated":
		return
	case in.State == "shutting-down":
		in.State = "terminated"
		return
	case in.State == "pending":
		in.State = "running"
	case in.State == "stopping":
		in.State = "stopped" // StoppedAt was set when it was stopped
	}
	if r.IntN(50) == 0 { // an extension
		in.ExpiresAt = later(Expiry(*in, s.p), now).Add(time.Duration(1+r.IntN(72)) * time.Hour).Truncate(time.Second)
	}
	if r.IntN(100) == 0 { // an admin's keep
		in.KeepUntil = now.Add(time.Duration(1+r.IntN(48)) * time.Hour).Truncate(time.Second)
		s.keptOnce = true
	}
	if r.IntN(30) == 0 { // a quota violation, orphaning, or its end
		if in.Demand == nil {
			in.Demand = &Demand{
				Action: []Action{ActionStop, ActionTerminate}[r.IntN(2)],
				Reason: "demand",
				Grace:  []time.Duration{0, 6 * time.Hour, 48 * time.Hour}[r.IntN(3)],
			}
		} else {
			in.Demand, s.demandGone = nil, now
		}
	}
	switch {
	case in.State == "running" && r.IntN(100) == 0: // the team stops it
		in.State, in.StoppedAt = "stopped", now
		if r.IntN(3) == 0 {
			in.StoppedAt = time.Time{} // EC2 did not say when
		}
	case in.State == "stopped" && r.IntN(30) == 0: // the team starts it again
		in.State, in.StoppedAt, in.StartedAt = "running", time.Time{}, now
	}
}

// leastNotice is the least time the harness accepts between a notice and
// the action of decision d: MinNotice, but only RestartGrace (MinNotice if
// unset) for the age-based stop of an instance its team started again at
// or after its expiry.
func leastNotice(s *simInstance, d Decision) time.Duration {
	in, p := s.in, s.p
	restarted := in.State == "running" && in.StartedAt.After(in.BornAt) && !in.StartedAt.Before(Expiry(in, p))
	byDemand := in.Demand != nil && d.Reason == in.Demand.Reason
	if restarted && !byDemand && d.Stage == ActionStop {
		if p.RestartGrace > 0 {
			return p.RestartGrace
		}
	}
	return p.MinNotice
}

// check asserts the promises about one decision, from the harness's record.
func check(t *testing.T, s *simInstance, d Decision, now time.Time) {
	t.Helper()
	id, p := s.in.ID, s.p
	if d.ClearNotice && d.Action != ActionKeep {
		t.Errorf("%s at %s: ClearNotice with action %s", id, formatTime(now), d.Action)
	}
	if st := s.in.State; st != "running" && st != "stopped" && (d.Action != ActionKeep || d.Notice != nil || d.ClearNotice) {
		t.Errorf("%s at %s: %s, but decided %+v", id, formatTime(now), st, d)
	}
	if now.Before(s.in.KeepUntil) && (d.Action != ActionKeep || d.Notice != nil) {
		t.Errorf("%s at %s: kept until %s but decided %+v", id, formatTime(now), formatTime(s.in.KeepUntil), d)
	}
	if n := d.Notice; n != nil {
		switch {
		case d.Action != ActionNotify:
			t.Errorf("%s at %s: notice with action %s", id, formatTime(now), d.Action)
		case *n == s.tag:
			t.Errorf("%s at %s: announces %s again", id, formatTime(now), n)
		case d.Deadline.Before(now.Add(leastNotice(s, d))):
			t.Errorf("%s at %s: notice %s gives less than %s", id, formatTime(now), n, leastNotice(s, d))
		case n.Stage != ActionStop && n.Stage != ActionTerminate:
			t.Errorf("%s at %s: notice %s names no destructive stage", id, formatTime(now), n)
		case p.Mode == ModeStopOnly && n.Stage == ActionTerminate:
			t.Errorf("%s at %s: stop-only announces %s", id, formatTime(now), n)
		}
	}
	if d.Action != ActionStop && d.Action != ActionTerminate {
		return
	}
	switch {
	case p.Mode == ModeNotifyOnly:
		t.Errorf("%s at %s: notify-only mode, decided %s", id, formatTime(now), d.Action)
	case p.Mode == ModeStopOnly && d.Action == ActionTerminate:
		t.Errorf("%s at %s: stop-only mode, decided terminate", id, formatTime(now))
	case d.Action == ActionStop && s.in.State != "running":
		t.Errorf("%s at %s: stop of a %s instance", id, formatTime(now), s.in.State)
	case len(s.deliveries) == 0:
		t.Errorf("%s at %s: %s without any notice delivered", id, formatTime(now), d.Action)
	default:
		last := s.deliveries[len(s.deliveries)-1]
		switch {
		case s.spent:
			t.Errorf("%s at %s: %s after the notice %s was withdrawn or carried out", id, formatTime(now), d.Action, last.notice)
		case s.in.Demand == nil && now.Before(Expiry(s.in, p)):
			t.Errorf("%s at %s: %s before its expiry %s", id, formatTime(now), d.Action, formatTime(Expiry(s.in, p)))
		case last.notice.Stage != d.Action:
			t.Errorf("%s at %s: %s, but the last notice delivered was %s", id, formatTime(now), d.Action, last.notice)
		case now.Sub(last.at) < leastNotice(s, d):
			t.Errorf("%s at %s: %s only %s after notice %s", id, formatTime(now), d.Action, now.Sub(last.at), last.notice)
		case now.Before(last.deadline):
			t.Errorf("%s at %s: %s before the announced deadline of %s", id, formatTime(now), d.Action, last.notice)
		}
	}
}

// checkDone asserts that, by the end of the simulation, nothing in enforce or
// stop-only mode runs long past its due time, and nothing in enforce mode
// stays stopped long past its due time. A stage comes due at its rule's
// deadline, or later if a keep, the last start or Slack's outages held the
// notice back, or if a demand that won with another stage went away (there
// is one notice at a time, and an action needs a notice naming it); it is
// then carried out within MinNotice plus two hourly runs.
func checkDone(t *testing.T, s *simInstance, end, slackStable time.Time) {
	t.Helper()
	in, p := s.in, s.p
	if !s.launched || p.Mode == ModeNotifyOnly {
		return
	}
	exp := Expiry(in, p)
	held := latest(in.KeepUntil, slackStable, in.StartedAt, s.demandGone)
	slack := p.MinNotice + 2*time.Hour
	switch in.State {
	case "running":
		if due := latest(exp, held).Add(slack); due.Before(end) {
			t.Errorf("%s still running at %s, due by %s (%+v, policy %+v)", in.ID, formatTime(end), formatTime(due), in, p)
		}
	case "stopped":
		if p.Mode != ModeEnforce || (p.OnExpiry != ActionTerminate && p.TerminateStoppedAfter == 0) {
			return
		}
		rule := exp
		if p.OnExpiry != ActionTerminate {
			stopped := in.StoppedAt
			if stopped.IsZero() {
				stopped = later(in.BornAt, exp)
			}
			rule = later(stopped.Add(p.TerminateStoppedAfter), exp)
		}
		// A demand's stop won over the age-based termination: that is
		// announced once the instance is stopped.
		if due := latest(rule, held, s.demandStopped).Add(slack); due.Before(end) {
			t.Errorf("%s still stopped at %s, due for termination by %s (%+v, policy %+v)", in.ID, formatTime(end), formatTime(due), in, p)
		}
	}
}

func latest(times ...time.Time) time.Time {
	var l time.Time
	for _, t := range times {
		l = later(l, t)
	}
	return l
}
