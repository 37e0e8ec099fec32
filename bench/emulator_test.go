package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// emulator is `launchwarden sim` running in a process of its own, driven
// through its admin API (/_sim/, see cloud/ec2sim/admin.go): the CPU and
// heap of the process that runs the benchmarks are launchwarden's alone,
// not the emulator's XML encoding and state.
type emulator struct {
	tb   testing.TB
	cmd  *exec.Cmd
	URL  string
	http *http.Client
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// launchwardenBinary builds cmd/launchwarden once per test binary, into a
// directory TestMain removes; the build cache makes later builds cheap.
func launchwardenBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "launchwarden-bench-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "launchwarden")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/launchwarden/launchwarden/cmd/launchwarden").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ./cmd/launchwarden: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// removeBinary removes what launchwardenBinary built.
func removeBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// startEmulator starts `launchwarden sim` on a free loopback port with a
// manual clock at start, and stops it when tb ends.
func startEmulator(tb testing.TB, start time.Time) *emulator {
	tb.Helper()
	cmd := exec.Command(launchwardenBinary(tb), "sim", "--listen", "127.0.0.1:0", "--clock", "manual", "--start", start.Format(time.RFC3339))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	e := &emulator{tb: tb, cmd: cmd, http: &http.Client{Timeout: 5 * time.Minute}}
	tb.Cleanup(e.stop)
	// The first line names the address: "EC2 emulator listening on http://…".
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		tb.Fatalf("launchwarden sim said nothing: %v", lines.Err())
	}
	_, addr, ok := strings.Cut(lines.Text(), " listening on ")
	if !ok {
		tb.Fatalf("launchwarden sim: unexpected first line %q", lines.Text())
	}
	e.URL = strings.TrimSpace(addr)
	go io.Copy(io.Discard, stdout)
	return e
}

func (e *emulator) stop() {
	if e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		_ = e.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

// do sends a request to the admin API and decodes a JSON answer into out
// (if not nil).
func (e *emulator) do(method, path string, body, out any) {
	e.tb.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			e.tb.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		e.tb.Fatalf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		e.tb.Fatalf("%s %s: decoding the answer: %v", method, path, err)
	}
}

func where(account, region string) string {
	return "?" + url.Values{"account": {account}, "region": {region}}.Encode()
}

// Now is the emulator's simulated time.
func (e *emulator) Now() time.Time {
	var out struct{ Now time.Time }
	e.do("GET", "/_sim/clock", nil, &out)
	return out.Now
}

// Seed creates the instances, in requests of at most 10,000.
func (e *emulator) Seed(ins []ec2sim.SeedInstance) {
	for len(ins) > 0 {
		n := min(len(ins), 10_000)
		e.do("POST", "/_sim/seed", ins[:n], nil)
		ins = ins[n:]
	}
}

func (e *emulator) AddVPC(account, region string, v ec2sim.VPC) string {
	var out struct{ IDs []string }
	e.do("POST", "/_sim/vpcs", struct {
		Account string `json:"account"`
		Region  string `json:"region"`
		ec2sim.VPC
	}{account, region, v}, &out)
	return out.IDs[0]
}

func (e *emulator) AddSubnet(account, region string, sn ec2sim.Subnet) string {
	var out struct{ IDs []string }
	e.do("POST", "/_sim/subnets", struct {
		Account string `json:"account"`
		Region  string `json:"region"`
		ec2sim.Subnet
	}{account, region, sn}, &out)
	return out.IDs[0]
}

func (e *emulator) AddImage(region string, img ec2sim.Image) string {
	var out struct{ IDs []string }
	e.do("POST", "/_sim/images", struct {
		Region string `json:"region"`
		ec2sim.Image
	}{region, img}, &out)
	return out.IDs[0]
}

func (e *emulator) LaunchTemplates(account, region string) []ec2sim.LaunchTemplate {
	var out []ec2sim.LaunchTemplate
	e.do("GET", "/_sim/launch-templates"+where(account, region), nil, &out)
	return out
}

// CallsIn is the number of calls per action one account and region received.
func (e *emulator) CallsIn(account, region string) Calls {
	out := Calls{}
	e.do("GET", "/_sim/calls"+where(account, region), nil, &out)
	return out
}

func (e *emulator) ResetCalls() { e.do("POST", "/_sim/reset-calls", nil, nil) }

func (e *emulator) SetLatency(d time.Duration) {
	e.do("POST", "/_sim/latency", map[string]string{"latency": d.String()}, nil)
}

// SetThrottling turns EC2's request-rate limits (package cloud/ec2rate) on or off.
func (e *emulator) SetThrottling(on bool) {
	e.do("POST", "/_sim/throttling", map[string]bool{"on": on}, nil)
}

// CPU is the user + system time the emulator's process has used, from
// /proc/PID/stat (Linux; 0 elsewhere).
func (e *emulator) CPU() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses; utime and stime are
	// the 14th and 15th fields of the line, in clock ticks (USER_HZ, 100
	// on Linux).
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}

// Instances returns the instances of account in region.
func (e *emulator) Instances(account, region string) []ec2sim.Instance {
	var out []ec2sim.Instance
	e.do("GET", "/_sim/instances"+where(account, region), nil, &out)
	return out
}

// TestRunAgainstEmulatorProcess: the benchmarks' harness, at a small scale.
// A first run against `launchwarden sim` in its own process, seeded through
// its admin API, makes exactly the plan's lower bound of calls (no latency,
// no throttling) and leaves the fleet as the plan says: the instances past
// their announced stop stopping, the stopped ones past their announced
// termination shutting down.
func TestRunAgainstEmulatorProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/launchwarden")
	}
	const projects, instances = 10, 100
	w := newWorld(t, projects, allRegions[:1])
	cfg := w.config()
	w.seedFleet(projects, instances, false)
	w.sim.ResetCalls()
	obs, plan, rep := w.run(context.Background(), cfg)
	r := measure(scenario{projects: projects, instances: instances, regions: 1, first: true}, w, cfg, obs, plan)
	if r.calls != r.bound {
		t.Errorf("calls = %d, want the lower bound %d: %v", r.calls, r.bound, w.callsIn(allRegions[0]))
	}
	states := map[string]int{}
	for _, in := range w.sim.Instances(account, allRegions[0]) {
		states[in.State]++
	}
	want := map[string]int{ec2sim.StateRunning: 70, ec2sim.StateStopping: 20, ec2sim.StateShuttingDown: 10}
	if diff := cmp.Diff(want, states); diff != "" || len(rep.Stopped) != 20 || len(rep.Terminated) != 10 {
		t.Errorf("instances by state (-want +got):\n%s\nreported %d stopped, %d terminated", diff, len(rep.Stopped), len(rep.Terminated))
	}
}
