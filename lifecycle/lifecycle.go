// Package lifecycle decides, for one instance at a time, whether launchwarden
// keeps it, warns its team, stops it or terminates it: nothing dies without
// warning, and nothing runs forever.
//
// Decide is pure. It sees the instance, its project's policy, the last notice
// delivered (from the launchwarden:notice tag, its signature verified) and
// the time, and returns one Decision. Stages follow each other like this:
//
//   - A running instance is kept until WarnBefore before its expiry (Expiry).
//   - It is then warned: a Notice naming the OnExpiry stage (stop or terminate),
//     whose deadline is max(expiry, now+MinNotice).
//   - Once that notice was delivered and its deadline has passed, it is stopped
//     or terminated.
//   - A stopped instance is warned again, WarnBefore ahead of its termination,
//     which is due TerminateStoppedAfter after it stopped but never before its
//     expiry (a team that stops its instance early to save money keeps it
//     until the expiry it was promised). With OnExpiry terminate, a stopped
//     instance is terminated at its expiry.
//   - An instance started again at or after its expiry (a team restarting
//     what was stopped) is told "stopping again at now+RestartGrace": one
//     rule, whatever its notice tag holds, so that a restart buys the short
//     RestartGrace rather than another full MinNotice, and is announced.
//
// Admins' keeps and the states in flux (pending, stopping, shutting-down)
// hold everything; see Decide for the order of the rules.
//
// A Demand (over quota, disallowed type, orphan) adds a second stage that is
// due at once; the stage that falls due first wins (see Decide).
//
// The core invariant is "no surprises": Decide returns stop or terminate only
// when the last delivered notice names exactly that stage for this
// instance's project, counts for this instance (see Decide), and the
// deadline recomputed from it has passed. A notice holds no deadline: the
// deadline is max(floor, notice time + notice period) under the instance's
// own rules, the same the announcing run's digest gave, so one notice value
// serves all the instances of a project and stage announced in one run; a
// demand's notice names the demand's Scope too, and its period is
// max(Grace, MinNotice).
// Every deadline is at least MinNotice after the notice, so a notice that
// goes out late (Slack or launchwarden was down) moves the deadline, and the
// full notice period always holds. The one exception is a restart past
// expiry: the team already had the full notice for that expiry (or started
// an instance it could see had expired), so the new stop is announced
// RestartGrace ahead.
package lifecycle

import (
	"cmp"
	"fmt"
	"time"
)

// Action is what Decide tells the caller to do with an instance now, and also
// names the destructive stages that notices announce.
type Action string

// The actions. Only stop and terminate are stages a notice can announce.
const (
	ActionKeep      Action = "keep"      // do nothing
	ActionNotify    Action = "notify"    // deliver Decision.Notice, then record it in the notice tag
	ActionStop      Action = "stop"      // stop the instance
	ActionTerminate Action = "terminate" // terminate the instance
)

// Mode says how far launchwarden may go with a project's instances.
type Mode string

// The modes. The empty Mode is ModeEnforce (notices still always come first);
// any other unknown Mode is taken as ModeNotifyOnly, so that a mistake never
// destroys.
const (
	ModeEnforce    Mode = "enforce"     // stop and terminate as the policy says
	ModeStopOnly   Mode = "stop-only"   // terminate becomes stop; stopped instances are never terminated
	ModeNotifyOnly Mode = "notify-only" // send notices, never stop or terminate
)

// acts reports whether m allows stopping or terminating at all.
func (m Mode) acts() bool {
	return m == "" || m == ModeEnforce || m == ModeStopOnly
}

// EC2 instance state names.
const (
	stateRunning = "running"
	stateStopped = "stopped"
)

