package cloud

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// BenchmarkObserve100k observes a region holding 100,000 launchwarden
// instances (and 1,000 foreign ones) through the real SDK and the emulator
// over loopback. The emulator runs in the same process, so the heap figures
// include its side of the exchange:
//   - calls/op: EC2 calls per observation;
//   - peak-heap-MiB: the highest live heap seen while observing, sampled;
//   - base-heap-MiB: the heap before observing (the emulator's state);
//   - snapshot-MiB: what one Snapshot retains after garbage collection.
func BenchmarkObserve100k(b *testing.B) {
	const n = 100_000
	sim, url := newSim(b)
	for i := range n {
		sim.Seed(ec2sim.SeedInstance{
			InstanceType: []string{"t3.micro", "m5.large", "c5.xlarge"}[i%3],
			Tags:         map[string]string{TagProject: "packit", TagTemplate: "fedora"},
		})
	}
	for range 1000 {
		sim.Seed(ec2sim.SeedInstance{Tags: map[string]string{"Name": "not ours"}})
	}
	c := connect(b, url)[0]
	sim.ResetCalls()

	runtime.GC()
	base := heapBytes()
	peak := sampleHeapPeak()

	var snap *Snapshot
	b.ReportAllocs()
	for b.Loop() {
		var err error
		snap, err = c.Observe(b.Context())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	peakBytes := peak()
	if len(snap.Instances) != n {
		b.Fatalf("observed %d instances, want %d", len(snap.Instances), n)
	}
	calls := total(sim.CallCounts())
	runtime.GC()
	retained := heapBytes() - base
	runtime.KeepAlive(snap)

	const mib = 1 << 20
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(peakBytes)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(base)/mib, "base-heap-MiB")
	b.ReportMetric(float64(retained)/mib, "snapshot-MiB")
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// heapBytes returns the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeapPeak samples the heap every millisecond, without stopping the
// world, until the returned function is called; that returns the highest value.
func sampleHeapPeak() func() uint64 {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapBytes())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}
