package cloud

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestLookupsSurviveWhatARegionLacks: an image id the region does not have
// and an instance type it does not offer fail EC2's whole call
// (InvalidAMIID.NotFound, InvalidInstanceType); the lookup then finds the
// others one by one and leaves the missing out, for the planner to report,
// instead of failing the observation (which would abort every run over one
// project's typo).
func TestLookupsSurviveWhatARegionLacks(t *testing.T) {
	sim, url := newSim(t)
	known := sim.AddImage("us-east-1", ec2sim.Image{Name: "fedora-41", RootDeviceName: "/dev/sda1", RootVolumeGiB: 5})
	c := connect(t, url)[0]
	snap, err := c.ObserveWith(t.Context(), Lookups{
		ImageIDs:      []string{known, "ami-0000000000000dead"},
		InstanceTypes: []string{"t3.large", "t9.nonesuch"},
	})
	if err != nil {
		t.Fatalf("ObserveWith: %v", err)
	}
	if got := snap.Images[known]; got.RootDevice != "/dev/sda1" || got.RootVolumeGiB != 5 || got.Name != "fedora-41" {
		t.Errorf("image %s = %+v, want its name, root device and size", known, got)
	}
	if _, ok := snap.Images["ami-0000000000000dead"]; ok {
		t.Error("an unknown image id was reported as found")
	}
	if got := snap.InstanceTypes["t3.large"]; !cmp.Equal(got.Architectures, []string{"x86_64"}) {
		t.Errorf("t3.large = %+v, want its architecture", got)
	}
	if _, ok := snap.InstanceTypes["t9.nonesuch"]; ok {
		t.Error("an instance type the region does not offer was reported")
	}
	// The failed batch, then one call each: only where something is missing.
	calls := sim.CallCounts()
	if calls["DescribeImages"] != 3 || calls["DescribeInstanceTypes"] != 3 {
		t.Errorf("calls %v, want 3 DescribeImages and 3 DescribeInstanceTypes", calls)
	}
}

// TestVerifyAccountsAsksOncePerAccount: one GetCallerIdentity per account,
// whatever its number of regions.
func TestVerifyAccountsAsksOncePerAccount(t *testing.T) {
	sim, url := newSim(t)
	clients := connect(t, url, Account{Name: "default", ID: defaultAccount, Regions: []string{"us-east-1", "eu-central-1", "us-west-2"}})
	if err := VerifyAccounts(t.Context(), clients); err != nil {
		t.Fatal(err)
	}
	if got := sim.CallCounts()["GetCallerIdentity"]; got != 1 {
		t.Errorf("GetCallerIdentity called %d times, want 1", got)
	}
}