// Policy is a project's lifecycle configuration.
type Policy struct {
	// TTL is how long an instance lives from BornAt when it has no explicit expiry.
	// It should be positive: a zero TTL expires an instance at birth.
	TTL time.Duration
	// WarnBefore is how long before a stage's deadline its notice goes out.
	WarnBefore time.Duration
	// TerminateStoppedAfter is how long a stopped instance is kept before it is
	// terminated (when OnExpiry is stop). Zero keeps stopped instances forever.
	TerminateStoppedAfter time.Duration
	// MinNotice is the least time between a delivered notice and its action.
	MinNotice time.Duration
	// RestartGrace is how long an instance started again at or after its
	// expiry runs before it is stopped again, counted from the notice that
	// says so. Zero means MinNotice.
	RestartGrace time.Duration
	// MaxLifetime caps the expiry at BornAt+MaxLifetime, whatever the TTL or an
	// extension says. Zero means no cap.
	MaxLifetime time.Duration
	// OnExpiry is ActionStop or ActionTerminate; anything else means stop.
	OnExpiry Action
	// Mode limits what launchwarden may do.
	Mode Mode
}

// Instance is what Decide needs to know about one EC2 instance.
type Instance struct {
	ID string
	// Project is the instance's project: a notice for another project
	// never counts for it.
	Project string
	// State is the EC2 state name: pending, running, stopping, stopped,
	// shutting-down or terminated.
	State string
	// BornAt is a time that a stop/start cannot reset: the attach time of the
	// root volume or primary network interface. Age is counted from it.
	BornAt time.Time
	// StoppedAt is when the instance entered the stopped state; zero if unknown.
	StoppedAt time.Time
	// StartedAt is when the instance last entered the running state: EC2's
	// LaunchTime, which every start resets; zero if unknown. A notice whose
	// deadline passed before the last start was carried out by a stop (or
	// held back), so it does not count: a team that starts its instance again
	// is warned afresh rather than stopped on the strength of the old notice.
	StartedAt time.Time
	// ExpiresAt is an explicit expiry (tag launchwarden:expires-at, set at launch
	// or by an extension); zero if none.
	ExpiresAt time.Time
	// KeepUntil is an admin's protection (tag launchwarden:keep); zero if none.
	KeepUntil time.Time
	// Demand is an action required by something other than age; nil if none.
	Demand *Demand
}

// Demand is an action that something other than the instance's age requires:
// a quota violation, a disallowed instance type, an orphaned instance.
type Demand struct {
	// Action is ActionStop or ActionTerminate; other actions are ignored.
	Action Action
	// Reason says why, in words for the team: "over vCPU quota".
	Reason string
	// Grace is extra time before acting, e.g. the orphan grace period: the
	// deadline is at least the first notice plus max(Grace, MinNotice).
	Grace time.Duration
	// Scope names the demand for all the instances of the project it
	// applies to at once: "orphan:fedora" for the instances of a removed
	// template, "type:m5.large" for the running instances of a disallowed
	// type, "over-count" with Rank and Cutoff for the newest instances over
	// a quota. The caller gives a Scope only where, at any moment, every
	// instance of the project sharing it (and ranked within Cutoff) is
	// under the demand, so that a run's digest named all of them. Its notice is then one value for all
	// of them (Notice.Scope), and its deadline is recomputed like the
	// age-based stage's (see Decide). Empty, or not ValidScope: the notice
	// names the instance and carries its deadline.
	Scope string
	// Rank and Cutoff serve a demand that chooses some of the instances
	// sharing its Scope, in an order that does not change (over quota: the
	// newest first): Rank is the instance's place in that order, as a
	// string that sorts first-chosen first, and Cutoff the Rank of the last
	// instance chosen now. The notice records the Cutoff, and counts for an
	// instance whose Rank is at most the notice's: it was chosen then, so
	// the digest named it. Both empty for a demand on every instance of
	// its Scope.
	Rank, Cutoff string
}

