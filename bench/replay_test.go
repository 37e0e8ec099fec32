package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// sdkConfig is the configuration of the plain SDK clients the benchmarks
// measure launchwarden's against: the default chain (testenv's fake
// credentials) and the retryer launchwarden's clients have (cloud.Connect).
func sdkConfig(ctx context.Context, tb testing.TB) aws.Config {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts, o.RateLimiter = 8, ratelimit.None })
	}))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// call is one SDK operation a run made: where, which, and the input it
// was given.
type call struct {
	region, service, operation string
	input                      any
}

// callLog records the operations of launchwarden's clients while on, all
// but the instance listing (DescribeInstances, which the listing floor
// measures), in the order they began. Recording is cheap: an append under
// a mutex per operation, not per retry.
type callLog struct {
	on       atomic.Bool
	mu       sync.Mutex
	calls    []call
	listings int
}

// middleware is the cloud.ConnectOptions.APIOptions entry that feeds the
// log: in the Initialize step, so each operation is seen once with the
// input the caller passed, whatever its retries.
func (l *callLog) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.RecordCall",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if l.on.Load() {
				c := call{awsmiddleware.GetRegion(ctx), awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), in.Parameters}
				l.mu.Lock()
				if c.service == "EC2" && c.operation == "DescribeInstances" {
					l.listings++
				} else {
					l.calls = append(l.calls, c)
				}
				l.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// start forgets what was recorded and records from now on.
func (l *callLog) start() {
	l.mu.Lock()
	l.calls, l.listings = nil, 0
	l.mu.Unlock()
	l.on.Store(true)
}

// stop ends recording and returns the calls recorded since start, and how
// many instance listing pages were left out.
func (l *callLog) stop() (calls []call, listings int) {
	l.on.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls, l.listings
}

// replayResult is the cost of the SDK making a run's calls again.
type replayResult struct {
	calls           int
	cpu             float64
	allocs, allocMB float64
}

// replayClients are the plain SDK clients of one region.
type replayClients struct {
	ec2 *ec2.Client
	sts *sts.Client
}

// replayer returns the replay of one recorded call through plain SDK
// clients, or an error for an operation it does not know: the replay must
// be complete. Only operations that the same world answers alike a second
// time are known: reads, and writes EC2 makes idempotent — CreateTags and
// DeleteTags set or remove the same values again, TerminateInstances "is
// idempotent; if you terminate an instance more than once, each call
// succeeds" (API reference, TerminateInstances), and StopInstances of an
// instance stopping or stopped answers its state (ec2sim; the API
// reference does not say).
func replayer(in any) (func(context.Context, replayClients) error, error) {
	switch in := in.(type) {
	case *ec2.CreateTagsInput:
		return func(ctx context.Context, c replayClients) error { _, err := c.ec2.CreateTags(ctx, in); return err }, nil
	case *ec2.DeleteTagsInput:
		return func(ctx context.Context, c replayClients) error { _, err := c.ec2.DeleteTags(ctx, in); return err }, nil
	case *ec2.StopInstancesInput:
		return func(ctx context.Context, c replayClients) error { _, err := c.ec2.StopInstances(ctx, in); return err }, nil
	case *ec2.TerminateInstancesInput:
		return func(ctx context.Context, c replayClients) error {
			_, err := c.ec2.TerminateInstances(ctx, in)
			return err
		}, nil
	case *ec2.DescribeLaunchTemplatesInput:
		return func(ctx context.Context, c replayClients) error {
			_, err := c.ec2.DescribeLaunchTemplates(ctx, in)
			return err
		}, nil
	case *ec2.DescribeLaunchTemplateVersionsInput:
		return func(ctx context.Context, c replayClients) error {
			_, err := c.ec2.DescribeLaunchTemplateVersions(ctx, in)
			return err
		}, nil
	case *ec2.DescribeSecurityGroupsInput:
		return func(ctx context.Context, c replayClients) error {
			_, err := c.ec2.DescribeSecurityGroups(ctx, in)
			return err
		}, nil
	case *ec2.DescribeInstanceTypesInput:
		return func(ctx context.Context, c replayClients) error {
			_, err := c.ec2.DescribeInstanceTypes(ctx, in)
			return err
		}, nil
	case *ec2.DescribeImagesInput:
		return func(ctx context.Context, c replayClients) error { _, err := c.ec2.DescribeImages(ctx, in); return err }, nil
	case *ec2.DescribeSubnetsInput:
		return func(ctx context.Context, c replayClients) error { _, err := c.ec2.DescribeSubnets(ctx, in); return err }, nil
	case *ec2.DescribeVpcsInput:
		return func(ctx context.Context, c replayClients) error { _, err := c.ec2.DescribeVpcs(ctx, in); return err }, nil
	case *sts.GetCallerIdentityInput:
		return func(ctx context.Context, c replayClients) error {
			_, err := c.sts.GetCallerIdentity(ctx, in)
			return err
		}, nil
	}
	return nil, fmt.Errorf("no replay for %T", in)
}

