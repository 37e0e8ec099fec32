package ec2sim_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2rate"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// states returns the state of every instance the emulator holds.
func states(sim *ec2sim.Sim) map[string]string {
	out := map[string]string{}
	for _, in := range sim.Instances("", "") {
		out[in.ID] = in.State
	}
	return out
}

func TestStateTransitionsFollowTheClock(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{TerminatedLinger: time.Hour})
	c := newClient(t, srv)
	ctx := context.Background()
	launched := start.Add(-48 * time.Hour)
	a := sim.Seed(ec2sim.SeedInstance{LaunchTime: launched})
	b := sim.Seed(ec2sim.SeedInstance{LaunchTime: launched})

	stop, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{a}})
	if err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	term, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{b}})
	if err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	change := func(sc types.InstanceStateChange) [2]types.InstanceStateName {
		return [2]types.InstanceStateName{sc.PreviousState.Name, sc.CurrentState.Name}
	}
	if diff := cmp.Diff([2]types.InstanceStateName{"running", "stopping"}, change(stop.StoppingInstances[0])); diff != "" {
		t.Errorf("stop state change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([2]types.InstanceStateName{"running", "shutting-down"}, change(term.TerminatingInstances[0])); diff != "" {
		t.Errorf("terminate state change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{a: "stopping", b: "shutting-down"}, states(sim)); diff != "" {
		t.Errorf("states right after the calls (-want +got):\n%s", diff)
	}

	sim.Advance(time.Minute)
	if diff := cmp.Diff(map[string]string{a: "stopped", b: "terminated"}, states(sim)); diff != "" {
		t.Errorf("states a minute later (-want +got):\n%s", diff)
	}
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{a}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if got, want := aws.ToString(out.Reservations[0].Instances[0].StateTransitionReason), "User initiated (2026-11-25 10:00:00 GMT)"; got != want {
		t.Errorf("state transition reason = %q, want %q", got, want)
	}

	sim.Advance(time.Hour)
	start2, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{a}})
	if err != nil {
		t.Fatalf("StartInstances: %v", err)
	}
	if diff := cmp.Diff([2]types.InstanceStateName{"stopped", "pending"}, change(start2.StartingInstances[0])); diff != "" {
		t.Errorf("start state change (-want +got):\n%s", diff)
	}
	sim.Advance(time.Minute)
	// b lingered for an hour after it terminated, then vanished.
	if diff := cmp.Diff(map[string]string{a: "running"}, states(sim)); diff != "" {
		t.Errorf("states after the linger (-want +got):\n%s", diff)
	}
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{b}}); errorCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("describing a vanished instance: %v, want InvalidInstanceID.NotFound", err)
	}

	// A start resets LaunchTime but not the attach times that age is
	// measured from.
	in := sim.Instances("", "")[0]
	restarted := start.Add(time.Minute + time.Hour)
	if !in.LaunchTime.Equal(restarted) {
		t.Errorf("launch time = %v, want the start time %v", in.LaunchTime, restarted)
	}
	if !in.Volumes[0].AttachTime.Equal(launched) || !in.NetworkInterfaces[0].AttachTime.Equal(launched) {
		t.Errorf("attach times = %v, %v, want the original launch %v", in.Volumes[0].AttachTime, in.NetworkInterfaces[0].AttachTime, launched)
	}
}

func TestTerminationReleasesVolumes(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvdb"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(100), DeleteOnTermination: aws.Bool(false)}}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}); err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	sim.Advance(time.Minute)
	var got []string
	for _, v := range sim.Volumes("", "") {
		got = append(got, v.DeviceName+"/"+v.InstanceID+"/"+fmtInt(v.SizeGiB))
	}
	// The root volume went with the instance; the data volume stays,
	// detached.
	if diff := cmp.Diff([]string{"//100"}, got); diff != "" {
		t.Errorf("volumes after termination (-want +got):\n%s", diff)
	}
}

