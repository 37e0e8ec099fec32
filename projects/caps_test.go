package projects

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestGrantsOpenWhatCapsClose checks the grant side of the caps that close
// issue 12's gaps: each file below fails without its grant (see the
// testdata cases mode-without-grant, ssh-halves, channel-is-admin,
// channel-shared, terminate-stopped-over-cap) and passes with it.
func TestGrantsOpenWhatCapsClose(t *testing.T) {
	project := func(channel, lifecycle, extra string) []byte {
		return []byte(`owners = ["octocat"]
[slack]
channel = "` + channel + `"
` + lifecycle + `
[[templates]]
name = "small"
image = "ami-0123456789abcdef0"
instance_type = "t3.small"
` + extra + `
`)
	}
	m := caseFS(t, "testdata/shared").(fstest.MapFS)
	m["projects/demo.toml"] = &fstest.MapFile{Data: project("#admins", "[lifecycle]\nmode = \"notify-only\"\nterminate_stopped_after = \"60d\"\n", `ssh_from = ["100.64.0.0/10"]`)}
	m["projects/twin.toml"] = &fstest.MapFile{Data: project("C0123ABCD9", "", "")}
	m["projects/other.toml"] = &fstest.MapFile{Data: project("C0123ABCD9", "", "")}
	admin := string(m[AdminFile].Data)

	_, probs := LoadFS(m, testNow)
	got := problemLines(probs)
	for _, want := range []string{
		`projects/demo.toml:3:1: slack.channel: #admins is the admin channel`,
		`projects/demo.toml:5:1: lifecycle.mode: mode "notify-only" needs an admin grant`,
		`projects/demo.toml:6:1: lifecycle.terminate_stopped_after: terminate_stopped_after 60d is above the cap of 30d`,
		`projects/demo.toml:12:13: templates[0].ssh_from[0]: 100.64.0.0/10 is wider than /16`,
		`projects/other.toml:3:1: slack.channel: C0123ABCD9 is also the channel of projects/twin.toml`,
		`projects/twin.toml:3:1: slack.channel: C0123ABCD9 is also the channel of projects/other.toml`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("without grants, problems lack %q:\n%s", want, got)
		}
	}

	m[AdminFile] = &fstest.MapFile{Data: []byte(admin + `
[grants.demo]
allowed_modes = ["notify-only"]
max_terminate_stopped_after = "60d"
min_ssh_prefix_ipv4 = 10
shared_channels = ["#admins"]

[grants.twin]
shared_channels = ["C0123ABCD9"]

[grants.other]
shared_channels = ["C0123ABCD9"]
`)}
	cfg, probs := LoadFS(m, testNow)
	if err := probs.Err(); err != nil {
		t.Fatalf("with grants: %v", err)
	}
	if p := cfg.Project("demo"); p.Lifecycle.Mode != ModeNotifyOnly || p.Lifecycle.TerminateStoppedAfter != Duration(60*Day) {
		t.Errorf("demo's lifecycle = %+v", p.Lifecycle)
	}
}

func TestChannelKey(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"#ci", "ci"}, {"#CI", "#ci"}, {"C0123ABCD", "C0123ABCD"},
	} {
		if ChannelKey(tt.a) != ChannelKey(tt.b) {
			t.Errorf("%q and %q are the same channel to Slack", tt.a, tt.b)
		}
	}
	if ChannelKey("#c0123abcd") == ChannelKey("C0123ABCD") {
		t.Error("a name that looks like an id is not that id")
	}
}
