package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/launchwarden/launchwarden/change"
)

func TestDiff(t *testing.T) {
	base, head := "../../change/testdata/base", "../../change/testdata/head"
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantOut  string // a line the output contains
		wantErr  string // a line stderr contains
		wantCode int
	}{
		{name: "example against itself", args: []string{"diff", "../../examples/config-repo", "../../examples/config-repo"},
			wantOut: "no effect: nothing launchwarden acts on changes"},
		{name: "a freeze still exits 0", args: []string{"diff", "--now", "2026-12-02T00:00:00Z", base, head},
			wantOut: "!! This change FREEZES 1 project (fedora-ci)"},
		{name: "fail on freeze", args: []string{"diff", "--fail-on-freeze", "--now", "2026-12-02T00:00:00Z", base, head},
			wantErr: "freezes a project", wantCode: exitFailed},
		{name: "fail on freeze without one", args: []string{"diff", "--fail-on-freeze", head, head}},
		{name: "markdown", args: []string{"diff", "--format", "markdown", base, head}, wantOut: "<!-- launchwarden diff -->"},
		{name: "json", args: []string{"diff", "--format", "json", base, head}, wantOut: `"status": "freezes"`},
		{name: "one directory", args: []string{"diff", base}, wantErr: "diff takes two directories", wantCode: exitUsage},
		{name: "unknown format", args: []string{"diff", "--format", "html", base, head}, wantErr: `unknown --format "html"`, wantCode: exitUsage},
		{name: "bad time", args: []string{"diff", "--now", "tomorrow", base, head}, wantErr: "RFC 3339", wantCode: exitUsage},
		{name: "not a config repo", args: []string{"diff", base, empty}, wantErr: "HEAD_DIR: " + empty + " is not a launchwarden config repo", wantCode: exitUsage},
		{name: "missing directory", args: []string{"diff", filepath.Join(empty, "nope"), head}, wantErr: "BASE_DIR " + filepath.Join(empty, "nope") + " does not exist", wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errOut)
			}
		})
	}
}

// TestDiffWorkflow checks that the example config repo's workflow runs
// diff on two checkouts and updates one comment found by the marker.
func TestDiffWorkflow(t *testing.T) {
	b, err := os.ReadFile("../../examples/config-repo/.github/workflows/check.yml")
	if err != nil {
		t.Fatal(err)
	}
	wf := string(b)
	for _, want := range []string{
		"path: base", "path: head",
		"diff --format markdown base head",
		change.Marker,
		"updateComment", "createComment",
		"validate --format github",
	} {
		if !strings.Contains(wf, want) {
			t.Errorf("check.yml lacks %q", want)
		}
	}
}
