package bench

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
)

var profileDir = flag.String("profile-dir", "", "write a CPU profile and a heap profile of each measured run into `DIR` (go tool pprof)")

// startProfiles starts a CPU profile of one measured run, if -profile-dir
// is set; the function it returns stops it and writes the heap profile
// (allocations and what is live, at the end of the run; NAME.start.heap.pprof
// is the same at its start, for pprof -diff_base).
func startProfiles(tb testing.TB, name string) (stop func()) {
	if *profileDir == "" {
		return func() {}
	}
	base := filepath.Join(*profileDir, strings.NewReplacer("/", "_", "=", "-").Replace(name))
	if err := os.MkdirAll(*profileDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	writeHeap(tb, base+".start.heap.pprof")
	cpu, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		tb.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := cpu.Close(); err != nil {
			tb.Error(err)
		}
		writeHeap(tb, base+".heap.pprof")
	}
}

func writeHeap(tb testing.TB, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		tb.Error(err)
	}
}
