package cloud

import (
	"sync"
	"testing"
	"time"

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
