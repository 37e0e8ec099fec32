package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
)

// typeLookups records the instance types each DescribeInstanceTypes call
// asked the emulator for.
type typeLookups struct {
	mu    sync.Mutex
	calls [][]string
}

func (l *typeLookups) take() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.calls
	l.calls = nil
	return calls
}

// recordTypeLookups serves sim at a new loopback URL that records the
// DescribeInstanceTypes calls.
func recordTypeLookups(t *testing.T, sim *ec2sim.Sim) (string, *typeLookups) {
	l := &typeLookups{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && r.Form.Get("Action") == "DescribeInstanceTypes" {
			var names []string
			for k, v := range r.Form {
				if strings.HasPrefix(k, "InstanceType.") {
					names = append(names, v...)
				}
			}
			slices.Sort(names)
			l.mu.Lock()
			l.calls = append(l.calls, names)
			l.mu.Unlock()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, l
}

// A serve process describes an instance type once in its life: later runs
// describe only types no run has seen, while `run` describes the types in
// use every time.
func TestServeDescribesEachInstanceTypeOnce(t *testing.T) {
	se := newServeEnv(t)
	endpoint, lookups := recordTypeLookups(t, se.sim)
	f := serveFlags{schedule: "@every 1h", notify: "log", runTimeout: time.Minute}
	f.config, f.endpointURL, f.githubURL = se.dir, endpoint, se.keysURL
	log := &syncBuffer{}
	e := env{stdout: &syncBuffer{}, stderr: log, getenv: os.Getenv}
	logger, err := newLogger(log, "text")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t.Context(), f, e, logger)
	if err := s.initSchedule(); err != nil {
		t.Fatal(err)
	}
	cycle := func(name string, want [][]string) {
		t.Helper()
		s.run()
		if s.lastResult != resultOK {
			t.Fatalf("%s: run result %q; log:\n%s", name, s.lastResult, log)
		}
		if diff := cmp.Diff(want, lookups.take()); diff != "" {
			t.Errorf("%s: DescribeInstanceTypes calls, by the types asked for (-want +got):\n%s", name, diff)
		}
	}

	cycle("first run", [][]string{{"t3.micro"}})
	seedOfType(t, se, "t3.micro")
	cycle("second run, nothing new", nil)
	seedOfType(t, se, "t3.small")
	cycle("third run, a new type", [][]string{{"t3.small"}})
	cycle("fourth run", nil)

	// One-shot runs keep no memory: each describes the types in use.
	for range 2 {
		var out, errOut syncBuffer
		e := env{stdout: &out, stderr: &errOut, getenv: os.Getenv}
		args := []string{"run", "--config", se.dir, "--endpoint-url", endpoint, "--github-url", se.keysURL, "--notify", "none"}
		if code := exitStatus(e, run(t.Context(), e, args)); code != exitOK {
			t.Fatalf("launchwarden run exited %d; log:\n%s", code, &errOut)
		}
		if diff := cmp.Diff([][]string{{"t3.micro", "t3.small"}}, lookups.take()); diff != "" {
			t.Errorf("launchwarden run: DescribeInstanceTypes calls (-want +got):\n%s", diff)
		}
	}
}

// seedOfType seeds a fresh instance of packit's template with the given
// instance type.
func seedOfType(t *testing.T, se *serveEnv, instanceType string) {
	t.Helper()
	now := se.sim.Now()
	se.sim.Seed(ec2sim.SeedInstance{
		InstanceType: instanceType,
		LaunchTime:   now.Add(-time.Hour),
		AttachTime:   now.Add(-time.Hour),
		Tags:         testenv.Launched(se.templateID(t), "", "packit", "fedora", nil),
	})
}
