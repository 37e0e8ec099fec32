package cloud

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// fakeClock is the pacer's clock in tests: sleeping advances it at once
// and is recorded.
type fakeClock struct {
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) take() []time.Duration {
	s := c.slept
	c.slept = nil
	return s
}

func fakePacer() (*Pacer, *fakeClock) {
	clock := &fakeClock{t: simStart}
	return NewPacerOn(func() time.Time { return clock.t }, clock.sleep), clock
}

// noWaitPacer is a pacer that takes tokens as usual but never waits for
// them, for tests whose emulator does not throttle.
func noWaitPacer() *Pacer {
	return NewPacerOn(time.Now, func(context.Context, time.Duration) error { return nil })
}

// gap is the pacer's time between two tokens of a bucket refilled at rate.
func gap(rate float64) time.Duration {
	return time.Duration(1 / (rate * paceMargin) * float64(time.Second))
}

func wait(t *testing.T, p *Pacer, account, region, action string) {
	t.Helper()
	if err := p.Wait(t.Context(), account, region, Request{Action: action}); err != nil {
		t.Fatalf("Wait(%s): %v", action, err)
	}
}

// TestPacerBurstsThenRefills: a bucket lets its burst through at once (the
// mutating bucket: 50, refilled at 5 a second, after "Request token bucket
// sizes and refill rates"), then one request per refilled token.
func TestPacerBurstsThenRefills(t *testing.T) {
	p, clock := fakePacer()
	for range 50 {
		wait(t, p, defaultAccount, "us-east-1", "CreateSecurityGroup")
	}
	if got := clock.take(); len(got) > 0 {
		t.Fatalf("the burst waited %v, want no wait", got)
	}
	for range 3 {
		wait(t, p, defaultAccount, "us-east-1", "CreateSecurityGroup")
	}
	want := []time.Duration{gap(5), gap(5), gap(5)}
	if diff := cmp.Diff(want, clock.take(), cmpDurations); diff != "" {
		t.Errorf("waits past the burst (-want +got):\n%s", diff)
	}

	// Idle for 2 s: about 9.8 tokens back, so 9 requests pass and the 10th
	// waits for the rest of its token.
	clock.t = clock.t.Add(2 * time.Second)
	for range 10 {
		wait(t, p, defaultAccount, "us-east-1", "CreateSecurityGroup")
	}
	got := clock.take()
	if len(got) != 1 || got[0] <= 0 || got[0] >= gap(5) {
		t.Errorf("after 2 s idle, 10 requests waited %v, want one wait shorter than %v", got, gap(5))
	}

	// A full bucket stays full: 100 s idle give back 50 tokens, not 500.
	clock.t = clock.t.Add(100 * time.Second)
	for range 51 {
		wait(t, p, defaultAccount, "us-east-1", "CreateSecurityGroup")
	}
	if got := clock.take(); len(got) != 1 {
		t.Errorf("after a long idle, 51 requests waited %d times, want 1 (the burst is 50)", len(got))
	}
}

// TestPacerIsolatesBuckets: each action has a bucket of its own ("each API
// is evaluated individually"), per account and region; the unfiltered,
// unpaginated requests of DescribeInstances have a smaller one (50 at 10 a
// second).
func TestPacerIsolatesBuckets(t *testing.T) {
	p, clock := fakePacer()
	for range 50 {
		wait(t, p, "111111111111", "us-east-1", "CreateLaunchTemplate")
	}
	for _, other := range []struct{ account, region, action string }{
		{"222222222222", "us-east-1", "CreateLaunchTemplate"},
		{"111111111111", "eu-west-1", "CreateLaunchTemplate"},
		{"111111111111", "us-east-1", "CreateSecurityGroup"},
	} {
		wait(t, p, other.account, other.region, other.action)
		if got := clock.take(); len(got) > 0 {
			t.Errorf("%+v waited %v for another bucket", other, got)
		}
	}
	wait(t, p, "111111111111", "us-east-1", "CreateLaunchTemplate")
	if got := clock.take(); len(got) != 1 {
		t.Errorf("the drained bucket: %d waits, want 1", len(got))
	}

	for range 50 {
		if err := p.Wait(t.Context(), "111111111111", "us-east-1", Request{Action: "DescribeInstances", Unfiltered: true}); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, p, "111111111111", "us-east-1", "DescribeInstances") // filtered: the large bucket
	if got := clock.take(); len(got) > 0 {
		t.Errorf("a filtered DescribeInstances after 50 unfiltered ones waited %v", got)
	}
	if err := p.Wait(t.Context(), "111111111111", "us-east-1", Request{Action: "DescribeInstances", Unfiltered: true}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{gap(10)}, clock.take(), cmpDurations); diff != "" {
		t.Errorf("the 51st unfiltered DescribeInstances (-want +got):\n%s", diff)
	}
}

