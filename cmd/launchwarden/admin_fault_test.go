package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenAdminFileAbortsBeforeAnyAction checks invariant 5's other half:
// with launchwarden.toml broken, run exits 4 and touches nothing, not even
// instances whose stop is due and announced.
func TestBrokenAdminFileAbortsBeforeAnyAction(t *testing.T) {
	admin := faultAdmin(20)
	w := newWorld(t, map[string]string{"launchwarden.toml": admin, "projects/packit.toml": faultProject("packit")})
	ids := w.expiredFleet(5)
	before := w.instances()

	broken := strings.Replace(admin, "[safety]", "[safety\n", 1) // a syntax error
	if err := os.WriteFile(filepath.Join(w.dir, "launchwarden.toml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := w.run(t); code != exitAborted {
		t.Errorf("run with a broken admin file exited %d, want %d", code, exitAborted)
	}
	if got := w.mutatingCalls(); len(got) > 0 {
		t.Errorf("mutating calls with a broken admin file: %v", got)
	}
	if got := w.slack.notices(); len(got) > 0 {
		t.Errorf("digests delivered with a broken admin file: %v", got)
	}
	if got := acted(before, w.instances()); len(got) > 0 {
		t.Errorf("instances acted on with a broken admin file: %v", got)
	}

	// Fixed again, the same run acts: the checks above are not vacuous.
	if err := os.WriteFile(filepath.Join(w.dir, "launchwarden.toml"), []byte(admin), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := w.run(t); code != exitOK {
		t.Fatalf("run with the admin file fixed exited %d", code)
	}
	if got := len(acted(before, w.instances())); got != len(ids) {
		t.Errorf("run with the admin file fixed stopped %d instances, want %d", got, len(ids))
	}
}

// TestWrongAccountCredentialsAbortBeforeAnyAction: the admin file says
// account 210987654321, but the credentials are of 123456789012 (the
// emulator's default account). run exits 4, names the account and its line,
// and makes no mutating call, though a stop is due in the account it can
// reach.
func TestWrongAccountCredentialsAbortBeforeAnyAction(t *testing.T) {
	admin := faultAdmin(20)
	w := newWorld(t, map[string]string{"launchwarden.toml": admin, "projects/packit.toml": faultProject("packit")})
	w.expiredFleet(3)
	before := w.instances()
	w.sim.ResetCalls()

	wrong := strings.Replace(admin, `id = "123456789012"`, `id = "210987654321"`, 1)
	if err := os.WriteFile(filepath.Join(w.dir, "launchwarden.toml"), []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	e := env{stdout: io.Discard, stderr: &stderr, getenv: os.Getenv}
	code := exitStatus(e, run(t.Context(), e, w.runArgs()))
	if code != exitAborted {
		t.Errorf("run with another account's credentials exited %d, want %d", code, exitAborted)
	}
	if want := "launchwarden.toml:6: account test: the credentials are of account 123456789012, not 210987654321"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, &stderr)
	}
	if got := w.mutatingCalls(); len(got) > 0 {
		t.Errorf("mutating calls with another account's credentials: %v", got)
	}
	if got := w.sim.CallCounts(); got["DescribeInstances"] > 0 {
		t.Errorf("the wrong account was even listed: %v", got)
	}
	if got := acted(before, w.instances()); len(got) > 0 {
		t.Errorf("instances acted on: %v", got)
	}
}
