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

// startEmulator serves a new EC2 emulator whose clock starts at start, and a
// GitHub keys server beside it, on loopback. It points the AWS SDK's
// environment at fake credentials and away from any user config, so that
// cloud.Connect reaches the emulator and nothing else.
func startEmulator(t *testing.T, start time.Time) (sim *ec2sim.Sim, endpoint, keysURL string) {
	t.Helper()
	sim = ec2sim.New(ec2sim.Options{Start: start})
	// The VPC and image the tests' config repos name exist, as on EC2.
	sim.AddVPC("", serveRegion, ec2sim.VPC{ID: "vpc-0123456789abcdef0"})
	sim.AddImage(serveRegion, ec2sim.Image{ID: "ami-0123456789abcdef0", OwnerID: "125523088429", Name: "Fedora-Cloud-Base-Generic-41", Public: true})
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
