package ec2sim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

func TestDescribeInstancesPagesEveryInstanceOnce(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	const n = 2500
	want := map[string]bool{}
	for i := range n {
		want[sim.Seed(ec2sim.SeedInstance{Tags: map[string]string{"n": fmt.Sprint(i)}})] = true
	}

	seen := map[string]int{}
	pages := 0
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		for _, id := range instanceIDs(page.Reservations) {
			seen[id]++
		}
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	for id, count := range seen {
		if count != 1 || !want[id] {
			t.Errorf("instance %s seen %d times (seeded: %v)", id, count, want[id])
		}
	}
	if len(seen) != n {
		t.Errorf("saw %d instances, want %d", len(seen), n)
	}
}

func TestDescribeInstancesFilters(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ids := map[string]string{
		"packit-a":  sim.Seed(ec2sim.SeedInstance{InstanceType: "t3.micro", Tags: map[string]string{"launchwarden:project": "packit", "Name": "a"}}),
		"packit-b":  sim.Seed(ec2sim.SeedInstance{InstanceType: "m5.large", State: ec2sim.StateStopped, Tags: map[string]string{"launchwarden:project": "packit", "Name": "b"}}),
		"cockpit":   sim.Seed(ec2sim.SeedInstance{InstanceType: "m5.xlarge", Tags: map[string]string{"launchwarden:project": "cockpit"}}),
		"unmanaged": sim.Seed(ec2sim.SeedInstance{InstanceType: "c5.large"}),
	}
	byName := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, ids[n])
		}
		return sortedCopy(out)
	}

	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"no filter", nil, byName("packit-a", "packit-b", "cockpit", "unmanaged")},
		{"tag value", filters("tag:launchwarden:project", "packit"), byName("packit-a", "packit-b")},
		{"tag values are ORed", filters("tag:launchwarden:project", "packit", "cockpit"), byName("packit-a", "packit-b", "cockpit")},
		{"tag key", filters("tag-key", "launchwarden:project"), byName("packit-a", "packit-b", "cockpit")},
		{"wildcard", filters("instance-type", "m5.*"), byName("packit-b", "cockpit")},
		{"question mark", filters("tag:launchwarden:project", "p?ckit"), byName("packit-a", "packit-b")},
		{"filters are ANDed", append(filters("tag:launchwarden:project", "packit"), filters("instance-state-name", "running")...), byName("packit-a")},
		{"state name", filters("instance-state-name", "stopped"), byName("packit-b")},
		{"instance id", filters("instance-id", ids["cockpit"]), byName("cockpit")},
		{"no match", filters("tag:launchwarden:project", "nobody"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeAll(t, c, &ec2.DescribeInstancesInput{Filters: tt.filters, MaxResults: aws.Int32(5)})
			var gotIDs []string
			for _, in := range got {
				gotIDs = append(gotIDs, aws.ToString(in.InstanceId))
			}
			if diff := cmp.Diff(tt.want, sortedCopy(gotIDs)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func filters(name string, values ...string) []types.Filter {
	return []types.Filter{{Name: aws.String(name), Values: values}}
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sortStrings(out)
	return out
}

func TestDescribeInstancesByIDGroupsReservations(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(3), MaxCount: aws.Int32(3)})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	other := sim.Seed(ec2sim.SeedInstance{})
	ids := []string{other}
	for _, in := range run.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	var sizes []int
	for _, r := range out.Reservations {
		sizes = append(sizes, len(r.Instances))
	}
	if diff := cmp.Diff([]int{1, 3}, sizes); diff != "" {
		t.Errorf("reservation sizes (-want +got):\n%s", diff)
	}
	if aws.ToString(out.Reservations[1].ReservationId) != aws.ToString(run.ReservationId) {
		t.Errorf("reservation id = %s, want %s", aws.ToString(out.Reservations[1].ReservationId), aws.ToString(run.ReservationId))
	}
}

var _ = time.Second
