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

func TestExtend(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sim, endpoint, _ := startEmulator(t, start)

	born := start.Add(-24 * time.Hour)
	lt := templateID(t, sim, "", endpoint, "", "123456789012", "us-east-1", "packit", "fedora")
	seed := func(id string) {
		sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: "ami-0a7c3e1f5d2b48a91", InstanceType: "t3.large", State: "running",
			LaunchTime: born, AttachTime: born, Account: "123456789012", Region: "us-east-1",
			Tags: testenv.Launched(lt, id, "packit", "fedora", nil)})
	}
	seed("i-00000000000000001")
	seed("i-0c1d2e3f4a5b6c7d8") // has an [[extensions]] entry in packit.toml

	extend := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		e := env{stdout: &out, stderr: &errOut, getenv: exampleEnv}
		base := []string{"--config", "../../examples/config-repo", "--endpoint-url", endpoint, "--now", start.Format(time.RFC3339)}
		err := runExtend(context.Background(), e, append(args[:1:1], append(base, args[1:]...)...))
		return out.String(), err
	}
	expiresAt := func(id string) string {
		for _, in := range sim.Instances("123456789012", "us-east-1") {
			if in.ID == id {
				v, ok := testenv.State.Verify(id, cloud.TagExpiresAt, in.Tags[cloud.TagExpiresAt])
				if !ok {
					v = "unsigned " + in.Tags[cloud.TagExpiresAt]
				}
				return v + " / " + in.Tags[TagExtension]
			}
		}
		return "instance not found"
	}

	// packit's TTL is 2d: born a day ago, it expires in a day; +2d on top.
	out, err := extend("i-00000000000000001", "--by", "2d", "--reason", "bisecting a kernel bug")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := expiresAt("i-00000000000000001"), "2026-11-28T12:00:00Z / bisecting a kernel bug"; got != want {
		t.Errorf("after extend: %s, want %s", got, want)
	}
	if !strings.Contains(out, "2026-11-26T12:00:00Z → 2026-11-28T12:00:00Z") {
		t.Errorf("output %q does not show the expiry change", out)
	}

	// The admin cap of 30d max lifetime holds.
	out, err = extend("i-00000000000000001", "--by", "60d", "--reason", "long test")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := expiresAt("i-00000000000000001"), "2026-12-24T12:00:00Z / long test"; got != want || !strings.Contains(out, "capped") {
		t.Errorf("after a 60d extension: %s (%q), want %s, capped", got, out, want)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"entry in the project file wins", []string{"i-0c1d2e3f4a5b6c7d8", "--by", "1d", "--reason", "x"}, exitFailed, "[[extensions]] entry"},
		{"unknown instance", []string{"i-0000000000000ffff", "--by", "1d", "--reason", "x"}, exitFailed, "no instance of launchwarden's"},
		{"no reason", []string{"i-00000000000000001", "--by", "1d"}, exitUsage, "--reason is required"},
		{"bad duration", []string{"i-00000000000000001", "--by", "soon", "--reason", "x"}, exitUsage, "--by"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extend(tt.args...)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want exit %d mentioning %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sim, endpoint, _ := startEmulator(t, start)
	seedExampleCloud(sim)
	born := start.Add(-40 * time.Hour)
	lt := templateID(t, sim, "", endpoint, "", "123456789012", "eu-central-1", "packit", "fedora")
	sim.Seed(ec2sim.SeedInstance{ID: "i-00000000000000001", ImageID: "ami-0a7c3e1f5d2b48a91", InstanceType: "t3.large", State: "running",
		LaunchTime: born, AttachTime: born, Account: "123456789012", Region: "eu-central-1",
		Tags: testenv.Launched(lt, "i-00000000000000001", "packit", "fedora", nil)})
	sim.Seed(ec2sim.SeedInstance{ID: "i-00000000000000002", ImageID: "ami-0a7c3e1f5d2b48a91", InstanceType: "t3.large", State: "running",
		LaunchTime: born, AttachTime: born, Account: "123456789012", Region: "us-east-1"}) // not ours

	var out bytes.Buffer
	e := env{stdout: &out, stderr: &bytes.Buffer{}, getenv: exampleEnv}
	err := runStatus(context.Background(), e, []string{"--config", "../../examples/config-repo", "--endpoint-url", endpoint, "--now", start.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	// packit: TTL 2d, warned 12h before: born 40h ago, it expires in 8h and is
	// warned now; the stop waits for the admin's min_notice of 24h.
	for _, want := range []string{"i-00000000000000001", "eu-central-1", "1d16h", "2026-11-25 20:00", "warn now, then stop", "2026-11-26 12:00", "packit", "1/6 instances"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "i-00000000000000002") {
		t.Errorf("status shows an instance that is not launchwarden's:\n%s", out.String())
	}
}