// Decision is what to do with one instance now, and why.
type Decision struct {
	// Action is what to do now. ActionNotify means: deliver Notice, and record
	// it in the notice tag only once it was delivered.
	Action Action
	// Stage is the destructive stage in view (stop or terminate), or keep.
	Stage Action
	// Deadline is when Stage will be carried out; zero when Stage is keep.
	Deadline time.Time
	// Reason says why, in words for humans: "TTL 3d (born 2026-11-22T10:00:00Z)".
	Reason string
	// Notice is non-nil when a new or changed notice must be delivered before
	// anything else happens to the instance.
	Notice *Notice
	// ClearNotice is true when the recorded notice is obsolete (an extension,
	// a keep, a vanished demand or a stop took its stage out of view): the
	// caller removes the notice tag. It is set only with ActionKeep.
	ClearNotice bool
	// Next is when the decision will next change, for status; zero if it will
	// not change by time alone.
	Next time.Time
	// Then is set with ActionStop when the stopped instance will later be
	// terminated: the termination notice that goes out with the stop, dated
	// now, whose deadline is ThenDeadline (at least MinNotice away). The
	// caller tells the team in the same digest as the stop and records Then
	// once the stop is done; the lifecycle then takes three runs: warn,
	// stop (announcing the termination), terminate.
	Then         *Notice
	ThenDeadline time.Time
}

// Expiry returns when an instance's running life ends: its explicit ExpiresAt
// if set, else BornAt+TTL; either capped at BornAt+MaxLifetime when
// MaxLifetime is positive.
func Expiry(in Instance, p Policy) time.Time {
	e, _ := expiry(in, p)
	return e
}

// expiry returns the expiry and the reason it is what it is.
func expiry(in Instance, p Policy) (time.Time, string) {
	born := formatTime(in.BornAt)
	e, why := in.BornAt.Add(p.TTL), fmt.Sprintf("TTL %s (born %s)", formatDuration(p.TTL), born)
	if !in.ExpiresAt.IsZero() {
		e, why = in.ExpiresAt, "expires-at "+formatTime(in.ExpiresAt)
	}
	if p.MaxLifetime > 0 {
		if limit := in.BornAt.Add(p.MaxLifetime); limit.Before(e) {
			e, why = limit, fmt.Sprintf("max lifetime %s (born %s)", formatDuration(p.MaxLifetime), born)
		}
	}
	return e, why
}

// target is a destructive stage that the rules put ahead of an instance.
type target struct {
	stage Action
	// floor is the earliest deadline the rules allow, whenever the notice
	// went out.
	floor time.Time
	// warnAt is when the stage comes into view; zero for at once.
	warnAt time.Time
	// period is the least time between the first notice and the action.
	period time.Duration
	// byAge is true for the age-based stage, which a notice shared by the
	// instances of a project can announce; a demand's stage needs a notice
	// naming its scope, or naming the instance when scope is empty.
	byAge bool
	// scope, rank and cutoff are a demand's (see Demand).
	scope, rank, cutoff string
	// since is when the instance entered the state the stage follows from
	// (the stop, for the termination of a stopped instance); zero if unknown.
	since  time.Time
	reason string
}

// due is where a target stands at one moment, given the last notice.
type due struct {
	inView bool
	// announced is true when the last notice names this stage with a deadline
	// the rules still accept; deadline is then that notice's deadline.
	announced bool
	deadline  time.Time
}

// at evaluates t for in at now given the last delivered notice.
//
// A new notice is timed ceil(now) (RFC 3339 has whole seconds) and gets the
// deadline max(floor, ceil(now)+period), in UTC and rounded up to a whole
// second. A recorded notice is this stage's announcement if it counts (see
// counts); its deadline is then recomputed the same way from its own time,
// so it is the deadline that run's digest gave, unless the rules changed
// since (a shorter TTL, grace or notice period): then the new rules hold,
// but never less than period after the notice.
//
// A notice naming one instance (a demand without a scope, or one written by
// an earlier release) carries its deadline instead, and counts if that deadline lies between floor and the deadline a fresh notice
// would get: the lower bound keeps a notice made stale by an extension or a
// keep from being acted on early, the upper bound has a notice whose deadline
// is later than the rules now need announced again, so nothing runs forever.
func (t target) at(in Instance, last Notice, now time.Time) due {
	fresh := t.deadline(ceilSecond(now))
	if last.Instance != "" && t.countsBound(in, last, now) && !last.Deadline.Before(t.floor) && !last.Deadline.After(fresh) {
		return due{inView: true, announced: true, deadline: last.Deadline}
	}
	if last.Instance == "" && t.counts(in, last, now) {
		return due{inView: true, announced: true, deadline: t.deadline(last.At)}
	}
	return due{inView: !now.Before(t.warnAt), deadline: fresh}
}

