package lifecycle

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The reference instance: born 2026-11-22T10:00:00Z, TTL 3d, so it expires at
// 2026-11-25T10:00:00Z and is warned from 2026-11-24T10:00:00Z (warn_before
// 1d); min_notice is 12h, stopped instances are terminated after 7d.
const (
	bornAt    = "2026-11-22T10:00:00Z"
	warnAt    = "2026-11-24T10:00:00Z"
	expiresAt = "2026-11-25T10:00:00Z"
	ttlReason = "TTL 3d (born 2026-11-22T10:00:00Z)"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func policy() Policy {
	return Policy{
		TTL:                   72 * time.Hour,
		WarnBefore:            24 * time.Hour,
		TerminateStoppedAfter: 7 * 24 * time.Hour,
		MinNotice:             12 * time.Hour,
		RestartGrace:          time.Hour,
		OnExpiry:              ActionStop,
		Mode:                  ModeEnforce,
	}
}

// restartReason is the reason of an instance started again at start, after
// the reference expiry, with the given restart grace.
func restartReason(start, grace string) string {
	return "started again at " + start + ", after its expiry (" + ttlReason + "): stopping again after the restart grace of " + grace
}

func running() Instance {
	return Instance{ID: "i-1", Project: "packit", State: "running", BornAt: ts(bornAt)}
}

func stoppedAt(at string) Instance {
	in := running()
	in.State = "stopped"
	if at != "" {
		in.StoppedAt = ts(at)
	}
	return in
}

// notice is a notice of packit's digest given at "at", shared by the
// instances it announced.
func notice(stage Action, at string) Notice {
	return Notice{Stage: stage, At: ts(at), Project: "packit", Run: "r1"}
}

// bound is a notice about instance i-1 alone (a demand's), with the
// deadline it gave.
func bound(stage Action, at, deadline string) Notice {
	n := notice(stage, at)
	n.Instance, n.Deadline = "i-1", ts(deadline)
	return n
}

// noticePtr is the notice a decision asks to deliver: dated at the
// decision's time, and naming the instance for a demand, which the test
// loop fills in.
func noticePtr(stage Action) *Notice { return &Notice{Stage: stage, Project: "packit"} }

// with2 returns n naming another instance.
func with2(n Notice, id string) Notice {
	n.Instance = id
	return n
}

func withPolicy(f func(*Policy)) Policy {
	p := policy()
	f(&p)
	return p
}

func with(in Instance, f func(*Instance)) Instance {
	f(&in)
	return in
}

func TestDecide(t *testing.T) {
	stopReason := "stopped for 7d (since 2026-11-25T10:00:00Z)"
	tests := []struct {
		name string
		in   Instance
		p    Policy
		last Notice
		now  string
		want Decision
	}{
		// Running, age-based stop.
		{
			name: "within TTL, 1s before warn time",
			in:   running(), p: policy(), now: "2026-11-24T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: ttlReason, Next: ts(warnAt)},
		},
		{
			name: "at warn time: notify with the expiry as deadline",
			in:   running(), p: policy(), now: warnAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts(expiresAt)},
		},
		{
			name: "1s after warn time: same notice",
			in:   running(), p: policy(), now: "2026-11-24T10:00:01Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts(expiresAt)},
		},
		{
			name: "announced: no second notice",
			in:   running(), p: policy(), last: notice(ActionStop, warnAt), now: "2026-11-24T18:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason, Next: ts(expiresAt)},
		},
		{
			name: "announced, 1s before deadline: wait",
			in:   running(), p: policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason, Next: ts(expiresAt)},
		},
		{
			name: "announced, at deadline: stop",
			in:   running(), p: policy(), last: notice(ActionStop, warnAt), now: expiresAt,
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "announced, 1s after deadline: stop",
			in:   running(), p: policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T10:00:01Z",
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "first notice exactly min_notice before expiry keeps the expiry",
			in:   running(), p: policy(), now: "2026-11-24T22:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts(expiresAt)},
		},
		{
			name: "late first notice 1s inside min_notice moves the deadline by 1s",
			in:   running(), p: policy(), now: "2026-11-24T22:00:01Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T10:00:01Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T10:00:01Z")},
		},
		{
			name: "late notice after expiry (Slack was down): deadline is now+min_notice",
			in:   running(), p: policy(), now: "2026-11-25T15:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-26T03:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-26T03:00:00Z")},
		},
		{
			name: "sub-second now: deadline rounded up to a whole second",
			in:   running(), p: policy(), now: "2026-11-25T15:00:00.25Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-26T03:00:01Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-26T03:00:01Z")},
		},
		{
			name: "late notice, 1s before its moved deadline: wait",
			in:   running(), p: policy(), last: notice(ActionStop, "2026-11-25T15:00:00Z"), now: "2026-11-26T02:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts("2026-11-26T03:00:00Z"), Reason: ttlReason,
				Next: ts("2026-11-26T03:00:00Z")},
		},
		{
			name: "late notice, at its moved deadline: stop",
			in:   running(), p: policy(), last: notice(ActionStop, "2026-11-25T15:00:00Z"), now: "2026-11-26T03:00:00Z",
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts("2026-11-26T03:00:00Z"), Reason: ttlReason},
		},

		// Extensions and stale or edited notices.
		{
			name: "extension inside the warn window: announce the new deadline",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-25T16:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T09:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T21:00:00Z"),
				Reason: "expires-at 2026-11-25T16:00:00Z", Notice: noticePtr(ActionStop),
				Next: ts("2026-11-25T21:00:00Z")},
		},
		{
			name: "extension beyond the warn window: notice obsolete, clear it",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-28T10:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T09:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "expires-at 2026-11-28T10:00:00Z",
				ClearNotice: true, Next: ts("2026-11-27T10:00:00Z")},
		},
		{
			name: "expiry shortened after the notice: the new expiry holds",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-25T04:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-24T22:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts("2026-11-25T04:00:00Z"),
				Reason: "expires-at 2026-11-25T04:00:00Z", Next: ts("2026-11-25T04:00:00Z")},
		},
		{
			name: "expiry shortened well before the notice's period ends: min_notice after the notice holds",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-24T14:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-24T11:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts("2026-11-24T22:00:00Z"),
				Reason: "expires-at 2026-11-24T14:00:00Z", Next: ts("2026-11-24T22:00:00Z")},
		},
		{
			name: "max lifetime caps an extension",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-12-30T10:00:00Z") }),
			p:    withPolicy(func(p *Policy) { p.MaxLifetime = 5 * 24 * time.Hour }), now: "2026-11-26T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-27T10:00:00Z"),
				Reason: "max lifetime 5d (born 2026-11-22T10:00:00Z)", Notice: noticePtr(ActionStop),
				Next: ts("2026-11-27T10:00:00Z")},
		},
		{
			name: "edited notice with a deadline before expiry: refuse to act, announce again",
			in:   running(), p: policy(), last: notice(ActionStop, "2026-11-24T09:59:59Z"), now: "2026-11-24T12:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts(expiresAt)},
		},
		{
			name: "notice given 1s before expiry: its deadline is min_notice after it",
			in:   running(), p: policy(), last: notice(ActionStop, "2026-11-25T09:59:59Z"), now: "2026-11-25T10:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts("2026-11-25T21:59:59Z"), Reason: ttlReason,
				Next: ts("2026-11-25T21:59:59Z")},
		},

		// Shared notices: what a copied, foreign or stale notice is worth.
		{
			name: "notice at warn time counts",
			in:   running(), p: policy(), last: notice(ActionStop, warnAt), now: expiresAt,
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "notice 1s before warn time (copied from an instance further along): announce",
			in:   running(), p: policy(), last: notice(ActionStop, "2026-11-24T09:59:59Z"), now: expiresAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:00:00Z")},
		},
		{
			name: "notice of another project: announce",
			in:   with(running(), func(in *Instance) { in.Project = "cockpit" }),
			p:    policy(), last: notice(ActionStop, warnAt), now: expiresAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: &Notice{Stage: ActionStop, Project: "cockpit"}, Next: ts("2026-11-25T22:00:00Z")},
		},
		{
			name: "notice dated 1s after now (edited time, clock skew): announce",
			in:   running(), p: policy(), last: notice(ActionStop, "2026-11-25T10:00:01Z"), now: expiresAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:00:00Z")},
		},
		{
			name: "notice dated before the instance was born (copied): announce",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-22T12:00:00Z") }),
			p:    policy(), last: notice(ActionStop, "2026-11-22T09:59:59Z"), now: "2026-11-23T00:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-23T12:00:00Z"), Reason: "expires-at 2026-11-22T12:00:00Z",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-23T12:00:00Z")},
		},
		{
			name: "notice dated at birth counts",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-22T12:00:00Z") }),
			p:    policy(), last: notice(ActionStop, bornAt), now: "2026-11-23T00:00:00Z",
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts("2026-11-22T22:00:00Z"), Reason: "expires-at 2026-11-22T12:00:00Z"},
		},
		{
			name: "notice 1s before a keep ended: announce",
			in:   with(running(), func(in *Instance) { in.KeepUntil = ts("2026-11-24T12:00:00Z") }),
			p:    policy(), last: notice(ActionStop, "2026-11-24T11:59:59Z"), now: expiresAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:00:00Z")},
		},
		{
			name: "notice at the end of a keep counts",
			in:   with(running(), func(in *Instance) { in.KeepUntil = ts("2026-11-24T12:00:00Z") }),
			p:    policy(), last: notice(ActionStop, "2026-11-24T12:00:00Z"), now: expiresAt,
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "notice from before an extension (copied back): announce the new expiry",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-26T10:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-26T10:00:00Z"), Reason: "expires-at 2026-11-26T10:00:00Z",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-26T10:00:00Z")},
		},
		{
			name: "shared notice for an over-quota instance: a demand needs a notice naming it",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), last: notice(ActionStop, "2026-11-22T12:00:00Z"), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "over vCPU quota",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "notice naming another instance: announce",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), last: with2(bound(ActionStop, "2026-11-23T10:00:00Z", "2026-11-23T22:00:00Z"), "i-2"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-24T10:00:00Z"), Reason: "over vCPU quota",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-24T10:00:00Z")},
		},
		{
			name: "stopped: a termination notice from before the stop does not count",
			in:   with(stoppedAt("2026-11-30T12:00:00Z"), func(in *Instance) {}),
			p:    withPolicy(func(p *Policy) { p.TerminateStoppedAfter = time.Hour }), last: notice(ActionTerminate, "2026-11-30T11:59:59Z"), now: "2026-11-30T13:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-01T01:00:00Z"), Reason: "stopped for 1h (since 2026-11-30T12:00:00Z)",
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-01T01:00:00Z")},
		},
		{
			name: "edited notice in the far future: announce the real deadline",
			in:   running(), p: policy(), last: notice(ActionStop, "2099-01-01T00:00:00Z"), now: "2026-11-25T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:00:00Z")},
		},
		{
			name: "notice names another stage: announce this one",
			in:   running(), p: policy(), last: notice(ActionTerminate, warnAt), now: expiresAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:00:00Z")},
		},

		// Started again: one rule past expiry, whatever the notice tag holds.
		{
			name: "started again at its expiry, spent notice still tagged: stopping again after restart_grace",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T10:30:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T11:30:00Z"), Reason: restartReason(expiresAt, "1h"),
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T11:30:00Z")},
		},
		{
			name: "started again at its expiry, notice tag cleared: the same",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    policy(), now: "2026-11-25T10:30:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T11:30:00Z"), Reason: restartReason(expiresAt, "1h"),
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T11:30:00Z")},
		},
		{
			name: "started again 1s before its expiry, no notice: the ordinary rule, full min_notice",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts("2026-11-25T09:59:59Z") }),
			p:    policy(), now: "2026-11-25T10:30:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:30:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:30:00Z")},
		},
		{
			name: "started again 1s after its expiry, seen at once: deadline start+restart_grace",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts("2026-11-25T10:00:01Z") }),
			p:    policy(), now: "2026-11-25T10:00:01Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T11:00:01Z"), Reason: restartReason("2026-11-25T10:00:01Z", "1h"),
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T11:00:01Z")},
		},
		{
			name: "restart announced, 1s before its deadline: wait",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    policy(), last: notice(ActionStop, "2026-11-25T10:30:00Z"), now: "2026-11-25T11:29:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts("2026-11-25T11:30:00Z"), Reason: restartReason(expiresAt, "1h"),
				Next: ts("2026-11-25T11:30:00Z")},
		},
		{
			name: "restart announced, at its deadline: stop",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    policy(), last: notice(ActionStop, "2026-11-25T10:30:00Z"), now: "2026-11-25T11:30:00Z",
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts("2026-11-25T11:30:00Z"), Reason: restartReason(expiresAt, "1h")},
		},
		{
			name: "a notice 1s before the restart does not count: announce again",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    policy(), last: notice(ActionStop, "2026-11-25T09:59:59Z"), now: "2026-11-25T11:30:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T12:30:00Z"), Reason: restartReason(expiresAt, "1h"),
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T12:30:00Z")},
		},
		{
			name: "started yet again a day later: another restart_grace, not another min_notice",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts("2026-11-26T08:00:00Z") }),
			p:    policy(), last: notice(ActionStop, "2026-11-25T10:30:00Z"), now: "2026-11-26T08:10:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-26T09:10:00Z"), Reason: restartReason("2026-11-26T08:00:00Z", "1h"),
				Notice: noticePtr(ActionStop), Next: ts("2026-11-26T09:10:00Z")},
		},
		{
			name: "restart_grace unset: min_notice",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    withPolicy(func(p *Policy) { p.RestartGrace = 0 }), now: "2026-11-25T10:30:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:30:00Z"), Reason: restartReason(expiresAt, "12h"),
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:30:00Z")},
		},
		{
			name: "extended after the restart: the ordinary rule again",
			in: with(running(), func(in *Instance) {
				in.StartedAt, in.ExpiresAt = ts(expiresAt), ts("2026-11-28T10:00:00Z")
			}),
			p: policy(), now: "2026-11-25T10:30:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "expires-at 2026-11-28T10:00:00Z", Next: ts("2026-11-27T10:00:00Z")},
		},
		{
			name: "on_expiry terminate, started again past expiry: terminate with the full min_notice",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts(expiresAt) }),
			p:    withPolicy(func(p *Policy) { p.OnExpiry = ActionTerminate }), now: "2026-11-25T10:30:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-25T22:30:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-11-25T22:30:00Z")},
		},
		{
			name: "started again before the deadline: the notice stands",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts("2026-11-25T09:30:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: expiresAt,
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},

		// Stopped instances.
		{
			name: "just stopped: stop notice done with, clear it",
			in:   stoppedAt(expiresAt), p: policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T11:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: stopReason, ClearNotice: true,
				Next: ts("2026-12-01T10:00:00Z")},
		},
		{
			name: "stopped, 1s before terminate warning",
			in:   stoppedAt(expiresAt), p: policy(), now: "2026-12-01T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: stopReason, Next: ts("2026-12-01T10:00:00Z")},
		},
		{
			name: "stopped, at terminate warning: notify terminate",
			in:   stoppedAt(expiresAt), p: policy(), now: "2026-12-01T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"), Reason: stopReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-02T10:00:00Z")},
		},
		{
			name: "stopped, terminate announced, 1s before deadline: wait",
			in:   stoppedAt(expiresAt), p: policy(), last: notice(ActionTerminate, "2026-12-01T10:00:00Z"), now: "2026-12-02T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"), Reason: stopReason,
				Next: ts("2026-12-02T10:00:00Z")},
		},
		{
			name: "stopped, terminate announced, at deadline: terminate",
			in:   stoppedAt(expiresAt), p: policy(), last: notice(ActionTerminate, "2026-12-01T10:00:00Z"), now: "2026-12-02T10:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"), Reason: stopReason},
		},
		{
			name: "stopped, only the stop notice recorded at the terminate deadline: notify, do not terminate",
			in:   stoppedAt(expiresAt), p: policy(), last: notice(ActionStop, warnAt), now: "2026-12-02T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-02T22:00:00Z"), Reason: stopReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-02T22:00:00Z")},
		},
		{
			name: "stopped, stop time unknown: counted from the expiry",
			in:   stoppedAt(""), p: policy(), now: "2026-12-01T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"),
				Reason: "stopped for 7d (stop time unknown, counted from 2026-11-25T10:00:00Z)",
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-02T10:00:00Z")},
		},
		{
			name: "stopped early by its team: not terminated before its expiry",
			in:   stoppedAt("2026-11-22T12:00:00Z"),
			p:    withPolicy(func(p *Policy) { p.TerminateStoppedAfter = 24 * time.Hour }), now: warnAt,
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts(expiresAt),
				Reason: "stopped for 1d (since 2026-11-22T12:00:00Z)",
				Notice: noticePtr(ActionTerminate), Next: ts(expiresAt)},
		},
		{
			name: "stopped, terminate_stopped_after unset: kept",
			in:   stoppedAt(expiresAt), p: withPolicy(func(p *Policy) { p.TerminateStoppedAfter = 0 }), now: "2027-01-01T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "stopped; stopped instances are kept"},
		},

		// on_expiry = terminate.
		{
			name: "on_expiry terminate: warn for terminate",
			in:   running(), p: withPolicy(func(p *Policy) { p.OnExpiry = ActionTerminate }), now: warnAt,
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionTerminate), Next: ts(expiresAt)},
		},
		{
			name: "on_expiry terminate: terminate at deadline",
			in:   running(), p: withPolicy(func(p *Policy) { p.OnExpiry = ActionTerminate }),
			last: notice(ActionTerminate, warnAt), now: expiresAt,
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "on_expiry terminate, stopped by its team: terminated at expiry all the same",
			in:   stoppedAt("2026-11-23T10:00:00Z"), p: withPolicy(func(p *Policy) { p.OnExpiry = ActionTerminate }),
			last: notice(ActionTerminate, warnAt), now: expiresAt,
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts(expiresAt), Reason: ttlReason},
		},

		// Modes.
		{
			name: "stop-only: terminate becomes stop",
			in:   running(), p: withPolicy(func(p *Policy) { p.OnExpiry = ActionTerminate; p.Mode = ModeStopOnly }),
			last: notice(ActionStop, warnAt), now: expiresAt,
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "stop-only: a stopped instance is never terminated",
			in:   stoppedAt(expiresAt), p: withPolicy(func(p *Policy) { p.Mode = ModeStopOnly }),
			last: notice(ActionTerminate, "2026-12-01T10:00:00Z"), now: "2027-01-01T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "stopped; stop-only mode never terminates", ClearNotice: true},
		},
		{
			name: "notify-only: warns",
			in:   running(), p: withPolicy(func(p *Policy) { p.Mode = ModeNotifyOnly }), now: warnAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts(expiresAt)},
		},
		{
			name: "notify-only: never stops",
			in:   running(), p: withPolicy(func(p *Policy) { p.Mode = ModeNotifyOnly }),
			last: notice(ActionStop, warnAt), now: "2026-11-30T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts(expiresAt),
				Reason: ttlReason + "; notify-only mode: not acting"},
		},
		{
			name: "unknown mode is taken as notify-only",
			in:   running(), p: withPolicy(func(p *Policy) { p.Mode = "enforcing" }),
			last: notice(ActionStop, warnAt), now: "2026-11-30T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts(expiresAt),
				Reason: ttlReason + "; notify-only mode: not acting"},
		},
		{
			name: "empty mode enforces",
			in:   running(), p: withPolicy(func(p *Policy) { p.Mode = "" }),
			last: notice(ActionStop, warnAt), now: expiresAt,
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason},
		},
		{
			name: "unknown on_expiry means stop",
			in:   running(), p: withPolicy(func(p *Policy) { p.OnExpiry = "destroy" }), now: warnAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts(expiresAt)},
		},

		// Keep.
		{
			name: "kept: no notice, recorded notice cleared",
			in:   with(running(), func(in *Instance) { in.KeepUntil = ts("2026-12-01T00:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-30T23:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "kept until 2026-12-01T00:00:00Z",
				ClearNotice: true, Next: ts("2026-12-01T00:00:00Z")},
		},
		{
			name: "keep ended: warned again with the full notice period",
			in:   with(running(), func(in *Instance) { in.KeepUntil = ts("2026-12-01T00:00:00Z") }),
			p:    policy(), now: "2026-12-01T00:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-12-01T12:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-12-01T12:00:00Z")},
		},
		{
			name: "keep ended with a notice from before it still recorded: not acted on",
			in:   with(running(), func(in *Instance) { in.KeepUntil = ts("2026-12-01T00:00:00Z") }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-12-01T06:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-12-01T18:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-12-01T18:00:00Z")},
		},

		// States in flux.
		{
			name: "pending", in: with(running(), func(in *Instance) { in.State = "pending" }), p: policy(),
			last: notice(ActionStop, warnAt), now: "2026-12-01T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "state pending"},
		},
		{
			name: "stopping", in: with(running(), func(in *Instance) { in.State = "stopping" }), p: policy(),
			last: notice(ActionStop, warnAt), now: "2026-12-01T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "state stopping"},
		},
		{
			name: "shutting-down", in: with(running(), func(in *Instance) { in.State = "shutting-down" }), p: policy(),
			now:  "2026-12-01T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "state shutting-down"},
		},
		{
			name: "terminated", in: with(running(), func(in *Instance) { in.State = "terminated" }), p: policy(),
			last: notice(ActionTerminate, warnAt), now: "2026-12-01T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "state terminated"},
		},

		// Demands.
		{
			name: "quota demand within TTL: notify stop after min_notice",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "over vCPU quota",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "quota demand announced, 1s before deadline: wait",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), last: bound(ActionStop, "2026-11-23T10:00:00Z", "2026-11-23T22:00:00Z"), now: "2026-11-23T21:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "over vCPU quota",
				Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "quota demand announced, at deadline: stop",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), last: bound(ActionStop, "2026-11-23T10:00:00Z", "2026-11-23T22:00:00Z"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "over vCPU quota"},
		},
		{
			name: "quota back within limits: notice obsolete, clear it",
			in:   running(), p: policy(), last: bound(ActionStop, "2026-11-23T10:00:00Z", "2026-11-23T22:00:00Z"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: ttlReason, ClearNotice: true, Next: ts(warnAt)},
		},
		{
			name: "orphan: terminate after the grace period",
			in: with(running(), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "orphan: project removed", Grace: 7 * 24 * time.Hour}
			}),
			p: policy(), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"),
				Reason: "orphan: project removed", Notice: noticePtr(ActionTerminate),
				Next: ts("2026-11-24T10:00:00Z")},
		},
		{
			name: "orphan grace announced, 1s before its end: wait",
			in: with(stoppedAt(expiresAt), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "orphan: project removed", Grace: 7 * 24 * time.Hour}
			}),
			p: policy(), last: bound(ActionTerminate, "2026-11-23T10:00:00Z", "2026-11-30T10:00:00Z"), now: "2026-11-30T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"),
				Reason: "orphan: project removed", Next: ts("2026-11-30T10:00:00Z")},
		},
		{
			name: "orphan grace over: terminate",
			in: with(stoppedAt(expiresAt), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "orphan: project removed", Grace: 7 * 24 * time.Hour}
			}),
			p: policy(), last: bound(ActionTerminate, "2026-11-23T10:00:00Z", "2026-11-30T10:00:00Z"), now: "2026-11-30T10:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"),
				Reason: "orphan: project removed"},
		},
		{
			name: "orphan grace shorter than min_notice: min_notice holds",
			in: with(running(), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "orphan: project removed", Grace: time.Hour}
			}),
			p: policy(), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-23T22:00:00Z"),
				Reason: "orphan: project removed", Notice: noticePtr(ActionTerminate),
				Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "edited demand notice dated before the instance could be warned: announce again",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), last: bound(ActionStop, "2026-11-22T09:59:59Z", "2026-11-22T21:59:59Z"), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "over vCPU quota",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "demand due after an announced age stop: the earlier stop stands",
			in: with(running(), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "over instance quota"}
			}),
			p: policy(), last: notice(ActionStop, warnAt), now: "2026-11-25T00:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionStop, Deadline: ts(expiresAt), Reason: ttlReason, Next: ts(expiresAt)},
		},
		{
			name: "demanded terminate due with the age stop: terminate beats stop",
			in: with(running(), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "over instance quota"}
			}),
			p: policy(), now: "2026-11-24T22:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts(expiresAt), Reason: "over instance quota",
				Notice: noticePtr(ActionTerminate), Next: ts(expiresAt)},
		},
		{
			name: "demanded stop earlier than an announced age stop: announce the earlier deadline",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), last: notice(ActionStop, warnAt), now: "2026-11-24T14:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T02:00:00Z"), Reason: "over vCPU quota",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T02:00:00Z")},
		},
		{
			name: "demanded stop before an age terminate comes into view: stop",
			in:   with(running(), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "type not allowed"} }),
			p:    withPolicy(func(p *Policy) { p.OnExpiry = ActionTerminate }), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "type not allowed",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "demanded stop of a stopped instance: nothing to do",
			in:   with(stoppedAt(expiresAt), func(in *Instance) { in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"} }),
			p:    policy(), now: "2026-11-26T10:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: stopReason, Next: ts("2026-12-01T10:00:00Z")},
		},
		{
			name: "stop-only: demanded terminate of a stopped instance is dropped",
			in: with(stoppedAt(expiresAt), func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: "over instance quota"}
			}),
			p: withPolicy(func(p *Policy) { p.Mode = ModeStopOnly }), now: "2026-11-26T10:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "stopped; stop-only mode never terminates"},
		},
		{
			name: "kept: demand waits",
			in: with(running(), func(in *Instance) {
				in.KeepUntil = ts("2026-11-24T00:00:00Z")
				in.Demand = &Demand{Action: ActionTerminate, Reason: "over instance quota"}
			}),
			p: policy(), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionKeep, Reason: "kept until 2026-11-24T00:00:00Z", Next: ts("2026-11-24T00:00:00Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := tt.want.Notice; n != nil {
				n.At = ceilSecond(ts(tt.now)).UTC()
				if tt.in.Demand != nil && tt.want.Reason == tt.in.Demand.Reason {
					n.Instance, n.Deadline = tt.in.ID, tt.want.Deadline // a demand's notice names its instance
				}
			}
			got := Decide(tt.in, tt.p, tt.last, ts(tt.now))
			// What a stop announces with it is TestStopAnnouncesTermination's.
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Decision{}, "Then", "ThenDeadline")); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name string
		in   Instance
		p    Policy
		want string
	}{
		{name: "TTL from birth", in: running(), p: policy(), want: expiresAt},
		{
			name: "explicit expiry wins over TTL",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-29T00:00:00Z") }),
			p:    policy(), want: "2026-11-29T00:00:00Z",
		},
		{
			name: "explicit expiry may be earlier than TTL",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-11-23T00:00:00Z") }),
			p:    policy(), want: "2026-11-23T00:00:00Z",
		},
		{
			name: "max lifetime caps explicit expiry",
			in:   with(running(), func(in *Instance) { in.ExpiresAt = ts("2026-12-29T00:00:00Z") }),
			p:    withPolicy(func(p *Policy) { p.MaxLifetime = 10 * 24 * time.Hour }), want: "2026-12-02T10:00:00Z",
		},
		{
			name: "max lifetime caps TTL",
			in:   running(), p: withPolicy(func(p *Policy) { p.MaxLifetime = 24 * time.Hour }), want: "2026-11-23T10:00:00Z",
		},
		{
			name: "max lifetime above expiry changes nothing",
			in:   running(), p: withPolicy(func(p *Policy) { p.MaxLifetime = 30 * 24 * time.Hour }), want: expiresAt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(ts(tt.want), Expiry(tt.in, tt.p)); diff != "" {
				t.Errorf("Expiry() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{72 * time.Hour, "3d"},
		{36 * time.Hour, "1d12h"},
		{90 * time.Minute, "1h30m"},
		{24*time.Hour + 5*time.Second, "1d5s"},
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, formatDuration(tt.in)); diff != "" {
				t.Errorf("formatDuration(%v) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// BenchmarkDecide decides a fleet of 1,000 instances at various stages.
func BenchmarkDecide(b *testing.B) {
	p := policy()
	base := ts(bornAt)
	now := ts("2026-11-25T12:00:00Z")
	type item struct {
		in   Instance
		last Notice
	}
	fleet := make([]item, 1000)
	for i := range fleet {
		in := Instance{ID: fmt.Sprintf("i-%04d", i), State: "running", BornAt: base.Add(time.Duration(i) * 5 * time.Minute)}
		var last Notice
		switch i % 5 {
		case 1:
			in.State, in.StoppedAt = "stopped", base
		case 2:
			last = Notice{Stage: ActionStop, At: Expiry(in, p).Add(-p.WarnBefore), Project: "packit", Run: "r1"}
		case 3:
			in.Demand = &Demand{Action: ActionStop, Reason: "over vCPU quota"}
		case 4:
			in.ExpiresAt = now.Add(48 * time.Hour)
		}
		fleet[i] = item{in, last}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, it := range fleet {
			Decide(it.in, p, it.last, now)
		}
	}
}

// TestStopAnnouncesTermination checks the termination notice that goes out
// with a stop, and when such a notice counts: warn → stop → terminate in
// three runs.
func TestStopAnnouncesTermination(t *testing.T) {
	p := policy() // TTL 3d, warn 1d, terminate 7d after the stop, min_notice 12h
	stopAt := expiresAt
	d := Decide(running(), p, notice(ActionStop, warnAt), ts(stopAt))
	want := &Notice{Stage: ActionTerminate, At: ts(stopAt), Project: "packit", WithStop: true}
	if d.Action != ActionStop || !cmp.Equal(want, d.Then) || !d.ThenDeadline.Equal(ts("2026-12-02T10:00:00Z")) {
		t.Fatalf("stop decided %+v; want stop with %v due 2026-12-02T10:00:00Z", d, want)
	}
	if d := Decide(running(), withPolicy(func(p *Policy) { p.TerminateStoppedAfter = 0 }), notice(ActionStop, warnAt), ts(stopAt)); d.Then != nil {
		t.Errorf("stopped instances kept: the stop announced %v", d.Then)
	}
	if d := Decide(running(), withPolicy(func(p *Policy) { p.Mode = ModeStopOnly }), notice(ActionStop, warnAt), ts(stopAt)); d.Then != nil {
		t.Errorf("stop-only: the stop announced %v", d.Then)
	}

	withStop := *d.Then
	withStop.Run = "r1"
	tests := []struct {
		name string
		in   Instance
		last Notice
		now  string
		want Decision
	}{
		{
			name: "stopped with it: kept until the deadline it gave",
			in:   stoppedAt(stopAt), last: withStop, now: "2026-12-01T10:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"), Reason: "stopped for 7d (since 2026-11-25T10:00:00Z)", Next: ts("2026-12-02T10:00:00Z")},
		},
		{
			name: "stopped with it: terminated at that deadline, no second warning",
			in:   stoppedAt(stopAt), last: withStop, now: "2026-12-02T10:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"), Reason: "stopped for 7d (since 2026-11-25T10:00:00Z)"},
		},
		{
			name: "stop done an hour after the notice: still counts",
			in:   stoppedAt("2026-11-25T11:00:00Z"), last: withStop, now: "2026-12-02T11:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-12-02T11:00:00Z"), Reason: "stopped for 7d (since 2026-11-25T11:00:00Z)"},
		},
		{
			name: "stopped 1s past the window (copied onto an instance stopped later): warned",
			in:   stoppedAt("2026-11-25T11:00:01Z"), last: withStop, now: "2026-12-01T11:00:01Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-02T11:00:01Z"), Reason: "stopped for 7d (since 2026-11-25T11:00:01Z)",
				Notice: &Notice{Stage: ActionTerminate, At: ts("2026-12-01T11:00:01Z"), Project: "packit"}, Next: ts("2026-12-02T11:00:01Z")},
		},
		{
			name: "stopped before the notice (copied onto an instance its team stopped): warned",
			in:   stoppedAt("2026-11-25T09:00:00Z"), last: withStop, now: "2026-12-01T09:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-02T09:00:00Z"), Reason: "stopped for 7d (since 2026-11-25T09:00:00Z)",
				Notice: &Notice{Stage: ActionTerminate, At: ts("2026-12-01T09:00:00Z"), Project: "packit"}, Next: ts("2026-12-02T09:00:00Z")},
		},
		{
			name: "stop time unknown: warned",
			in:   stoppedAt(""), last: withStop, now: "2026-12-01T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-02T10:00:00Z"), Reason: "stopped for 7d (stop time unknown, counted from 2026-11-25T10:00:00Z)",
				Notice: &Notice{Stage: ActionTerminate, At: ts("2026-12-01T10:00:00Z"), Project: "packit"}, Next: ts("2026-12-02T10:00:00Z")},
		},
		{
			name: "running again: the notice is spent; the restart rule holds",
			in:   with(running(), func(in *Instance) { in.StartedAt = ts("2026-11-26T10:00:00Z") }), last: withStop, now: "2026-11-26T11:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-26T12:00:00Z"),
				Reason: "started again at 2026-11-26T10:00:00Z, after its expiry (" + ttlReason + "): stopping again after the restart grace of 1h",
				Notice: &Notice{Stage: ActionStop, At: ts("2026-11-26T11:00:00Z"), Project: "packit"}, Next: ts("2026-11-26T12:00:00Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Decide(tt.in, p, tt.last, ts(tt.now))); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
