package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
)

func TestAdopt(t *testing.T) {
	w := attackWorld(t)
	// Made by hand, no template: not launchwarden's until adopted.
	w.forge("i-00000000000000ad1", ec2sim.StateRunning, 0, map[string]string{"Name": "hand-made"})
	w.seed("i-00000000000000ad2", "packit", ec2sim.StateRunning, 0, nil)

	adopt := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		e := env{stdout: &out, stderr: &errOut, getenv: exampleEnv}
		base := []string{"--config", w.dir, "--endpoint-url", w.endpoint}
		err := runAdopt(context.Background(), e, append(args[:1:1], append(base, args[1:]...)...))
		return out.String(), err
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown project", []string{"i-00000000000000ad1", "--project", "nobody", "--template", "fedora"}, exitFailed, "no project nobody"},
		{"unknown template", []string{"i-00000000000000ad1", "--project", "packit", "--template", "rhel"}, exitFailed, "has no template rhel"},
		{"launched from a managed template", []string{"i-00000000000000ad2", "--project", "cockpit", "--template", "fedora"}, exitFailed, "packit's already"},
		{"no such instance", []string{"i-0000000000000ffff", "--project", "packit", "--template", "fedora"}, exitFailed, "no such instance"},
		{"no project flag", []string{"i-00000000000000ad1", "--template", "fedora"}, exitUsage, "--project and --template"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := adopt(tt.args...)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want exit %d mentioning %q", err, tt.code, tt.msg)
			}
		})
	}
	if tags := w.instances()["i-00000000000000ad2"].Tags; tags[cloud.TagAdopted] != "" || tags[cloud.TagProject] != "packit" {
		t.Errorf("a refused adoption changed tags: %v", tags)
	}

	out, err := adopt("i-00000000000000ad1", "--project", "packit", "--template", "fedora")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "adopted by packit/fedora") {
		t.Errorf("output %q", out)
	}
	raw := w.instances()["i-00000000000000ad1"].Tags[cloud.TagAdopted]
	if v, ok := testenv.State.Verify("i-00000000000000ad1", cloud.TagAdopted, raw); !ok || v != "packit/fedora" {
		t.Fatalf("adopted tag %q does not verify as packit/fedora", raw)
	}

	// From now on it is packit's: warned and stopped by packit's rules.
	w.hours(t, 25)
	if got := w.instances()["i-00000000000000ad1"].State; got != ec2sim.StateStopped {
		t.Errorf("adopted instance is %s after packit's 1d TTL, want stopped", got)
	}
	if got := strings.Join(w.teamLines("i-00000000000000ad1"), ", "); got != "expiring stop, stopped terminate, stopped stop" {
		t.Errorf("packit was told %q, want a warning then the stop", got)
	}
}

// TestAttackCopiedAdoptionIsIgnored copies a genuine adoption onto another
// instance: bound to the instance it was written for, it adopts nothing.
func TestAttackCopiedAdoptionIsIgnored(t *testing.T) {
	w := attackWorld(t)
	w.forge("i-00000000000000ad1", ec2sim.StateRunning, 0, map[string]string{"Name": "adopted"})
	w.forge("i-00000000000000ad3", ec2sim.StateRunning, 48*time.Hour, map[string]string{"Name": "prod-db"})
	var out bytes.Buffer
	e := env{stdout: &out, stderr: &bytes.Buffer{}, getenv: exampleEnv}
	if err := runAdopt(context.Background(), e, []string{"i-00000000000000ad1", "--config", w.dir, "--endpoint-url", w.endpoint, "--project", "packit", "--template", "fedora"}); err != nil {
		t.Fatal(err)
	}
	tags := w.instances()["i-00000000000000ad3"].Tags
	for k, v := range w.instances()["i-00000000000000ad1"].Tags {
		if strings.HasPrefix(k, "launchwarden:") {
			tags[k] = v
		}
	}
	w.forge("i-00000000000000ad3", ec2sim.StateRunning, 48*time.Hour, tags)
	w.hours(t, 3)
	if got := w.instances()["i-00000000000000ad3"].State; got != ec2sim.StateRunning {
		t.Errorf("prod-db with a copied adoption is %s, want running", got)
	}
	if got := w.teamLines("i-00000000000000ad3"); len(got) > 0 {
		t.Errorf("packit was told about prod-db: %v", got)
	}
}
