package ec2sim_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestConcurrentRegions runs launches, tags and describes in four
// regions at once; run with -race it checks the emulator's locking, and the
// end state checks that no call was lost.
func TestConcurrentRegions(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	regions := []string{"us-east-1", "us-west-2", "eu-west-1", "ap-south-1"}
	const launches = 10
	var wg sync.WaitGroup
	errs := make(chan error, len(regions)*2)
	for _, region := range regions {
		c := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", region, 3))
		for worker := range 2 {
			wg.Go(func() {
				ctx := context.Background()
				for i := range launches / 2 {
					run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
						ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
						TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("worker"), Value: aws.String(fmt.Sprint(worker))}}}},
					})
					if err != nil {
						errs <- err
						return
					}
					id := aws.ToString(run.Instances[0].InstanceId)
					if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("n"), Value: aws.String(fmt.Sprint(i))}}}); err != nil {
						errs <- err
						return
					}
					if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: filters("tag:worker", fmt.Sprint(worker))}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	for _, region := range regions {
		tagged := 0
		for _, in := range sim.Instances("", region) {
			if _, ok := in.Tags["n"]; ok {
				tagged++
			}
		}
		if tagged != launches {
			t.Errorf("%s: %d tagged instances, want %d", region, tagged, launches)
		}
	}
}
