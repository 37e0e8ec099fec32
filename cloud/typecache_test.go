package cloud

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInstanceTypeCacheRemembersPerRegion: clients sharing a cache describe
// a type once per account and region, keep reporting it in their snapshots,
// and ask again for a type the region does not offer.
func TestInstanceTypeCacheRemembersPerRegion(t *testing.T) {
	sim, url := newSim(t)
	cache := &InstanceTypeCache{}
	observe := func(region string, types ...string) map[string]InstanceType {
		t.Helper()
		c := connect(t, url, Account{Name: "default", ID: defaultAccount, Regions: []string{region}})[0]
		c.InstanceTypes = cache
		snap, err := c.ObserveWith(t.Context(), Lookups{InstanceTypes: types})
		if err != nil {
			t.Fatalf("ObserveWith: %v", err)
		}
		return snap.InstanceTypes
	}
	described := func() int {
		n := sim.Calls("DescribeInstanceTypes")
		sim.ResetCalls()
		return n
	}

	first := observe("us-east-1", "t3.large", "t3.micro")
	if got := described(); got != 1 {
		t.Errorf("first observation: %d DescribeInstanceTypes, want 1", got)
	}
	again := observe("us-east-1", "t3.large")
	if got := described(); got != 0 {
		t.Errorf("a remembered type: %d DescribeInstanceTypes, want 0", got)
	}
	if diff := cmp.Diff(map[string]InstanceType{"t3.large": first["t3.large"]}, again); diff != "" {
		t.Errorf("remembered types in the snapshot, only those in use (-want +got):\n%s", diff)
	}
	observe("eu-west-1", "t3.large")
	if got := described(); got != 1 {
		t.Errorf("another region: %d DescribeInstanceTypes, want 1", got)
	}
	for range 2 {
		if got := observe("us-east-1", "t3.micro", "t9.nonesuch"); len(got) != 1 {
			t.Errorf("types found = %v, want t3.micro only", got)
		}
		if got := described(); got != 1 {
			t.Errorf("a type the region lacks: %d DescribeInstanceTypes, want 1 (asked again every time)", got)
		}
	}
}
