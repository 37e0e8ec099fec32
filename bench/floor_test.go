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

// BenchmarkListInstancesSDK measures the floor under a run's CPU: the SDK
// paging DescribeInstances over the 100,000-instance fleet of BenchmarkRun
// (same filter, 1,000 per page, the three regions side by side as Observe
// works them, the same latency and rate limits) and dropping every page, so
// the CPU is the SDK's request signing and XML decoding alone. It lists
// both fleets of the 100,000-instance runs: the mixed one and the steady
// one, whose instances carry no notices.
func BenchmarkListInstancesSDK(b *testing.B) {
	for _, steady := range []bool{false, true} {
		name := "fleet=mixed"
		if steady {
			name = "fleet=steady"
		}
		b.Run(name, func(b *testing.B) { benchmarkListInstancesSDK(b, steady) })
	}
}

func benchmarkListInstancesSDK(b *testing.B, steady bool) {
	const projects, instances = 1000, 100_000
	b.StopTimer() // the world is not the floor
	ctx := context.Background()
	w := newWorld(b, projects, allRegions)
	w.run(ctx, w.config())
	w.seedFleet(projects, instances, steady)
	cfg := sdkConfig(ctx, b)
	var clients []*ec2.Client
	for _, r := range allRegions {
		clients = append(clients, ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			o.Region, o.BaseEndpoint = r, aws.String(w.sim.URL)
		}))
	}
	w.sim.SetLatency(latency)
	w.sim.SetThrottling(true)
	var r floorResult
	for i := range b.N * measureRepeats { // the least CPU of the repeats is kept
		b.StopTimer()
		if i > 0 {
			time.Sleep(bucketRest)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		heap := startHeapPeak()
		cpu0, start := cpuTime(b), time.Now()
		b.StartTimer()
		var listed [3]int
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() { listed[i] = listAll(ctx, b, c) })
		}
		wg.Wait()
		b.StopTimer()
		cpu, wall := cpuTime(b)-cpu0, time.Since(start)
		heapMiB := heap.MiB()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if n := listed[0] + listed[1] + listed[2]; n != instances {
			b.Fatalf("listed %d instances, want %d", n, instances)
		}
		if i == 0 || cpu.Seconds() < r.cpu {
			r = floorResult{instances: instances, steady: steady, wall: wall.Seconds(), cpu: cpu.Seconds(), heapMiB: heapMiB,
				allocs: float64(after.Mallocs - before.Mallocs), allocMB: float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)}
		}
	}
	b.ReportMetric(r.cpu, "cpu-s")
	b.ReportMetric(r.heapMiB, "peak-heap-MiB")
	resultsMu.Lock()
	floorResults = append(floorResults, r)
	resultsMu.Unlock()
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
