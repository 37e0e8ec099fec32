package main

import (
	"os"
	"strings"
	"testing"
)

// The policy deploy/ ships is exactly what the command prints for the
// example config; the emulator tests in cloud/iamguard feed that file to
// ec2sim.
func TestIAMLaunchGuardMatchesShippedPolicy(t *testing.T) {
	stdout, stderr, code := runCmd(t, "iam", "launch-guard", "--config", "../../examples/config-repo")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	shipped, err := os.ReadFile("../../deploy/iam/launch-guard.json")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(shipped) {
		t.Errorf("deploy/iam/launch-guard.json is stale; regenerate it with\n  go run ./cmd/launchwarden iam launch-guard --config examples/config-repo > deploy/iam/launch-guard.json\ngot:\n%s", stdout)
	}
}

func TestIAMLaunchGuardErrors(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(broken+"/launchwarden.toml", []byte("schedule = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	classes := t.TempDir()
	admin, err := os.ReadFile("../../examples/config-repo/launchwarden.toml")
	if err != nil {
		t.Fatal(err)
	}
	withClass := strings.Replace(string(admin), `"c6i.*"]`, `"c6i.*", "m[56]i.large"]`, 1)
	if err := os.WriteFile(classes+"/launchwarden.toml", []byte(withClass), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no subcommand", []string{"iam"}, exitUsage, "usage: launchwarden iam launch-guard"},
		{"unknown subcommand", []string{"iam", "scp"}, exitUsage, `unknown iam subcommand "scp"`},
		{"broken admin file", []string{"iam", "launch-guard", "--config", broken}, exitFailed, "launchwarden.toml is invalid: no policy printed"},
		{"pattern IAM cannot express", []string{"iam", "launch-guard", "--config", classes}, exitFailed, `"m[56]i.large" cannot be written as an IAM StringLike pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCmd(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.wantCode, tc.wantErr)
			}
			if stdout != "" {
				t.Errorf("printed a policy on failure:\n%s", stdout)
			}
		})
	}
}
