package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSimServesUntilCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, env{stdout: &stdout, stderr: &stderr}, []string{"--listen", "127.0.0.1:0", "--seed", "5", "--start", "2026-11-25T10:00:00Z"})
	}()

	url := waitForEndpoint(t, &stdout, &stderr)

	resp, err := http.Get(url + "/_sim/instances")
	if err != nil {
		t.Fatalf("GET instances: %v", err)
	}
	var instances []struct{ LaunchTime time.Time }
	err = json.NewDecoder(resp.Body).Decode(&instances)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("decode instances: %v", err)
	}
	if len(instances) != 5 {
		t.Errorf("seeded %d instances, want 5", len(instances))
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("runSim after cancel = %v, want nil", err)
	}
}

func TestSimUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int // 0: nil error
	}{
		{"help", []string{"--help"}, 0},
		{"bad start", []string{"--start", "tomorrow"}, exitUsage},
		{"unknown flag", []string{"--colour"}, exitUsage},
		{"extra argument", []string{"now"}, exitUsage},
		{"unknown clock", []string{"--clock", "fast"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runSim(context.Background(), env{stdout: &stdout, stderr: &stderr}, tt.args)
			if got := exitStatus(env{stdout: &stdout, stderr: &stderr}, err); got != tt.wantCode {
				t.Errorf("exit status = %d, want %d (err %v)", got, tt.wantCode, err)
			}
		})
	}
}

// TestSimSeedsTheConfigRepo: `sim --config` creates the VPCs, subnets and
// images examples/config-repo names, so `run` against it finds them.
func TestSimSeedsTheConfigRepo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, env{stdout: &stdout, stderr: &stderr}, []string{"--listen", "127.0.0.1:0", "--config", "../../examples/config-repo"})
	}()
	url := waitForEndpoint(t, &stdout, &stderr)
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var subnets []struct {
		ID               string `json:"id"`
		VPCID            string `json:"vpc_id"`
		AvailabilityZone string `json:"availability_zone"`
	}
	get("/_sim/subnets?account=123456789012&region=us-east-1", &subnets)
	var ours []string
	for _, sn := range subnets {
		if sn.VPCID == "vpc-0a1b2c3d4e5f60718" {
			ours = append(ours, sn.ID+" "+sn.AvailabilityZone)
		}
	}
	if want := []string{"subnet-0a1b2c3d4e5f60719 us-east-1a", "subnet-0a1b2c3d4e5f6071a us-east-1b"}; strings.Join(ours, ",") != strings.Join(want, ",") {
		t.Errorf("configured subnets = %v, want %v", ours, want)
	}
	var images []struct{ ID string }
	get("/_sim/images?region=eu-central-1", &images)
	if len(images) == 0 {
		t.Error("no images seeded in eu-central-1")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runSim = %v", err)
	}
}

// waitForEndpoint returns the URL runSim printed.
func waitForEndpoint(t *testing.T, stdout, stderr *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, after, ok := strings.Cut(stdout.String(), "listening on "); ok {
			url, _, _ := strings.Cut(after, "\n")
			return strings.TrimSpace(url)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no endpoint printed; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSimServesLoopbackOnly: the emulator and its /_sim/ API take any
// request, so sim refuses a non-loopback --listen without --allow-remote
// (issue 12) and says that /_sim/ is unauthenticated.
func TestSimServesLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:4566", "[::]:0", "example.com:4566"} {
		var stdout, stderr bytes.Buffer
		err := runSim(context.Background(), env{stdout: &stdout, stderr: &stderr}, []string{"--listen", addr})
		if got := exitStatus(env{stdout: &stdout, stderr: &stderr}, err); got != exitUsage || !strings.Contains(stderr.String(), "--allow-remote") {
			t.Errorf("--listen %s: exit %d, stderr %q; want a usage error naming --allow-remote", addr, got, stderr.String())
		}
	}
	for _, args := range [][]string{{"--listen", "127.0.0.1:0"}, {"--listen", "[::1]:0"}, {"--listen", "localhost:0"}, {"--listen", "0.0.0.0:0", "--allow-remote"}} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		go func() { done <- runSim(ctx, env{stdout: &stdout, stderr: &stderr}, args) }()
		waitForEndpoint(t, &stdout, &stderr)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(stdout.String(), "/_sim/ is unauthenticated") {
			t.Errorf("%v: output %q does not say /_sim/ is unauthenticated", args, stdout.String())
		}
	}
}
