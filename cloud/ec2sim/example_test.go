package ec2sim_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// An SDK client talks to the emulator through BaseEndpoint; the emulator's
// clock decides when a stopping instance is stopped.
func Example() {
	sim := ec2sim.New(ec2sim.Options{Start: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	id := sim.Seed(ec2sim.SeedInstance{Tags: map[string]string{"launchwarden:project": "packit"}})

	client := ec2.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	ctx := context.Background()
	if _, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sim.Instances("", "")[0].State)
	sim.Advance(time.Minute)
	fmt.Println(sim.Instances("", "")[0].State)
	// Output:
	// stopping
	// stopped
}
