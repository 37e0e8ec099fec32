package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// scoped is a demand's notice of packit's digest given at "at", shared by
// every instance under the demand of that scope.
func scoped(stage Action, at, scope string) Notice {
	n := notice(stage, at)
	n.Scope = scope
	return n
}

func orphanDemand(grace time.Duration) *Demand {
	return &Demand{Action: ActionTerminate, Reason: "template fedora was removed", Grace: grace, Scope: "orphan:fedora"}
}

func typeDemand() *Demand {
	return &Demand{Action: ActionStop, Reason: "type m5.large is not allowed", Scope: "type:m5.large"}
}

// TestDecideScopedDemand: a demand with a scope is announced by a notice
// shared by the instances under it (one value per project, stage, scope
// and run), whose deadline Decide recomputes from the notice's time and
// max(Grace, MinNotice), at ±1 s. Such a notice counts for nothing else,
// and a notice naming the instance (as earlier releases wrote for every
// demand) is still understood.
func TestDecideScopedDemand(t *testing.T) {
	week := 7 * 24 * time.Hour
	orphaned := func(in Instance, grace time.Duration) Instance {
		in.Demand = orphanDemand(grace)
		return in
	}
	stopped := stoppedAt(expiresAt) // its age-based termination: 2026-12-02T10:00:00Z, in view from 12-01
	const orphanReason = "template fedora was removed"
	tests := []decideCase{
		{
			name: "announced with its scope, the deadline grace after the notice",
			in:   orphaned(stopped, week), p: policy(), now: "2026-11-26T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-03T10:00:00Z"), Reason: orphanReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-01T10:00:00Z")},
		},
		{
			name: "recorded, 1s before the recomputed deadline: wait",
			in:   orphaned(stopped, week), p: policy(), last: scoped(ActionTerminate, "2026-11-23T10:00:00Z", "orphan:fedora"), now: "2026-11-30T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"), Reason: orphanReason, Next: ts("2026-11-30T10:00:00Z")},
		},
		{
			name: "recorded, at the recomputed deadline: terminate",
			in:   orphaned(stopped, week), p: policy(), last: scoped(ActionTerminate, "2026-11-23T10:00:00Z", "orphan:fedora"), now: "2026-11-30T10:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"), Reason: orphanReason},
		},
		{
			name: "a run at 10:00:00.5 dates its notice 10:00:01: the deadline is 1s later",
			in:   orphaned(stopped, week), p: policy(), now: "2026-11-23T10:00:00.5Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:01Z"), Reason: orphanReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-11-30T10:00:01Z")},
		},
		{
			name: "that notice, recorded, at 10:00:00 of its deadline's day: wait",
			in:   orphaned(stopped, week), p: policy(), last: scoped(ActionTerminate, "2026-11-23T10:00:01Z", "orphan:fedora"), now: "2026-11-30T10:00:00Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:01Z"), Reason: orphanReason, Next: ts("2026-11-30T10:00:01Z")},
		},
		{
			name: "a notice of another scope counts for nothing: announce",
			in:   orphaned(stopped, week), p: policy(), last: scoped(ActionTerminate, "2026-11-23T10:00:00Z", "orphan:centos"), now: "2026-11-30T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-07T10:00:00Z"), Reason: orphanReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-01T10:00:00Z")},
		},
		{
			name: "an age-based notice counts for no demand: announce",
			in:   orphaned(running(), week), p: policy(), last: notice(ActionTerminate, "2026-11-23T10:00:00Z"), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"), Reason: orphanReason,
				Notice: noticePtr(ActionTerminate), Next: ts(warnAt)},
		},
		{
			name: "a demand's notice counts for no age-based stage: announce",
			in:   running(), p: policy(), last: scoped(ActionStop, warnAt, "type:m5.large"), now: expiresAt,
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-25T22:00:00Z"), Reason: ttlReason,
				Notice: noticePtr(ActionStop), Next: ts("2026-11-25T22:00:00Z")},
		},
		{
			name: "a notice from before the instance was born counts for nothing: announce",
			in:   orphaned(running(), week), p: policy(), last: scoped(ActionTerminate, "2026-11-22T09:59:59Z", "orphan:fedora"), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"), Reason: orphanReason,
				Notice: noticePtr(ActionTerminate), Next: ts(warnAt)},
		},
		{
			name: "grace shortened since the notice: the new rules hold, never less than min_notice after it (1s before)",
			in:   orphaned(stopped, time.Hour), p: policy(), last: scoped(ActionTerminate, "2026-11-26T10:00:00Z", "orphan:fedora"), now: "2026-11-26T21:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-11-26T22:00:00Z"), Reason: orphanReason, Next: ts("2026-11-26T22:00:00Z")},
		},
		{
			name: "type stop of an instance running since the notice: counts, stop at notice + min_notice",
			in:   with(running(), func(in *Instance) { in.Demand, in.StartedAt = typeDemand(), ts("2026-11-23T10:00:00Z") }),
			p:    policy(), last: scoped(ActionStop, "2026-11-23T10:00:00Z", "type:m5.large"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionStop, Stage: ActionStop, Deadline: ts("2026-11-23T22:00:00Z"), Reason: "type m5.large is not allowed"},
		},
		{
			name: "type stop of an instance started 1s after the notice: it was not named, announce",
			in:   with(running(), func(in *Instance) { in.Demand, in.StartedAt = typeDemand(), ts("2026-11-23T10:00:01Z") }),
			p:    policy(), last: scoped(ActionStop, "2026-11-23T10:00:00Z", "type:m5.large"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionStop, Deadline: ts("2026-11-24T10:00:00Z"), Reason: "type m5.large is not allowed",
				Notice: noticePtr(ActionStop), Next: ts("2026-11-24T10:00:00Z")},
		},
		{
			name: "a notice naming the instance (earlier releases) is understood: 1s before its deadline, wait",
			in:   orphaned(stopped, week), p: policy(), last: bound(ActionTerminate, "2026-11-23T10:00:00Z", "2026-11-30T10:00:00Z"), now: "2026-11-30T09:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"), Reason: orphanReason, Next: ts("2026-11-30T10:00:00Z")},
		},
		{
			name: "a notice naming the instance (earlier releases) is understood: at its deadline, terminate",
			in:   orphaned(stopped, week), p: policy(), last: bound(ActionTerminate, "2026-11-23T10:00:00Z", "2026-11-30T10:00:00Z"), now: "2026-11-30T10:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-11-30T10:00:00Z"), Reason: orphanReason},
		},
		{
			name: "a scope a tag value cannot hold: the notice names the instance",
			in: with(stopped, func(in *Instance) {
				in.Demand = &Demand{Action: ActionTerminate, Reason: orphanReason, Grace: week, Scope: "orphan:a b"}
			}),
			p: policy(), now: "2026-11-26T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-12-03T10:00:00Z"), Reason: orphanReason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-12-01T10:00:00Z")},
		},
	}
	tests = append(tests, rankedCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := tt.want.Notice; n != nil {
				n.At = ceilSecond(ts(tt.now)).UTC()
				if d := tt.in.Demand; d != nil && tt.want.Reason == d.Reason {
					ranked := d.Rank == "" && d.Cutoff == "" || d.Rank != "" && ValidScope(d.Cutoff) && d.Rank <= d.Cutoff
					if ValidScope(d.Scope) && ranked {
						n.Scope, n.Cutoff = d.Scope, d.Cutoff
					} else {
						n.Instance, n.Deadline = tt.in.ID, tt.want.Deadline
					}
				}
			}
			got := Decide(tt.in, tt.p, tt.last, ts(tt.now))
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Decision{}, "Then", "ThenDeadline")); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScopedDemandNeverEarly: whenever a scoped demand is announced, the
// recorded notice holds the instance until the deadline the digest gave and
// lets it go at that deadline, for notice times across a second and a day.
func TestScopedDemandNeverEarly(t *testing.T) {
	base := ts("2026-11-26T10:00:00Z")
	for _, offset := range []time.Duration{0, time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond, time.Second, 7*time.Hour + 1} {
		in := stoppedAt(expiresAt)
		in.Demand = orphanDemand(3 * 24 * time.Hour)
		now := base.Add(offset)
		d := Decide(in, policy(), Notice{}, now)
		if d.Action != ActionNotify || d.Notice == nil || d.Notice.Scope != "orphan:fedora" || d.Notice.Instance != "" {
			t.Fatalf("at %v: want a scoped notice, got %+v", now, d)
		}
		n := *d.Notice
		n.Run = "r1"
		recorded, err := ParseNotice(n.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := Decide(in, policy(), recorded, d.Deadline.Add(-time.Second)); got.Action != ActionKeep || !got.Deadline.Equal(d.Deadline) {
			t.Errorf("notice at %v: 1s before the deadline %v the decision is %s (deadline %v)", now, d.Deadline, got.Action, got.Deadline)
		}
		if got := Decide(in, policy(), recorded, d.Deadline); got.Action != ActionTerminate {
			t.Errorf("notice at %v: at the deadline %v the decision is %s", now, d.Deadline, got.Action)
		}
	}
}

type decideCase struct {
	name string
	in   Instance
	p    Policy
	last Notice
	now  string
	want Decision
}

// rankedCases: an over-quota demand chooses the newest instances; its
// notice records the rank of the last one chosen (the cutoff) and counts
// for an instance ranked within it, which that run chose and named.
func rankedCases() []decideCase {
	const reason = "project has 3 of 2 instances"
	overCount := func(rank, cutoff string) Instance {
		return with(running(), func(in *Instance) {
			in.Demand = &Demand{Action: ActionTerminate, Reason: reason, Scope: "over-count", Rank: rank, Cutoff: cutoff}
		})
	}
	counted := func(at, cutoff string) Notice {
		n := scoped(ActionTerminate, at, "over-count")
		n.Cutoff = cutoff
		return n
	}
	return []decideCase{
		{
			name: "over quota: announced with its scope and cutoff, min_notice ahead",
			in:   overCount("5/i-1", "7/i-3"), p: policy(), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-23T22:00:00Z"), Reason: reason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "over quota, ranked within the notice's cutoff, 1s before its deadline: wait",
			in:   overCount("5/i-1", "7/i-3"), p: policy(), last: counted("2026-11-23T10:00:00Z", "7/i-3"), now: "2026-11-23T21:59:59Z",
			want: Decision{Action: ActionKeep, Stage: ActionTerminate, Deadline: ts("2026-11-23T22:00:00Z"), Reason: reason, Next: ts("2026-11-23T22:00:00Z")},
		},
		{
			name: "over quota, ranked at the notice's cutoff, at its deadline: terminate",
			in:   overCount("7/i-3", "7/i-3"), p: policy(), last: counted("2026-11-23T10:00:00Z", "7/i-3"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-11-23T22:00:00Z"), Reason: reason},
		},
		{
			name: "more are chosen now: the earlier notice still counts for those it chose",
			in:   overCount("5/i-1", "9/i-5"), p: policy(), last: counted("2026-11-23T10:00:00Z", "7/i-3"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionTerminate, Stage: ActionTerminate, Deadline: ts("2026-11-23T22:00:00Z"), Reason: reason},
		},
		{
			name: "ranked after the notice's cutoff (not chosen then, not named): announce",
			in:   overCount("8/i-4", "9/i-5"), p: policy(), last: counted("2026-11-23T10:00:00Z", "7/i-3"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-24T10:00:00Z"), Reason: reason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-11-24T10:00:00Z")},
		},
		{
			name: "a notice of the scope without a cutoff counts for no ranked demand: announce",
			in:   overCount("5/i-1", "7/i-3"), p: policy(), last: scoped(ActionTerminate, "2026-11-23T10:00:00Z", "over-count"), now: "2026-11-23T22:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-24T10:00:00Z"), Reason: reason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-11-24T10:00:00Z")},
		},
		{
			name: "a rank past its own cutoff cannot be shared: the notice names the instance",
			in:   overCount("8/i-4", "7/i-3"), p: policy(), now: "2026-11-23T10:00:00Z",
			want: Decision{Action: ActionNotify, Stage: ActionTerminate, Deadline: ts("2026-11-23T22:00:00Z"), Reason: reason,
				Notice: noticePtr(ActionTerminate), Next: ts("2026-11-23T22:00:00Z")},
		},
	}
}
