package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/internal/testenv"
)

const testAdmin = `[[aws.accounts]]
name = "test"
id = "111122223333"
regions = ["us-east-1"]

[slack]
admin_channel = "#admins"
token_env = "SLACK_TOKEN"

[caps]
allowed_instance_types = ["t3.*"]
`

// brokenRepo has two problems in one project file and one in another.
func brokenRepo(t *testing.T) string {
	return testenv.WriteRepo(t, "", map[string]string{
		"launchwarden.toml": testAdmin,
		"projects/demo.toml": `owners = ["octocat"]

[slack]
channel = "demo"

[[templates]]
name = "big"
image = "ami-0123456789abcdef0"
instance_type = "m6i.large"
`,
		"projects/other.toml": "owners = [\"octocat\"]\nttl = \"1d\"\n\n[slack]\nchannel = \"#other\"\n",
	})
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	err := run(context.Background(), e, args)
	code = exitStatus(e, err)
	return out.String(), errOut.String(), code
}

func TestValidateText(t *testing.T) {
	dir := brokenRepo(t)
	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantCode int
	}{
		{
			name: "example repo",
			args: []string{"validate", "../../examples/config-repo"},
			// The example shows the surprise of issue 13: min_notice (1d)
			// outweighs every project's warn_before.
			wantOut: `projects/cockpit.toml:13:1: lifecycle.warn_before: warning: instances live about ttl − warn_before + min_notice = 1d − 4h + 1d = 1d20h, not 1d (a notice gives at least caps.min_notice; set warn_before to 1d or more to have instances stopped at their ttl)
projects/osbuild.toml:15:1: lifecycle.warn_before: warning: instances live about ttl − warn_before + min_notice = 12h − 2h + 1d = 1d10h, not 12h (a notice gives at least caps.min_notice; set warn_before to 1d or more to have instances terminated at their ttl)
projects/packit.toml:14:1: lifecycle.warn_before: warning: instances live about ttl − warn_before + min_notice = 2d − 12h + 1d = 2d12h, not 2d (a notice gives at least caps.min_notice; set warn_before to 1d or more to have instances stopped at their ttl)
ok: 3 projects, 5 templates, 3 warnings
`,
			wantCode: exitOK,
		},
		{
			name: "broken repo",
			args: []string{"validate", dir},
			wantOut: `projects/demo.toml:4:1: slack.channel: "demo" is neither a Slack channel id nor a #name (did you mean "#demo"?)
projects/demo.toml:9:1: templates[0].instance_type: "m6i.large" is not allowed by caps.allowed_instance_types ["t3.*"] (ask an admin for a grant in launchwarden.toml, e.g. [grants.demo] allowed_instance_types = ["m6i.large"])
projects/other.toml:2:1: ttl: unknown key "ttl" (ttl belongs in the [lifecycle] table)
3 problems in 2 files
`,
			wantCode: exitFailed,
		},
		{
			name:     "missing dir",
			args:     []string{"validate", filepath.Join(dir, "nope")},
			wantOut:  "launchwarden.toml: missing launchwarden.toml (the config repo needs launchwarden.toml at its root, owned by the admins)\nprojects/: missing projects folder (add one file per project, e.g. projects/packit.toml)\n2 problems in 2 files\n",
			wantCode: exitFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := runCmd(t, tt.args...)
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	out, _, code := runCmd(t, "validate", "--format", "json", brokenRepo(t))
	if code != exitFailed {
		t.Errorf("exit code = %d, want %d", code, exitFailed)
	}
	var got struct {
		Valid    bool
		Problems []struct {
			File, Key string
			Line      int
		}
		Projects  int
		Templates int
		Frozen    []string
		Summary   string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	want := got
	want.Valid = false
	want.Problems = []struct {
		File, Key string
		Line      int
	}{
		{"projects/demo.toml", "slack.channel", 4},
		{"projects/demo.toml", "templates[0].instance_type", 9},
		{"projects/other.toml", "ttl", 2},
	}
	want.Projects, want.Templates = 0, 0
	want.Frozen = []string{"demo", "other"}
	want.Summary = "3 problems in 2 files"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	out, _, code = runCmd(t, "validate", "--format=json", "../../examples/config-repo")
	if code != exitOK {
		t.Errorf("exit code for the example = %d, want 0", code)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{true, 0, 3, 5}, []any{got.Valid, len(got.Problems), got.Projects, got.Templates}); diff != "" {
		t.Errorf("example report: valid, problems, projects, templates (-want +got):\n%s", diff)
	}
}

func TestValidateGitHub(t *testing.T) {
	dir := brokenRepo(t)
	out, _, code := runCmd(t, "validate", "--format", "github", dir)
	if code != exitFailed {
		t.Errorf("exit code = %d, want %d", code, exitFailed)
	}
	file := func(name string) string {
		return strings.ReplaceAll(filepath.ToSlash(filepath.Join(dir, name)), ":", "%3A")
	}
	want := "::error file=" + file("projects/demo.toml") + `,line=4,col=1,title=slack.channel::"demo" is neither a Slack channel id nor a #name (did you mean "#demo"?)` + "\n" +
		"::error file=" + file("projects/demo.toml") + `,line=9,col=1,title=templates[0].instance_type::"m6i.large" is not allowed by caps.allowed_instance_types ["t3.*"] (ask an admin for a grant in launchwarden.toml, e.g. [grants.demo] allowed_instance_types = ["m6i.large"])` + "\n" +
		"::error file=" + file("projects/other.toml") + `,line=2,col=1,title=ttl::unknown key "ttl" (ttl belongs in the [lifecycle] table)` + "\n" +
		"3 problems in 2 files\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestEscapeGitHub(t *testing.T) {
	if diff := cmp.Diff("a%25b%0Ac", escapeData("a%b\nc")); diff != "" {
		t.Errorf("escapeData (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("x%3Ay%2Cz%0D", escapeProperty("x:y,z\r")); diff != "" {
		t.Errorf("escapeProperty (-want +got):\n%s", diff)
	}
}

func TestValidateUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"unknown format", []string{"validate", "--format", "yaml", "."}, exitUsage, `unknown --format "yaml"`},
		{"two dirs", []string{"validate", "a", "b"}, exitUsage, "at most one directory"},
		{"unknown flag", []string{"validate", "--strict"}, exitUsage, "flag provided but not defined"},
		{"help", []string{"validate", "--help"}, exitOK, "--format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestValidateWarnings: a lifetime the project file's reader would not
// expect is a warning in every format, and warnings change no exit code.
func TestValidateWarnings(t *testing.T) {
	project := `owners = ["octocat"]

[slack]
channel = "#demo"

[lifecycle]
ttl = "12h"
warn_before = "2h"
`
	valid := testenv.WriteRepo(t, "", map[string]string{"launchwarden.toml": testAdmin + "min_notice = \"24h\"\n", "projects/demo.toml": project})
	broken := testenv.WriteRepo(t, "", map[string]string{"launchwarden.toml": testAdmin + "min_notice = \"24h\"\n", "projects/demo.toml": project,
		"projects/other.toml": "owners = [\"octocat\"]\n"})
	const msg = "instances live about ttl − warn_before + min_notice = 12h − 2h + 1d = 1d10h, not 12h"
	for _, tt := range []struct {
		format, want string
	}{
		{"text", "projects/demo.toml:8:1: lifecycle.warn_before: warning: " + msg},
		{"github", "::warning file=" + filepath.ToSlash(valid) + "/projects/demo.toml,line=8,col=1,title=lifecycle.warn_before::" + msg},
		{"json", `"message": "` + msg + `"`},
	} {
		out, _, code := runCmd(t, "validate", "--format", tt.format, valid)
		if code != exitOK || !strings.Contains(out, tt.want) {
			t.Errorf("--format %s: exit %d, want 0 and %q in:\n%s", tt.format, code, tt.want, out)
		}
	}
	out, _, _ := runCmd(t, "validate", "--format", "json", valid)
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || !r.Valid || len(r.Warnings) != 1 || len(r.Problems) != 0 {
		t.Errorf("json report = %+v, %v; want valid with one warning", r, err)
	}
	if _, _, code := runCmd(t, "validate", broken); code != exitFailed {
		t.Errorf("a broken repo with warnings exited %d, want %d", code, exitFailed)
	}
}
