package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// The VPC and subnet the test admin files configure, and the image the test
// project files name.
const (
	testVPC    = "vpc-0123456789abcdef0"
	testSubnet = "subnet-0123456789abcdef0"
	testImage  = "ami-0123456789abcdef0"
)

// seedTestNetworkAndImage gives the emulator, in region, what the test
// config files name: the test VPC with a subnet, and a public image.
func seedTestNetworkAndImage(sim *ec2sim.Sim, region string) {
	sim.AddVPC("123456789012", region, ec2sim.VPC{ID: testVPC, CIDR: "10.0.0.0/16"})
	sim.AddSubnet("123456789012", region, ec2sim.Subnet{ID: testSubnet, VPCID: testVPC, AvailabilityZone: region + "a", CIDR: "10.0.1.0/24"})
	sim.AddImage(region, ec2sim.Image{ID: testImage, OwnerID: "125523088429", Name: "Fedora-Cloud-Base-Generic-41-20261101.0.x86_64",
		RootDeviceName: "/dev/sda1", RootVolumeGiB: 5, Public: true, CreationDate: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
}

// startEmulator serves a new EC2 emulator whose clock starts at start, and a
// GitHub keys server beside it, on loopback. It points the AWS SDK's
// environment at fake credentials and away from any user config, so that
// cloud.Connect reaches the emulator and nothing else.
func startEmulator(t *testing.T, start time.Time) (sim *ec2sim.Sim, endpoint, keysURL string) {
	t.Helper()
	sim = ec2sim.New(ec2sim.Options{Start: start})
	seedTestNetworkAndImage(sim, serveRegion)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, userKey(t, strings.TrimSuffix(path.Base(r.URL.Path), ".keys")))
	}))
	t.Cleanup(keys.Close)

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", serveRegion)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv(testStateKeyEnv, testStateKey)
	t.Setenv(exampleStateKeyEnv, testStateKey)
	return sim, srv.URL, keys.URL
}
