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

	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no endpoint printed; stderr: %s", stderr.String())
		}
		if _, after, ok := strings.Cut(stdout.String(), "listening on "); ok {
			url = strings.TrimSpace(after)
		}
		time.Sleep(10 * time.Millisecond)
	}

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
