package projects

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFrozenPartsKeepWhatNoProblemTouches(t *testing.T) {
	admin := `[[aws.accounts]]
name = "a"
id = "123456789012"
regions = ["us-east-1"]

[slack]
admin_channel = "#lw-admins"
token_env = "T"

[defaults.lifecycle]
ttl = "2d"
warn_before = "6h"
`
	files := fstest.MapFS{
		AdminFile: {Data: []byte(admin)},
		// An owner problem: channel and lifecycle are still good.
		"projects/owners.toml": {Data: []byte("owners = [\"no such user!\"]\n[slack]\nchannel = \"#owners\"\n[lifecycle]\nttl = \"1d\"\nwarn_before = \"2h\"\n")},
		// A lifecycle problem: the defaults stand in for it.
		"projects/life.toml": {Data: []byte("owners = [\"alice\"]\n[slack]\nchannel = \"#life\"\n[lifecycle]\nttl = \"1x\"\n")},
		// Cut in half: nothing decodes.
		"projects/cut.toml": {Data: []byte("owners = [\"alice\"\n[slack\n")},
	}
	cfg, _ := LoadFS(files, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	def := Lifecycle{TTL: Duration(48 * time.Hour), WarnBefore: Duration(6 * time.Hour), OnExpiry: "stop", TerminateStoppedAfter: Duration(14 * 24 * time.Hour), Mode: "enforce"}
	got := map[string]FrozenProject{}
	for name, fp := range cfg.FrozenParts {
		got[name] = fp
	}
	owners := def
	owners.TTL, owners.WarnBefore = Duration(24*time.Hour), Duration(2*time.Hour)
	want := map[string]FrozenProject{
		"owners": {File: "projects/owners.toml", SlackChannel: "#owners", Lifecycle: owners},
		"life":   {File: "projects/life.toml", SlackChannel: "#life", Lifecycle: def},
		"cut":    {File: "projects/cut.toml", Lifecycle: def},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FrozenParts (-want +got):\n%s", diff)
	}
	if len(cfg.Frozen) != 3 {
		t.Errorf("frozen: %v", cfg.Frozen)
	}
}