// deadline is the deadline of this stage for a notice given at noticeAt.
func (t target) deadline(noticeAt time.Time) time.Time {
	return ceilSecond(later(t.floor, noticeAt.Add(t.period))).UTC()
}

// counts reports whether the recorded notice last announced stage t to in's
// team. It must name the stage and in's project, come from no later than
// now, and be no older than what in's team was told since: not before in
// was born, not before a keep ended, not before the state the stage follows
// from (the stop, for a stopped instance's termination), and not so old
// that its deadline passed before the instance was last started (a team
// that starts its instance again is warned afresh). A notice naming an
// instance counts for that instance only. A shared notice counts only for
// the age-based stage, and only if the stage was already in view at the
// notice's time: every instance of the project whose stage was in view was
// in that run's digest, so a notice copied onto another instance, or kept
// from before an extension, gains nothing.
//
// A termination notice that went out with a stop counts instead for the
// instance's termination once stopped, if the stop happened within
// withStopWindow after the notice's time: that run's digest named every
// instance it stopped, with its termination.
//
// A demand's notice counts only for the demand's stage with the same scope
// (every instance of the project under that demand at the notice's time
// was in that run's digest, see Demand.Scope), and a stop only for an
// instance running since no later than the notice's time: a stopped
// instance is under no stop demand, so one started since was not named,
// and its team is warned afresh. (An instance in flux during the announcing
// run, pending or stopping, was not named either; only a value copied from
// another instance could reach it, which the deny policy in deploy/iam keeps
// other principals from writing.)
func (t target) counts(in Instance, last Notice, now time.Time) bool {
	if last.WithStop {
		return t.byAge && t.stage == ActionTerminate && in.State == stateStopped && !in.StoppedAt.IsZero() &&
			!in.StoppedAt.Before(last.At.Add(-time.Second)) && !in.StoppedAt.After(last.At.Add(withStopWindow)) &&
			t.countsBound(in, last, now)
	}
	if !t.byAge {
		chosen := last.Cutoff == t.cutoff || (t.rank != "" && last.Cutoff != "" && t.rank <= last.Cutoff)
		return t.scope != "" && last.Scope == t.scope && chosen && t.countsBound(in, last, now) &&
			!(t.stage == ActionStop && in.StartedAt.After(last.At))
	}
	return last.Scope == "" && !last.At.Before(t.warnAt) && !last.At.Before(t.since) &&
		t.countsBound(in, last, now) && !(in.State == stateRunning && t.deadline(last.At).Before(in.StartedAt))
}

// countsBound is what every notice must meet, shared or naming an instance.
func (t target) countsBound(in Instance, last Notice, now time.Time) bool {
	switch {
	case last.IsZero() || last.Stage != t.stage || last.Project != in.Project:
		return false
	case last.Instance != "" && (last.Instance != in.ID || (in.State == stateRunning && last.Deadline.Before(in.StartedAt))):
		return false
	case last.At.After(ceilSecond(now)), last.At.Before(in.BornAt), last.At.Before(in.KeepUntil):
		return false
	}
	return true
}

