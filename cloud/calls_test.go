package cloud

import (
	"context"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

func TestOnCallSeesEveryAttempt(t *testing.T) {
	sim, url := newSim(t)
	hermeticAWSEnv(t)
	type call struct{ Service, Action, Code string }
	var mu sync.Mutex
	got := map[call]int{}
	clients, err := Connect(t.Context(), ConnectOptions{
		EndpointURL: url,
		Accounts:    []Account{{Name: "ci", RoleARN: "arn:aws:iam::111111111111:role/launchwarden", Regions: []string{"us-east-1"}}},
		MaxAttempts: 3,
		MaxBackoff:  time.Millisecond,
		OnCall: func(service, action string, err error) {
			mu.Lock()
			defer mu.Unlock()
			got[call{service, action, Code(err)}]++
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := clients[0]
	sim.Seed(ec2sim.SeedInstance{Account: c.Account, Tags: map[string]string{TagProject: "packit"}})
	// The first attempt is throttled and retried; the stop of an unknown
	// instance fails for good.
	sim.InjectFault("DescribeInstances", ec2sim.Fault{Code: "RequestLimitExceeded"})

	if _, err := c.Observe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if res := c.StopInstances(t.Context(), []string{"i-00000000000000000"}); len(res.Failed) != 1 {
		t.Fatalf("stopping an unknown instance: %+v", res)
	}

	want := map[call]int{
		{"STS", "AssumeRole", ""}:                              1,
		{"EC2", "DescribeInstances", "RequestLimitExceeded"}:   1,
		{"EC2", "DescribeInstances", ""}:                       1,
		{"EC2", "DescribeLaunchTemplates", ""}:                 1,
		{"EC2", "DescribeSecurityGroups", ""}:                  1,
		{"EC2", "DescribeInstanceTypes", ""}:                   1,
		{"EC2", "StopInstances", "InvalidInstanceID.NotFound"}: 1,
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observed calls (-want +got):\n%s", diff)
	}
	// Every request the emulator received was observed.
	perAction := map[string]int{}
	for k, n := range got {
		perAction[k.Action] += n
	}
	if diff := cmp.Diff(sim.CallCounts(), perAction); diff != "" {
		t.Errorf("observed calls vs calls received (-emulator +observed):\n%s", diff)
	}
}

// TestAPIOptionsSeeEveryOperationOnce: a caller's Initialize-step
// middleware sees every EC2 and STS operation once with the input it was
// given, retries of a throttled call included in that one.
func TestAPIOptionsSeeEveryOperationOnce(t *testing.T) {
	sim, url := newSim(t)
	hermeticAWSEnv(t)
	type op struct{ Service, Action, Region string }
	var mu sync.Mutex
	var got []op
	var stopInput any
	record := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("test.Record",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				got = append(got, op{awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), awsmiddleware.GetRegion(ctx)})
				if _, ok := in.Parameters.(*ec2.StopInstancesInput); ok {
					stopInput = in.Parameters
				}
				mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
	clients, err := Connect(t.Context(), ConnectOptions{
		EndpointURL: url,
		Accounts:    []Account{{Name: "ci", ID: "123456789012", Regions: []string{"eu-west-1"}}},
		MaxBackoff:  time.Millisecond,
		APIOptions:  []func(*middleware.Stack) error{record},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := clients[0]
	id := sim.Seed(ec2sim.SeedInstance{Account: c.Account, Region: c.Region})
	sim.InjectFault("StopInstances", ec2sim.Fault{Code: "RequestLimitExceeded"})
	if err := VerifyAccounts(t.Context(), clients); err != nil {
		t.Fatal(err)
	}
	in := &ec2.StopInstancesInput{InstanceIds: []string{id}}
	if _, err := c.api.StopInstances(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	want := []op{{"STS", "GetCallerIdentity", "eu-west-1"}, {"EC2", "StopInstances", "eu-west-1"}}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations seen (-want +got):\n%s", diff)
	}
	if stopInput != any(in) {
		t.Errorf("the middleware saw %p, not the caller's input %p", stopInput, in)
	}
	if n := sim.CallCounts()["StopInstances"]; n != 2 {
		t.Errorf("StopInstances reached the emulator %d times, want 2 (the throttled attempt and its retry)", n)
	}
}
