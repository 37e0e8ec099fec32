package bench

import (
	"context"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

const account = testenv.Account

var t0 = testenv.T0

var allRegions = []string{"us-east-1", "eu-west-1", "ap-south-1"}

// adminTOML is the admin file of a fleet: caps high enough that no project
// is over quota, and a per-run cap that holds nothing back, so a run does
// everything its plan says.
func adminTOML(regions []string) string {
	return fmt.Sprintf(`schedule = "@every 1h"

[aws]
[[aws.accounts]]
name = "bench"
id = %q
regions = %s
%s
[slack]
admin_channel = "#lw-admins"
token_env = "LW_BENCH_SLACK_TOKEN"

[defaults.lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"
terminate_stopped_after = "2d"

[caps]
max_instances = 100000
max_vcpus = 1000000
allowed_instance_types = ["t3.*"]
max_volume_gib = 500
max_ttl = "14d"
max_lifetime = "30d"
min_notice = "2h"

[safety]
max_destructive_per_run = 1000000
orphan_grace = "3d"
enforce = true
`, account, quoted(regions), networks(regions))
}

func networks(regions []string) string {
	var b strings.Builder
	for _, r := range regions {
		fmt.Fprintf(&b, "\n[aws.accounts.networks.%s]\nvpc_id = %q\n", r, testenv.VPC)
	}
	return b.String()
}

func quoted(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// writeConfig writes a config repo of n projects with one template each,
// owned by 50 distinct GitHub users.
func writeConfig(tb testing.TB, dir string, n int, regions []string) {
	tb.Helper()
	files := map[string]string{"launchwarden.toml": adminTOML(regions)}
	for i := range n {
		name := projectName(i)
		files["projects/"+name+".toml"] = fmt.Sprintf(`owners = ["user%02d"]

[slack]
channel = "#%s"

[limits]
max_instances = 10000
max_vcpus = 100000

[[templates]]
name = "fedora"
image = { owners = ["125523088429"], name = "Fedora-Cloud-Base-Generic-41-*", architecture = "x86_64" }
instance_type = "t3.large"
volume_gib = 40
ssh_from = ["203.0.113.0/24"]
`, i%50, name)
	}
	testenv.WriteRepo(tb, dir, files)
}

func projectName(i int) string { return fmt.Sprintf("p%04d", i) }

// world is a config repo, the EC2 emulator in its own process over
// loopback HTTP reached by the real SDK, a GitHub keys server (testenv) and
// a Slack that accepts everything.
type world struct {
	tb      testing.TB
	sim     *emulator
	dir     string
	regions []string
	// clients pace themselves to EC2's request rates, as launchwarden's
	// do; setup reaches the same emulator unpaced, to build the fleet fast.
	clients, setup []*cloud.Client
	// log records the calls of clients while on (see callLog).
	log     *callLog
	keysURL string
	slack   *countingSender
}

// templateIDs returns the IDs of the templates of a region by name, as EC2
// marks the instances launched from them.
func (w *world) templateIDs(region string) map[string]string {
	ids := map[string]string{}
	for _, lt := range w.sim.LaunchTemplates(account, region) {
		ids[lt.Name] = lt.ID
	}
	return ids
}

// templateID returns the ID of a project's template "fedora" among ids (a
// region's templates by name). A template the runs have not made yet is
// made as an earlier launchwarden would have (a first run then brings it up
// to date).
func (w *world) templateID(ids map[string]string, region, project string) string {
	name := reconcile.Name(project, "fedora")
	if id, ok := ids[name]; ok {
		return id
	}
	for _, c := range w.setup {
		if c.Region == region {
			ids[name] = testenv.EarlierTemplate(w.tb, c, name, project, "fedora")
			return ids[name]
		}
	}
	w.tb.Fatalf("no client for %s", region)
	return ""
}

func newWorld(tb testing.TB, projectCount int, regions []string) *world {
	tb.Helper()
	sim := startEmulator(tb, t0)
	for _, r := range regions {
		// The VPC networks() configures, a subnet, and the image the
		// templates' selector finds.
		testenv.SeedNetwork(sim, r)
	}
	env := testenv.New(tb, testenv.Options{Endpoint: sim.URL, Regions: regions})
	accounts := []cloud.Account{{Name: "bench", ID: account, Regions: regions}}
	log := &callLog{}
	connect := func(opts cloud.ConnectOptions) []*cloud.Client {
		opts.EndpointURL, opts.Accounts = sim.URL, accounts
		clients, err := cloud.Connect(context.Background(), opts)
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range clients {
			c.Keys = testenv.State
		}
		return clients
	}
	w := &world{tb: tb, sim: sim, dir: tb.TempDir(), regions: regions,
		clients: connect(cloud.ConnectOptions{APIOptions: []func(*middleware.Stack) error{log.middleware}}),
		setup:   connect(cloud.ConnectOptions{Unpaced: true}),
		log:     log, keysURL: env.KeysURL, slack: &countingSender{}}
	writeConfig(tb, w.dir, projectCount, regions)
	return w
}

// seedFleet adds n instances spread over the projects and regions, in a
// mix that gives a run work of every kind: 40% fresh, 20% entering the
// warning window (notify), 20% past expiry with the stop announced (stop),
// 10% stopped for days with termination announced (terminate), 10% past
// expiry never announced (notify with a deadline min_notice away). A
// steady fleet is all fresh: nothing is due, as on most runs.
//
// Every instance was launched from its project's template (EC2's
// aws:ec2launchtemplate:id), and its notices are signed as launchwarden
// writes them: a notice value is shared by the instances of a project and
// stage announced in one run.
func (w *world) seedFleet(projectCount, n int, steady bool) {
	now := w.sim.Now()
	templates := map[string]map[string]string{}
	ids := map[string]string{}
	fleet := make([]ec2sim.SeedInstance, 0, n)
	notice := func(stage, project string, at time.Time) string {
		return testenv.State.Sign("", cloud.TagNotice, stage+"@"+at.UTC().Format(time.RFC3339)+" p="+project+" r=bench-earlier")
	}
	for i := range n {
		p := projectName(i % projectCount)
		region := w.regions[i%len(w.regions)]
		key := region + "/" + p
		if ids[key] == "" {
			if templates[region] == nil {
				templates[region] = w.templateIDs(region)
			}
			ids[key] = w.templateID(templates[region], region, p)
		}
		tags := map[string]string{"aws:ec2launchtemplate:id": ids[key], cloud.TagProject: p, cloud.TagTemplate: "fedora"}
		state := ec2sim.StateRunning
		var born time.Time
		mix := i % 10
		if steady {
			mix = 0
		}
		switch mix {
		case 0, 1, 2, 3:
			born = now.Add(-time.Hour)
		case 4, 5:
			born = now.Add(-20 * time.Hour)
		case 6, 7:
			born = now.Add(-27 * time.Hour)
			tags[cloud.TagNotice] = notice("stop", p, born.Add(22*time.Hour)) // deadline: born+24h, min_notice 2h
		case 8:
			born = now.Add(-5 * 24 * time.Hour)
			state = ec2sim.StateStopped
			tags[cloud.TagNotice] = notice("terminate", p, now.Add(-3*time.Hour)) // deadline: an hour ago
		case 9:
			born = now.Add(-30 * time.Hour)
		}
		fleet = append(fleet, ec2sim.SeedInstance{
			ID: fmt.Sprintf("i-%017x", i+1), ImageID: testenv.Image, InstanceType: "t3.large", State: state,
			LaunchTime: born, AttachTime: born, Tags: tags, Account: account, Region: region,
		})
	}
	w.sim.Seed(fleet)
}

// config loads the repo; every project must validate.
func (w *world) config() *projects.Config {
	w.tb.Helper()
	cfg, problems := projects.Load(w.dir)
	if cfg.Admin == nil || len(cfg.Frozen) > 0 {
		w.tb.Fatalf("config: %v", problems)
	}
	return cfg
}

// run observes, plans and applies once at the emulator's time, with paced
// clients as launchwarden's are.
func (w *world) run(ctx context.Context, cfg *projects.Config) (*reconcile.Observation, *reconcile.RunPlan, *reconcile.Report) {
	w.tb.Helper()
	return w.runWith(ctx, cfg, w.clients)
}

// setUp is run with unpaced clients, to build a fleet fast.
func (w *world) setUp(ctx context.Context, cfg *projects.Config) {
	w.tb.Helper()
	w.runWith(ctx, cfg, w.setup)
}

func (w *world) runWith(ctx context.Context, cfg *projects.Config, clients []*cloud.Client) (*reconcile.Observation, *reconcile.RunPlan, *reconcile.Report) {
	w.tb.Helper()
	obs, err := reconcile.Observe(ctx, cfg, clients, &sshkeys.Fetcher{BaseURL: w.keysURL}, nil)
	if err != nil {
		w.tb.Fatalf("observe: %v", err)
	}
	plan := reconcile.Plan(cfg, obs, w.sim.Now(), "bench")
	rep, err := reconcile.Apply(ctx, plan, reconcile.Deps{Clients: clients, Sender: w.slack})
	if err != nil {
		w.tb.Fatalf("apply: %v", err)
	}
	if err := rep.Err(); err != nil {
		w.tb.Fatalf("apply failed operations: %v", err)
	}
	return obs, plan, rep
}

// callsIn returns the emulator's call counts in one region.
func (w *world) callsIn(region string) Calls { return w.sim.CallsIn(account, region) }

// countingSender delivers every digest and counts them.
type countingSender struct{ n atomic.Int64 }

func (s *countingSender) Send(context.Context, notify.Digest) error {
	s.n.Add(1)
	return nil
}

// cpuTime is the CPU (user + system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapPeak samples the bytes of live and not-yet-swept heap objects and
// keeps the highest: every 5 ms while the heap moves, less and less often
// (up to every 320 ms) while it stands still. A run waiting minutes for
// EC2's resource buckets allocates nothing, and waking every 5 ms through
// such a wait would cost the process seconds of CPU (about 30 ms a second
// on the 2-CPU machine), which the run's CPU figure would then count as
// launchwarden's. The heap only rises by allocating, and the first sample
// after it starts moving again comes within 320 ms.
type heapPeak struct {
	start uint64
	peak  atomic.Uint64
	stop  chan struct{}
	done  chan struct{}
}

const (
	heapSampleMin = 5 * time.Millisecond
	heapSampleMax = 320 * time.Millisecond
)

func startHeapPeak() *heapPeak {
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	last := uint64(0)
	// read samples the heap and reports whether it moved since the last
	// sample.
	read := func() bool {
		metrics.Read(sample)
		v := sample[0].Value.Uint64()
		if v > h.peak.Load() {
			h.peak.Store(v)
		}
		moved := v != last
		last = v
		return moved
	}
	read()
	h.start = h.peak.Load()
	go func() {
		defer close(h.done)
		every := heapSampleMin
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				read()
				return
			case <-t.C:
				if read() {
					every = heapSampleMin
				} else {
					every = min(2*every, heapSampleMax)
				}
				t.Reset(every)
			}
		}
	}()
	return h
}

// MiB stops sampling and returns the peak in MiB.
func (h *heapPeak) MiB() float64 {
	close(h.stop)
	<-h.done
	return float64(h.peak.Load()) / (1 << 20)
}

// growthMiB stops sampling and returns how far the peak rose above the
// heap at the start, in MiB: what the measured step added.
func (h *heapPeak) growthMiB() float64 {
	peak := h.MiB()
	return peak - float64(h.start)/(1<<20)
}