// replay makes calls again through plain SDK clients built as the listing
// floor's (sdkConfig, one per region, the emulator as endpoint): the
// regions side by side, a region's calls one after another in the order
// the run began them, with the emulator's latency as it is and its
// throttling off, so that no call is retried. It measures the process's
// CPU (getrusage) and allocations over the replay alone, and fails tb
// unless every call succeeded and the emulator received exactly the calls
// recorded.
func (w *world) replay(ctx context.Context, tb testing.TB, calls []call) replayResult {
	tb.Helper()
	cfg := sdkConfig(ctx, tb)
	clients := map[string]replayClients{}
	for _, r := range w.regions {
		clients[r] = replayClients{
			ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region, o.BaseEndpoint = r, aws.String(w.sim.URL) }),
			sts: sts.NewFromConfig(cfg, func(o *sts.Options) { o.Region, o.BaseEndpoint = r, aws.String(w.sim.URL) }),
		}
	}
	byRegion := map[string][]func(context.Context, replayClients) error{}
	for _, c := range calls {
		if _, ok := clients[c.region]; !ok {
			tb.Fatalf("a %s %s call in %q, not a region of the world", c.service, c.operation, c.region)
		}
		f, err := replayer(c.input)
		if err != nil {
			tb.Fatalf("%s %s: %v", c.service, c.operation, err)
		}
		byRegion[c.region] = append(byRegion[c.region], f)
	}
	w.sim.SetThrottling(false)
	w.sim.ResetCalls()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime(tb)
	var made atomic.Int64
	errs := make(chan error, len(calls))
	var wg sync.WaitGroup
	for region, fs := range byRegion {
		wg.Go(func() {
			for _, f := range fs {
				if err := f(ctx, clients[region]); err != nil {
					errs <- err
					continue
				}
				made.Add(1)
			}
		})
	}
	wg.Wait()
	cpu := cpuTime(tb) - cpu0
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	close(errs)
	for err := range errs {
		tb.Errorf("replay: %v", err)
	}

	received := 0
	for _, r := range w.regions {
		received += w.callsIn(r).Total()
	}
	if int(made.Load()) != len(calls) || received != len(calls) {
		tb.Fatalf("replayed %d of %d recorded calls; the emulator received %d requests (retries count)", made.Load(), len(calls), received)
	}
	return replayResult{calls: len(calls), cpu: cpu.Seconds(),
		allocs: float64(after.Mallocs - before.Mallocs), allocMB: float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)}
}

// TestReplayOfARun: the calls of a run that finds its templates in place
// (the runs BenchmarkRun replays) are all recorded and all replayable,
// the replay makes exactly as many, and it leaves the world as the run
// left it.
func TestReplayOfARun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/launchwarden")
	}
	const projects, instances = 10, 100
	ctx := context.Background()
	w := newWorld(t, projects, allRegions[:2])
	cfg := w.config()
	w.setUp(ctx, cfg)
	w.seedFleet(projects, instances, false)
	w.sim.ResetCalls()
	w.log.start()
	_, _, rep := w.run(ctx, cfg)
	calls, listings := w.log.stop()
	if len(rep.Stopped) != 20 || len(rep.Terminated) != 10 {
		t.Fatalf("the run stopped %d and terminated %d instances, want 20 and 10", len(rep.Stopped), len(rep.Terminated))
	}
	// Nothing throttles here, so each operation is one request: the log
	// holds every request the emulator received.
	received := 0
	for _, r := range w.regions {
		received += w.callsIn(r).Total()
	}
	if len(calls)+listings != received {
		t.Errorf("recorded %d calls and %d listing pages, the emulator received %d requests", len(calls), listings, received)
	}
	ops := map[string]int{}
	for _, c := range calls {
		ops[c.operation]++
	}
	for _, op := range []string{"GetCallerIdentity", "CreateTags", "StopInstances", "TerminateInstances", "DescribeLaunchTemplates"} {
		if ops[op] == 0 {
			t.Errorf("no %s recorded: %v", op, ops)
		}
	}
	if listings != len(w.regions) {
		t.Errorf("%d instance listing pages left out, want one per region (%d)", listings, len(w.regions))
	}
	left := map[string][]ec2sim.Instance{}
	for _, r := range w.regions {
		left[r] = w.sim.Instances(account, r)
	}
	res := w.replay(ctx, t, calls)
	t.Logf("replayed %d calls (%v) in %.3f s of CPU", res.calls, ops, res.cpu)
	if res.calls != len(calls) || res.cpu <= 0 {
		t.Errorf("replay = %+v, want %d calls and some CPU", res, len(calls))
	}
	for _, r := range w.regions {
		if diff := cmp.Diff(left[r], w.sim.Instances(account, r)); diff != "" {
			t.Errorf("%s: the replay changed the instances (-after the run +after the replay):\n%s", r, diff)
		}
	}
}