// Decide returns what to do with in now, given its policy and the last notice
// delivered to its team (the zero Notice if none).
//
// In order:
//   - An instance that is not running or stopped is kept: pending, stopping
//     and shutting-down are in flux, terminated is done.
//   - While KeepUntil is in the future the instance is kept without notices,
//     and a recorded notice is cleared; after it, every deadline is at least
//     KeepUntil+MinNotice, so the team is warned again.
//   - The age-based stage (see the package comment) and the Demand's stage,
//     if any, are evaluated. Of those in view, the one whose deadline comes
//     first wins; on a tie, terminate beats stop, then a stage already
//     announced beats a new one. A demand is in view at once, so it wins
//     unless the age-based stage is due no later; when the age-based stage
//     wins over a demanded terminate, the demand applies again once the
//     instance is stopped.
//   - No stage in view: keep, and clear an obsolete notice.
//   - The winning stage not yet announced: notify, with the new Notice.
//   - Announced, deadline not reached: keep and wait.
//   - Announced, deadline reached: stop or terminate (keep in notify-only).
//
// In stop-only mode terminate becomes stop and a stopped instance is never
// terminated. When StoppedAt is unknown, the stop is taken to have happened at
// the later of BornAt and the expiry, the earliest time launchwarden itself
// could have stopped it, so that the instance is never terminated early.
//
// The deadline of a new notice counts from now, so the caller delivers it in
// the same run, sets the Notice's Run and records it only once delivered: if
// it cannot be delivered, the next run announces the stage again with a later
// deadline.
func Decide(in Instance, p Policy, last Notice, now time.Time) Decision {
	if in.State != stateRunning && in.State != stateStopped {
		return Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "state " + in.State}
	}
	if now.Before(in.KeepUntil) {
		return Decision{
			Action:      ActionKeep,
			Stage:       ActionKeep,
			Reason:      "kept until " + formatTime(in.KeepUntil),
			ClearNotice: !last.IsZero(),
			Next:        in.KeepUntil,
		}
	}

	targets, why := stagesOf(in, p)
	var (
		best    *target
		bestDue due
		next    time.Time
	)
	for i := range targets {
		t := &targets[i]
		d := t.at(in, last, now)
		if !d.inView {
			next = earliest(next, t.warnAt)
			continue
		}
		if best == nil || wins(*t, d, *best, bestDue) {
			best, bestDue = t, d
		}
	}

	if best == nil {
		reason := why
		if len(targets) > 0 {
			reason = targets[0].reason
		}
		return Decision{Action: ActionKeep, Stage: ActionKeep, Reason: reason, ClearNotice: !last.IsZero(), Next: next}
	}

	dec := Decision{Stage: best.stage, Deadline: bestDue.deadline, Reason: best.reason}
	switch {
	case !bestDue.announced:
		dec.Action = ActionNotify
		dec.Notice = &Notice{Stage: best.stage, At: ceilSecond(now).UTC(), Project: in.Project}
		switch {
		case best.byAge:
		case best.scope != "":
			dec.Notice.Scope, dec.Notice.Cutoff = best.scope, best.cutoff
		default:
			dec.Notice.Instance, dec.Notice.Deadline = in.ID, bestDue.deadline
		}
		dec.Next = earliest(next, bestDue.deadline)
	case now.Before(bestDue.deadline):
		dec.Action = ActionKeep
		dec.Next = earliest(next, bestDue.deadline)
	case !p.Mode.acts():
		dec.Action = ActionKeep
		dec.Reason += "; notify-only mode: not acting"
	default:
		dec.Action = best.stage
		if dec.Action == ActionStop {
			dec.Then, dec.ThenDeadline = afterStop(in, p, now)
		}
	}
	return dec
}

// withStopWindow is how long after a notice's time the stop it came with
// may have happened: the run stops its instances right after the digest.
const withStopWindow = time.Hour

// afterStop returns the termination notice that goes out with stopping in
// now, and its deadline: the age-based stage of in once stopped now, if it
// is a termination (nil when the policy keeps stopped instances).
func afterStop(in Instance, p Policy, now time.Time) (*Notice, time.Time) {
	at := ceilSecond(now).UTC()
	stopped := in
	stopped.State, stopped.StoppedAt, stopped.Demand = stateStopped, at, nil
	targets, _ := stagesOf(stopped, p)
	if len(targets) == 0 || !targets[0].byAge || targets[0].stage != ActionTerminate {
		return nil, time.Time{}
	}
	return &Notice{Stage: ActionTerminate, At: at, Project: in.Project, WithStop: true}, targets[0].deadline(at)
}

// wins reports whether stage a, due as da, takes precedence over b, due as db.
func wins(a target, da due, b target, db due) bool {
	if !da.deadline.Equal(db.deadline) {
		return da.deadline.Before(db.deadline)
	}
	if a.stage != b.stage {
		return a.stage == ActionTerminate
	}
	return da.announced && !db.announced
}

