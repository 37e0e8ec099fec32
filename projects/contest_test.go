package projects

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSettleKeepsTheRecordedOwnerOfAChannel: a file that names another
// team's channel freezes both on load (the repo cannot tell them apart);
// Settle, told who launchwarden recorded as the channel's owner, unfreezes
// the owner and leaves only the newcomer frozen, its problem naming the
// owner. With no record, or a newcomer that is wrong in other ways too,
// what is frozen stays frozen.
func TestSettleKeepsTheRecordedOwnerOfAChannel(t *testing.T) {
	project := func(channel, extra string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(`owners = ["octocat"]
[slack]
channel = "` + channel + `"
[[templates]]
name = "small"
image = "ami-0123456789abcdef0"
instance_type = "t3.small"
` + extra)}
	}
	load := func(extra string) *Config {
		m := caseFS(t, "testdata/shared").(fstest.MapFS)
		m["projects/cockpit.toml"] = project("#cockpit", "")
		m["projects/mallory.toml"] = project("#cockpit", extra)
		m["projects/packit.toml"] = project("#packit", "")
		cfg, _ := LoadFS(m, testNow)
		if got := frozenNames(cfg); !slices.Equal(got, []string{"cockpit", "mallory"}) {
			t.Fatalf("frozen on load = %v, want cockpit and mallory", got)
		}
		return cfg
	}
	recorded := func(owner string) func(string) string {
		return func(channel string) string {
			if channel == "#cockpit" {
				return owner
			}
			return ""
		}
	}

	cfg := load("")
	if got := cfg.Settle(recorded("cockpit")); !slices.Equal(got, []string{"cockpit"}) {
		t.Errorf("unfrozen = %v, want cockpit", got)
	}
	if got := frozenNames(cfg); !slices.Equal(got, []string{"mallory"}) {
		t.Errorf("frozen = %v, want mallory only", got)
	}
	if p := cfg.Project("cockpit"); p == nil || p.SlackChannel != "#cockpit" || len(p.Templates) != 1 {
		t.Errorf("cockpit after settling: %+v", p)
	}
	if _, ok := cfg.FrozenParts["cockpit"]; ok {
		t.Error("cockpit keeps frozen parts")
	}
	want := "projects/mallory.toml:3:1: slack.channel: #cockpit is the channel of project cockpit, as launchwarden recorded it: this file's claim is refused"
	if got := problemLines(cfg.Frozen["mallory"]); !strings.Contains(got, want) {
		t.Errorf("mallory's problems:\n%s\nwant %q", got, want)
	}
	before, valid := problemLines(cfg.Frozen["mallory"]), len(cfg.Projects)
	if got := cfg.Settle(recorded("cockpit")); got != nil || problemLines(cfg.Frozen["mallory"]) != before || len(cfg.Projects) != valid {
		t.Errorf("settling again: unfrozen %v, projects %d, problems\n%s", got, len(cfg.Projects), problemLines(cfg.Frozen["mallory"]))
	}

	for name, owner := range map[string]string{"no record": "", "someone else's": "packit"} {
		cfg := load("")
		if got := cfg.Settle(recorded(owner)); got != nil {
			t.Errorf("%s: unfrozen %v", name, got)
		}
		if got := frozenNames(cfg); !slices.Equal(got, []string{"cockpit", "mallory"}) {
			t.Errorf("%s: frozen = %v, want both", name, got)
		}
	}

	// The newcomer is recorded as the owner (it once had the channel) but
	// its file has another problem: it loses the channel problem only.
	cfg = load("colour = \"blue\"\n")
	if got := cfg.Settle(recorded("mallory")); got != nil {
		t.Errorf("unfrozen %v, want none", got)
	}
	if got := problemLines(cfg.Frozen["mallory"]); strings.Contains(got, "slack.channel") || !strings.Contains(got, "colour") {
		t.Errorf("mallory's problems:\n%s", got)
	}
	if len(cfg.Contested()) != 1 || cfg.Contested()[0].Name != "cockpit" {
		t.Errorf("contested = %v, want cockpit (mallory has other problems)", cfg.Contested())
	}
}

func frozenNames(cfg *Config) []string {
	var out []string
	for name := range cfg.Frozen {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
