package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/projects"
)

// runSim serves the EC2 emulator until ctx is done (SIGINT/SIGTERM).
func runSim(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:4566", "loopback `address` to serve EC2 and STS on")
	allowRemote := fs.Bool("allow-remote", false, "allow a --listen address other than loopback (anyone who reaches it controls the emulator)")
	clock := fs.String("clock", "wall", "`wall`: simulated time follows the wall clock, so instances leave pending in seconds; manual: it moves only by POST /_sim/clock")
	startAt := fs.String("start", "", "initial simulated time, RFC 3339 (default: now with --clock wall, 2026-01-01T00:00:00Z with --clock manual)")
	seed := fs.Int("seed", 0, "create `N` random unmanaged instances in the default account, us-east-1")
	account := fs.String("account", "123456789012", "default AWS `account` id")
	configDir := fs.String("config", "", "seed the VPCs, subnets and images the config repo in `DIR` names")
	verbose := fs.Bool("v", false, "log every request")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: launchwarden sim [flags]")
		fmt.Fprintln(e.stderr)
		fmt.Fprintln(e.stderr, "Runs an EC2 emulator speaking the EC2 Query protocol, with admin controls at /_sim/.")
		fmt.Fprintln(e.stderr, "Neither EC2 calls nor /_sim/ are authenticated: it serves loopback only unless --allow-remote.")
		fmt.Fprintln(e.stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError("sim: %v", err)
	}
	if fs.NArg() > 0 {
		return usageError("sim: unexpected arguments %q", fs.Args())
	}
	if err := checkLoopback(*listen, *allowRemote); err != nil {
		return err
	}
	opts := ec2sim.Options{DefaultAccount: *account}
	switch *clock {
	case "wall":
		// EC2 moves an instance out of pending or stopping within seconds
		// or minutes on its own; so does the emulator, with the defaults
		// of ec2sim.Options (10s pending, 30s stopping).
		opts.Clock = time.Now
		opts.Start = time.Now().UTC().Truncate(time.Second)
	case "manual":
	default:
		return usageError("sim: --clock must be wall or manual, not %q", *clock)
	}
	if *startAt != "" {
		t, err := time.Parse(time.RFC3339, *startAt)
		if err != nil {
			return usageError("sim: --start: %v", err)
		}
		opts.Start = t
	}
	if *seed < 0 {
		return usageError("sim: --seed must not be negative")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	sim := ec2sim.New(opts)
	seedRandom(sim, *seed)
	if *configDir != "" {
		cfg, problems := projects.Load(*configDir)
		if cfg.Admin == nil {
			return usageError("sim: --config: %s/%s is invalid: %v", *configDir, projects.AdminFile, problems)
		}
		seedConfig(sim, cfg)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stdout, "EC2 emulator listening on http://%s\n", ln.Addr())
	fmt.Fprintf(e.stdout, "Clock: %s, now %s. Admin API at http://%s/_sim/ is unauthenticated: anyone who can reach it controls the emulator.\n",
		*clock, sim.Now().Format(time.RFC3339), ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sim: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("sim: shutdown: %w", err)
	}
	return nil
}

// seedRandom creates n instances of assorted types and states, launched
// during the 30 days before the simulated now.
func seedRandom(sim *ec2sim.Sim, n int) {
	types := []string{"t3.micro", "t3.medium", "m5.large", "m6i.xlarge", "c6i.2xlarge", "t4g.small"}
	states := []string{ec2sim.StateRunning, ec2sim.StateRunning, ec2sim.StateRunning, ec2sim.StateStopped}
	now := sim.Now()
	for i := range n {
		sim.Seed(ec2sim.SeedInstance{
			InstanceType: types[rand.IntN(len(types))],
			State:        states[rand.IntN(len(states))],
			LaunchTime:   now.Add(-time.Duration(rand.Int64N(int64(30 * 24 * time.Hour)))),
			Tags:         map[string]string{"Name": fmt.Sprintf("seeded-%d", i)},
		})
	}
}

// seedConfig makes real in sim what the config repo cfg names, as EC2 has
// it before launchwarden's first run: each account's configured VPC and
// subnets in each of its regions (subnets spread over the zones a, b, c),
// every template's image id, public, in its region (a plain id in every
// configured region, since the config allows one only where there is one
// region), and for every image selector one public image it matches in
// every region, owned by its first owner.
func seedConfig(sim *ec2sim.Sim, cfg *projects.Config) {
	if cfg == nil || cfg.Admin == nil {
		return
	}
	regions := map[string]bool{}
	for _, a := range cfg.Admin.AWS.Accounts {
		for _, r := range a.Regions {
			regions[r] = true
			n := a.Network(r)
			if n.VPCID == "" {
				continue
			}
			sim.AddVPC(a.ID, r, ec2sim.VPC{ID: n.VPCID})
			for i, id := range n.SubnetIDs {
				sim.AddSubnet(a.ID, r, ec2sim.Subnet{ID: id, VPCID: n.VPCID, AvailabilityZone: r + string(rune('a'+i%3))})
			}
		}
	}
	for _, p := range cfg.Projects {
		for _, t := range p.Templates {
			for _, r := range slices.Sorted(maps.Keys(regions)) {
				switch {
				case t.ImageID(r) != "":
					sim.AddImage(r, ec2sim.Image{ID: t.ImageID(r), OwnerID: "125523088429", Name: p.Name + "-" + t.Name + "-image", Public: true})
				case t.ImageSelector != nil:
					s := t.ImageSelector
					img := ec2sim.Image{Name: strings.NewReplacer("*", "20260101.0", "?", "0").Replace(s.Name), Architecture: s.Architecture, Public: true}
					switch owner := s.Owners[0]; owner {
					case "self":
						img.OwnerID = cfg.Admin.AWS.Accounts[0].ID
					case "amazon", "aws-marketplace":
						img.OwnerAlias = owner
					default:
						img.OwnerID = owner
					}
					sim.AddImage(r, img)
				}
			}
		}
	}
}

// checkLoopback refuses a listen address that is not loopback unless
// allowed: the emulator and its /_sim/ admin API take any request.
func checkLoopback(addr string, allow bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError("sim: --listen %q: %v", addr, err)
	}
	if allow || host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return usageError("sim: --listen %s is not a loopback address; the emulator and its admin API /_sim/ are unauthenticated, so add --allow-remote to serve them there anyway", addr)
}