func TestAssumeRoleIsolatesAccounts(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	ctx := context.Background()
	base := awsConfig(srv.URL, "AKIDEXAMPLE", "eu-west-1", 3)
	out, err := sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::210987654321:role/launchwarden"),
		RoleSessionName: aws.String("test"),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	cfg := base.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	other := ec2.NewFromConfig(cfg)
	if _, err := other.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2)}); err != nil {
		t.Fatalf("RunInstances in the assumed account: %v", err)
	}
	sim.Seed(ec2sim.SeedInstance{Region: "eu-west-1"})

	counts := map[string]int{
		"210987654321/eu-west-1": len(sim.Instances("210987654321", "eu-west-1")),
		"123456789012/eu-west-1": len(sim.Instances("123456789012", "eu-west-1")),
		"210987654321/us-east-1": len(sim.Instances("210987654321", "us-east-1")),
	}
	if diff := cmp.Diff(map[string]int{"210987654321/eu-west-1": 2, "123456789012/eu-west-1": 1, "210987654321/us-east-1": 0}, counts); diff != "" {
		t.Errorf("instances per account and region (-want +got):\n%s", diff)
	}
	seen := describeAll(t, other, &ec2.DescribeInstancesInput{})
	if len(seen) != 2 {
		t.Errorf("the assumed account sees %d instances, want its own 2", len(seen))
	}

	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(who.Account); got != "210987654321" {
		t.Errorf("caller account = %s, want 210987654321", got)
	}
	_, err = sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("launchwarden"), RoleSessionName: aws.String("test")})
	if got := errorCode(err); got != "ValidationError" {
		t.Errorf("AssumeRole with a bad ARN: %v, want ValidationError", err)
	}
}

func TestThrottlingReturnsRequestLimitExceeded(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClientNoRetry(t, srv)
	ctx := context.Background()
	sim.SetThrottleBucket("RunInstances", ec2sim.Bucket{Burst: 2, PerSecond: 0.001})
	sim.SetThrottling(true)

	var codes []string
	for range 3 {
		_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		codes = append(codes, errorCode(err))
	}
	if diff := cmp.Diff([]string{"", "", "RequestLimitExceeded"}, codes); diff != "" {
		t.Errorf("error codes (-want +got):\n%s", diff)
	}
	// Other buckets are unaffected.
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances while RunInstances is throttled: %v", err)
	}
	if got := len(sim.Instances("", "")); got != 2 {
		t.Errorf("instances = %d, want 2: the throttled call must launch nothing", got)
	}
	if got := sim.Calls("RunInstances"); got != 3 {
		t.Errorf("RunInstances calls = %d, want 3 including the throttled one", got)
	}
}

func TestFaults(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClientNoRetry(t, srv)
	id := sim.Seed(ec2sim.SeedInstance{})

	tests := []struct {
		name  string
		fault ec2sim.Fault
		want  []string // error codes of three calls in a row
	}{
		{"error code", ec2sim.Fault{Code: "UnauthorizedOperation", Status: 403}, []string{"UnauthorizedOperation", "", ""}},
		{"server error twice", ec2sim.Fault{Status: 503, Times: 2}, []string{"Unavailable", "Unavailable", ""}},
		{"internal error", ec2sim.Fault{Code: "InternalError"}, []string{"InternalError", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim.InjectFault("StopInstances", tt.fault)
			var got []string
			for range 3 {
				_, err := c.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{id}})
				got = append(got, errorCode(err))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error codes (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("hang until the caller gives up", func(t *testing.T) {
		sim.InjectFault("DescribeInstances", ec2sim.Fault{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err == nil || ctx.Err() == nil {
			t.Fatalf("DescribeInstances = %v, want the context's deadline", err)
		}
		if _, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
			t.Errorf("DescribeInstances after the hang: %v", err)
		}
	})
}

func TestTerminationProtectionAttribute(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	id := sim.Seed(ec2sim.SeedInstance{})
	protect := func(on bool) {
		t.Helper()
		if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(on)}}); err != nil {
			t.Fatalf("ModifyInstanceAttribute: %v", err)
		}
	}
	protected := func() bool {
		t.Helper()
		out, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameDisableApiTermination})
		if err != nil {
			t.Fatalf("DescribeInstanceAttribute: %v", err)
		}
		return aws.ToBool(out.DisableApiTermination.Value)
	}
	terminate := func() string {
		_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		return errorCode(err)
	}

	protect(true)
	got := []any{protected(), terminate()}
	protect(false)
	got = append(got, protected(), terminate())
	if diff := cmp.Diff([]any{true, "OperationNotPermitted", false, ""}, got); diff != "" {
		t.Errorf("protected, terminate error; after unprotecting (-want +got):\n%s", diff)
	}
}

// fakeWall is a wall clock a test moves.
type fakeWall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *fakeWall) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *fakeWall) Sleep(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = w.t.Add(d)
}

