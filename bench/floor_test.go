package bench

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/launchwarden/launchwarden/cloud"
)

// floorResult is the cost of the SDK listing a fleet and nothing else.
type floorResult struct {
	instances          int
	steady             bool // the fleet of the steady run (see seedFleet)
	wall, cpu, heapMiB float64
	allocs, allocMB    float64
}

var floorResults []floorResult

// listingFloor measures the floor under a run's CPU on the run's own world,
// right before the run: the SDK paging DescribeInstances over w's fleet
// (the filter Observe uses, 1,000 per page, the regions side by side as
// Observe works them, the run's latency and rate limits) through plain SDK
// clients and dropping every page, so the CPU is the SDK's request signing
// and XML decoding alone. Measuring it next to the run, in the same
// process, keeps the machine's drift out of their difference.
func (w *world) listingFloor(ctx context.Context, b *testing.B, steady bool) floorResult {
	cfg := sdkConfig(ctx, b)
	var clients []*ec2.Client
	for _, r := range w.regions {
		clients = append(clients, ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			o.Region, o.BaseEndpoint = r, aws.String(w.sim.URL)
		}))
	}
	w.sim.SetLatency(latency)
	w.sim.SetThrottling(true)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	heap := startHeapPeak()
	cpu0, start := cpuTime(b), time.Now()
	listed := make([]int, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { listed[i] = listAll(ctx, b, c) })
	}
	wg.Wait()
	cpu, wall := cpuTime(b)-cpu0, time.Since(start)
	heapMiB := heap.MiB()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := 0
	for _, l := range listed {
		n += l
	}
	w.sim.SetLatency(0)
	w.sim.SetThrottling(false)
	return floorResult{instances: n, steady: steady, wall: wall.Seconds(), cpu: cpu.Seconds(), heapMiB: heapMiB,
		allocs: float64(after.Mallocs - before.Mallocs), allocMB: float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)}
}

// listAll pages through the instances Observe lists and returns how many
// there were.
func listAll(ctx context.Context, tb testing.TB, c *ec2.Client) int {
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{
		Filters:    []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{"aws:ec2launchtemplate:id", cloud.TagProject, cloud.TagAdopted}}},
		MaxResults: aws.Int32(1000),
	})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			tb.Error(err)
			return n
		}
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
	}
	return n
}
