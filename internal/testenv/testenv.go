// Package testenv is the world the end-to-end tests of launchwarden run
// in: the EC2 emulator (cloud/ec2sim) served over loopback HTTP and
// reached by the real AWS SDK, a GitHub keys server, slack-go's Slack test
// server recording what was posted, the state key, and config repos
// written to temp dirs. Only tests import it; launchwarden itself never
// does.
//
// New starts an Env: the emulator in-process, seeded with the test network
// and image, or, with Options.Endpoint, an EC2 endpoint already serving
// elsewhere (an emulator in another process); either way the SDK's
// environment points at fake credentials and away from the host's AWS
// configuration, so that cloud.Connect reaches the endpoint and nothing
// else. Tests then write a config repo (WriteRepo), seed instances through
// Env.Sim, run launchwarden, and check the end state in the emulator and
// in Slack's posts.
package testenv

import (
	"cmp"
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// T0 is the fixed time the tests' clocks start at.
var T0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// The account the emulator serves by default (credentials it did not issue
// are this account's), the region of the tests, and what SeedNetwork puts
// there: the VPC and subnet the test admin files configure, and the public
// Fedora image the test project files name.
const (
	Account    = "123456789012"
	Region     = "us-east-1"
	VPC        = "vpc-0123456789abcdef0"
	Subnet     = "subnet-0123456789abcdef0"
	Image      = "ami-0123456789abcdef0"
	ImageName  = "Fedora-Cloud-Base-Generic-41-20261101.0.x86_64"
	ImageOwner = "125523088429" // Fedora's
)

// Options say which world New builds. The zero value is an in-process
// emulator at T0 with the test network and image in Region.
type Options struct {
	// Start is the emulator's clock at the start; zero means T0.
	Start time.Time
	// Regions are the world's regions: the SDK's default region is the
	// first, and an in-process emulator gets the test network and image
	// (SeedNetwork) in each. Nil means Region.
	Regions []string
	// Endpoint, if set, is an EC2 endpoint already serving, such as an
	// emulator in another process: New then starts no emulator and leaves
	// Env.Sim nil; seeding it (SeedNetwork takes a client of its admin
	// API) is the caller's.
	Endpoint string
}

// Env is a running test world.
type Env struct {
	// Sim is the in-process emulator; nil with Options.Endpoint.
	Sim *ec2sim.Sim
	// Endpoint is the EC2 (and STS) endpoint URL.
	Endpoint string
	// KeysURL is the GitHub keys server's base URL (/<user>.keys).
	KeysURL string
}

// New builds the world opts describe; everything it starts stops when the
// test ends. It sets environment variables, so the test must not be
// parallel.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	e := &Env{Endpoint: opts.Endpoint}
	if e.Endpoint == "" {
		e.Sim = ec2sim.New(ec2sim.Options{Start: cmp.Or(opts.Start, T0)})
		regions := opts.Regions
		if len(regions) == 0 {
			regions = []string{Region}
		}
		for _, r := range regions {
			SeedNetwork(e.Sim, r)
		}
		srv := httptest.NewServer(e.Sim)
		t.Cleanup(srv.Close)
		e.Endpoint = srv.URL
	}
	keys := httptest.NewServer(KeysHandler(t))
	t.Cleanup(keys.Close)
	e.KeysURL = keys.URL
	SetAWSEnv(t, cmp.Or(firstOf(opts.Regions), Region))
	t.Setenv(StateKeyEnv, StateKey)
	return e
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// SetAWSEnv points the AWS SDK's environment at fake static credentials of
// the emulator's default account in region, and away from the host's
// profile, config and credentials files, CA bundle and instance metadata
// service.
func SetAWSEnv(t testing.TB, region string) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Seeder is what SeedNetwork needs of an emulator: *ec2sim.Sim, or a
// client of the admin API (/_sim/) of one running in another process.
type Seeder interface {
	AddVPC(account, region string, v ec2sim.VPC) string
	AddSubnet(account, region string, sn ec2sim.Subnet) string
	AddImage(region string, img ec2sim.Image) string
}

// SeedNetwork gives the emulator, in region of Account, what the test
// config files name: VPC with Subnet (in the region's zone "a"), and Image,
// public.
func SeedNetwork(sim Seeder, region string) {
	sim.AddVPC(Account, region, ec2sim.VPC{ID: VPC, CIDR: "10.0.0.0/16"})
	sim.AddSubnet(Account, region, ec2sim.Subnet{ID: Subnet, VPCID: VPC, AvailabilityZone: region + "a", CIDR: "10.0.1.0/24"})
	sim.AddImage(region, ec2sim.Image{ID: Image, OwnerID: ImageOwner, Name: ImageName, Architecture: "x86_64",
		RootDeviceName: "/dev/sda1", RootVolumeGiB: 5, Public: true, CreationDate: T0.Add(-22 * 24 * time.Hour)})
}

// Connect returns clients of the env's endpoint (see Connect).
func (e *Env) Connect(t testing.TB, maxAttempts int, accounts ...cloud.Account) []*cloud.Client {
	t.Helper()
	return Connect(t, e.Endpoint, maxAttempts, accounts...)
}

// Connect returns clients of endpoint for the given accounts' regions
// (none: Account in Region), signing state with State, and trying a call
// at most maxAttempts times (0: launchwarden's default). Their requests are
// paced by a Pacer, which never sleeps (see Pacer).
func Connect(t testing.TB, endpoint string, maxAttempts int, accounts ...cloud.Account) []*cloud.Client {
	t.Helper()
	if len(accounts) == 0 {
		accounts = []cloud.Account{{Name: "test", ID: Account, Regions: []string{Region}}}
	}
	clients, err := cloud.Connect(context.Background(), cloud.ConnectOptions{
		EndpointURL: endpoint, Accounts: accounts, MaxAttempts: maxAttempts, Pacer: Pacer(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.Keys = State
	}
	return clients
}

// Pacer returns a cloud.Pacer on a clock of its own, which starts at T0
// and moves only when the pacer waits, by the wait: requests draw on EC2's
// buckets as launchwarden's do, in the same order, but no test sleeps for
// them (stopping 1,500 instances in a region would otherwise wait 25 s of
// real time for StopInstances' resource bucket). The emulator meters
// nothing unless a test turns its throttling on.
func Pacer() *cloud.Pacer {
	var mu sync.Mutex
	now := T0
	return cloud.NewPacerOn(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}, func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
		return nil
	})
}