// stagesOf returns the stages the rules put ahead of in (the age-based one
// first), and when there is no age-based stage, why.
func stagesOf(in Instance, p Policy) ([]target, string) {
	// floor is the earliest deadline the rules allow: MinNotice after the
	// instance was born and after any keep ended. (That a notice from before
	// a restart does not count is for target.counts.)
	var floor time.Time
	if !in.BornAt.IsZero() {
		floor = in.BornAt.Add(p.MinNotice)
	}
	if !in.KeepUntil.IsZero() {
		floor = later(floor, in.KeepUntil.Add(p.MinNotice))
	}

	var out []target
	age, why := ageTarget(in, p)
	if age != nil {
		age.floor = later(age.floor, floor)
		out = append(out, *age)
	}
	if d := in.Demand; d != nil {
		stage := staged(d.Action, p.Mode)
		applies := stage == ActionTerminate || (stage == ActionStop && in.State == stateRunning)
		if applies {
			t := target{stage: stage, floor: floor, period: max(p.MinNotice, d.Grace), reason: d.Reason}
			ranked := d.Rank != "" && ValidScope(d.Cutoff) && d.Rank <= d.Cutoff
			if ValidScope(d.Scope) && (ranked || d.Rank == "" && d.Cutoff == "") {
				t.scope, t.rank, t.cutoff = d.Scope, d.Rank, d.Cutoff
			}
			out = append(out, t)
		}
	}
	return out, why
}

// ageTarget returns the stage that in's age puts ahead of it, or nil and why
// there is none.
func ageTarget(in Instance, p Policy) (*target, string) {
	exp, why := expiry(in, p)
	onExpiry := ActionStop
	if p.OnExpiry == ActionTerminate {
		onExpiry = ActionTerminate
	}
	onExpiry = staged(onExpiry, p.Mode)

	t := target{stage: onExpiry, floor: exp, period: p.MinNotice, byAge: true, reason: why}
	if restartedAfter(in, exp) && onExpiry == ActionStop {
		// Counted from the restart: no notice from before it counts,
		// whatever the tag holds, and the deadline is the notice's time
		// plus the grace.
		grace := cmp.Or(p.RestartGrace, p.MinNotice)
		t.floor, t.since, t.period = in.StartedAt, in.StartedAt, grace
		t.reason = fmt.Sprintf("started again at %s, after its expiry (%s): stopping again after the restart grace of %s",
			formatTime(in.StartedAt), why, formatDuration(grace))
	}
	if in.State == stateStopped {
		switch {
		case p.Mode == ModeStopOnly:
			return nil, "stopped; stop-only mode never terminates"
		case onExpiry == ActionTerminate:
			// Expiry means termination, running or not.
		case p.TerminateStoppedAfter <= 0:
			return nil, "stopped; stopped instances are kept"
		default:
			stopped, known := in.StoppedAt, "since"
			if stopped.IsZero() {
				stopped, known = later(in.BornAt, exp), "stop time unknown, counted from"
			}
			t = target{
				stage:  ActionTerminate,
				floor:  later(stopped.Add(p.TerminateStoppedAfter), exp),
				period: p.MinNotice,
				byAge:  true,
				since:  in.StoppedAt,
				reason: fmt.Sprintf("stopped for %s (%s %s)", formatDuration(p.TerminateStoppedAfter), known, formatTime(stopped)),
			}
		}
	}
	t.warnAt = t.floor.Add(-p.WarnBefore)
	return &t, ""
}

// restartedAfter reports whether in is running since a start at or after
// exp, its expiry, that was not its launch.
func restartedAfter(in Instance, exp time.Time) bool {
	return in.State == stateRunning && in.StartedAt.After(in.BornAt) && !in.StartedAt.Before(exp)
}

// staged maps a destructive action onto what mode allows.
func staged(a Action, m Mode) Action {
	if a == ActionTerminate && m == ModeStopOnly {
		return ActionStop
	}
	return a
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// earliest returns the earlier of a and b, treating zero as "never".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}