// TestClockFollowsTheWallClock: with Options.Clock the simulated time runs
// with the wall clock from Start, so instances leave pending and stopping
// on their own, as on EC2; Advance still moves it further.
func TestClockFollowsTheWallClock(t *testing.T) {
	wall := &fakeWall{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	sim, srv := newServer(t, ec2sim.Options{Clock: wall.Now, PendingDelay: 5 * time.Second, StopDelay: 20 * time.Second})
	c := newClient(t, srv)
	ctx := context.Background()
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if got := aws.ToTime(run.Instances[0].LaunchTime); !got.Equal(start) {
		t.Errorf("launch time = %v, want Start %v", got, start)
	}
	step := func(d time.Duration, want string) {
		t.Helper()
		wall.Sleep(d)
		if got := states(sim)[id]; got != want {
			t.Errorf("after %v more of wall time: %s, want %s", d, got, want)
		}
	}
	step(4*time.Second, ec2sim.StatePending)
	step(time.Second, ec2sim.StateRunning)
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	step(19*time.Second, ec2sim.StateStopping)
	step(time.Second, ec2sim.StateStopped)
	sim.Advance(time.Hour)
	wall.Sleep(time.Minute)
	if got, want := sim.Now(), start.Add(25*time.Second+time.Hour+time.Minute); !got.Equal(want) {
		t.Errorf("now = %v, want %v", got, want)
	}
}

// TestThrottlingMetersEachActionAlone follows "Request throttling for the
// Amazon EC2 API" (EC2 developer guide): "each API is evaluated
// individually", with the category's default size (mutating: a burst of
// 50), and DescribeInstances without a filter or pagination draws from the
// smaller "Unfiltered and unpaginated" bucket (a burst of 50) instead of
// the non-mutating one (100). Only the bursts are checked: a full bucket's
// calls pass however fast they come.
func TestThrottlingMetersEachActionAlone(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClientNoRetry(t, srv)
	ctx := context.Background()
	// Buckets refill in real time: the two that must run dry keep their
	// documented bursts but nearly stop refilling, so that a slow machine
	// cannot refill them during the test.
	sim.SetThrottleBucket("CreateSecurityGroup", ec2sim.Bucket{Burst: ec2rate.Mutating.Burst, PerSecond: 1e-9})
	sim.SetThrottleBucket("DescribeInstances unfiltered", ec2sim.Bucket{Burst: ec2rate.UnfilteredNonMutating.Burst, PerSecond: 1e-9})
	sim.SetThrottling(true)

	count := func(n int, call func() error) (throttled int) {
		for range n {
			if errorCode(call()) == "RequestLimitExceeded" {
				throttled++
			}
		}
		return throttled
	}
	group := 0
	createGroup := func() error {
		group++
		_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("g%d", group)), Description: aws.String("d")})
		return err
	}
	createTemplate := func() error {
		group++
		_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(fmt.Sprintf("t%d", group)),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")}})
		return err
	}
	if got := count(50, createGroup); got != 0 {
		t.Errorf("50 CreateSecurityGroup: %d throttled, want 0", got)
	}
	if got := count(50, createTemplate); got != 0 {
		t.Errorf("50 CreateLaunchTemplate after 50 CreateSecurityGroup: %d throttled, want 0 (a bucket of its own)", got)
	}
	if got := count(1, createGroup); got != 1 {
		t.Errorf("the 51st CreateSecurityGroup was not throttled")
	}

	unfiltered := func() error { _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); return err }
	paged := func() error {
		_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		return err
	}
	if got := count(51, unfiltered); got != 1 {
		t.Errorf("51 unfiltered DescribeInstances: %d throttled, want 1", got)
	}
	if got := count(100, paged); got != 0 {
		t.Errorf("100 paged DescribeInstances after the unfiltered ones: %d throttled, want 0", got)
	}
}

// TestThrottlingCountsInstances follows "Resource rate limiting" (EC2
// developer guide, "Request throttling for the Amazon EC2 API"): the
// instance actions also draw one token per instance from a resource bucket
// of their own, and a request is throttled when either bucket is short.
// The resource bucket is made small and slow here, so that the test does
// not depend on how fast the machine is.
func TestThrottlingCountsInstances(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClientNoRetry(t, srv)
	ctx := context.Background()
	var ids []string
	for range 5 {
		ids = append(ids, sim.Seed(ec2sim.SeedInstance{}))
	}
	sim.SetThrottleBucket("StopInstances instances", ec2sim.Bucket{Burst: 3, PerSecond: 1e-9})
	sim.SetThrottling(true)

	stop := func(ids ...string) string {
		_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
		return errorCode(err)
	}
	if got := stop(ids[:3]...); got != "" {
		t.Fatalf("stopping 3 instances with 3 tokens: %s", got)
	}
	if got := stop(ids[3]); got != "RequestLimitExceeded" {
		t.Errorf("stopping a 4th instance: %q, want RequestLimitExceeded", got)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids[3:]}); err != nil {
		t.Errorf("terminating 2 instances (another resource bucket): %v", err)
	}
	if got := sim.Calls("StopInstances"); got != 2 {
		t.Errorf("StopInstances calls = %d, want 2", got)
	}
}