// TestPacerGivesBackTheTokenOfACancelledWait: a request whose context ends
// while it waits is not made, and its token goes back.
func TestPacerGivesBackTheTokenOfACancelledWait(t *testing.T) {
	p, clock := fakePacer()
	for range 5 {
		wait(t, p, defaultAccount, "us-east-1", "RunInstances") // 5 at 2 a second
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 3 {
		if err := p.Wait(ctx, defaultAccount, "us-east-1", Request{Action: "RunInstances", Instances: 1}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait with a cancelled context = %v, want context.Canceled", err)
		}
	}
	wait(t, p, defaultAccount, "us-east-1", "RunInstances")
	if diff := cmp.Diff([]time.Duration{gap(2)}, clock.take(), cmpDurations); diff != "" {
		t.Errorf("the next request after cancelled ones waited (-want +got):\n%s", diff)
	}
	var nilPacer *Pacer
	if err := nilPacer.Wait(ctx, defaultAccount, "us-east-1", Request{Action: "RunInstances", Instances: 1}); err != nil {
		t.Errorf("a nil Pacer: %v, want no wait", err)
	}
}

// cmpDurations compares durations to the microsecond: float rounding.
var cmpDurations = cmp.Comparer(func(a, b time.Duration) bool {
	d := a - b
	return d < time.Microsecond && d > -time.Microsecond
})

// TestPacerCountsInstances: StopInstances and its kin also draw one token
// per instance from a resource bucket ("Resource token bucket sizes and
// refill rates": StopInstances 1000, refilled at 20 a second), besides a
// token of their request bucket.
func TestPacerCountsInstances(t *testing.T) {
	p, clock := fakePacer()
	stop := func(n int) {
		t.Helper()
		if err := p.Wait(t.Context(), defaultAccount, "us-east-1", Request{Action: "StopInstances", Instances: n}); err != nil {
			t.Fatal(err)
		}
	}
	stop(1000)
	if got := clock.take(); len(got) > 0 {
		t.Errorf("1000 instances, a full bucket: waited %v", got)
	}
	stop(100)
	if diff := cmp.Diff([]time.Duration{100 * gap(20)}, clock.take(), cmpDurations); diff != "" {
		t.Errorf("100 more instances (-want +got):\n%s", diff)
	}
	clock.t = clock.t.Add(time.Hour)
	stop(5000) // more than the bucket holds: waits for a full one
	stop(1)
	if diff := cmp.Diff([]time.Duration{gap(20)}, clock.take(), cmpDurations); diff != "" {
		t.Errorf("after a request of more than the burst (-want +got):\n%s", diff)
	}
	// The instances' bucket is the action's own: terminating is not held
	// up by the stops.
	if err := p.Wait(t.Context(), defaultAccount, "us-east-1", Request{Action: "TerminateInstances", Instances: 1000}); err != nil {
		t.Fatal(err)
	}
	if got := clock.take(); len(got) > 0 {
		t.Errorf("terminating after the stops waited %v", got)
	}
}

func TestRequestOf(t *testing.T) {
	tests := []struct {
		in   any
		want Request
	}{
		{&ec2.DescribeInstancesInput{}, Request{Unfiltered: true}},
		{&ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}, Request{}},
		{&ec2.DescribeInstancesInput{NextToken: aws.String("x")}, Request{}},
		{&ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag-key")}}}, Request{}},
		{&ec2.CreateTagsInput{Resources: []string{"i-1", "i-2"}}, Request{Unfiltered: true}},
		{&ec2.StopInstancesInput{InstanceIds: []string{"i-1", "i-2"}}, Request{Unfiltered: true, Instances: 2}},
		{&ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(3)}, Request{Unfiltered: true, Instances: 3}},
		{nil, Request{Unfiltered: true}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, requestOf(tt.in)); diff != "" {
			t.Errorf("requestOf(%#v) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestPacingTakesATokenPerAttempt: through the SDK, every attempt of a
// request takes a token of its action's bucket, retries of throttled
// attempts included, since EC2 meters each of them.
func TestPacingTakesATokenPerAttempt(t *testing.T) {
	sim, url := newSim(t)
	hermeticAWSEnv(t)
	p, clock := fakePacer()
	clients, err := Connect(t.Context(), ConnectOptions{
		EndpointURL: url, Pacer: p, MaxAttempts: 3, MaxBackoff: time.Millisecond,
		Accounts: []Account{{Name: "default", ID: defaultAccount, Regions: []string{"us-east-1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := clients[0]
	ids := seed(sim, 2, "packit")
	sim.InjectFault("CreateTags", ec2sim.Fault{Code: "RequestLimitExceeded", Times: 2})
	if res := c.CreateTags(t.Context(), ids, map[string]string{"k": "v"}); len(res.Failed) > 0 {
		t.Fatalf("CreateTags: %v", res.Failed)
	}
	if _, err := c.Observe(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for k, lv := range p.levels {
		if k.account != defaultAccount || k.region != "us-east-1" {
			t.Errorf("a bucket of %s/%s, want only %s/us-east-1", k.account, k.region, defaultAccount)
		}
		got[k.bucket] = lv.tokens
	}
	want := map[string]float64{
		"CreateTags":              100 - 3, // two throttled attempts and the one that succeeded
		"DescribeLaunchTemplates": 100 - 1,
		"DescribeInstances":       100 - 1, // filtered and paged: the large bucket
		"DescribeSecurityGroups":  100 - 1,
		"DescribeInstanceTypes":   100 - 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens left per bucket (-want +got):\n%s", diff)
	}
	if len(clock.slept) > 0 {
		t.Errorf("waited %v with every bucket far from empty", clock.slept)
	}
}
