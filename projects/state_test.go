package projects

import (
	"strings"
	"testing"
)

func TestStateSection(t *testing.T) {
	base := "[aws]\n[[aws.accounts]]\nname = \"a\"\nid = \"123456789012\"\nregions = [\"us-east-1\"]\n\n[slack]\nadmin_channel = \"#a\"\ntoken_env = \"T\"\n\n"
	key := strings.Repeat("k", 32)
	env := map[string]string{"LW_KEY": key, "LW_OLD": strings.Repeat("o", 40), "LW_SHORT": "short"}
	getenv := func(k string) string { return env[k] }

	tests := []struct {
		name, state string
		problem     string // in the admin file
		keyErr      string // from StateKeys
	}{
		{name: "env with previous", state: "[state]\nkey_env = \"LW_KEY\"\nprevious_keys = [{ key_env = \"LW_OLD\" }]\n"},
		{name: "no section", keyErr: "has no [state] key"},
		{name: "short key", state: "[state]\nkey_env = \"LW_SHORT\"\n", keyErr: "is 5 bytes"},
		{name: "unset key", state: "[state]\nkey_env = \"LW_NONE\"\n", keyErr: "LW_NONE is empty or unset"},
		{name: "short previous", state: "[state]\nkey_env = \"LW_KEY\"\nprevious_keys = [{ key_env = \"LW_SHORT\" }]\n", keyErr: "previous state key 1"},
		{name: "inline key", state: "[state]\nkey = \"" + key + "\"\n", problem: "secrets must not be written"},
		{name: "both", state: "[state]\nkey_env = \"LW_KEY\"\nkey_file = \"/k\"\n", problem: "not both"},
		{name: "neither", state: "[state]\n", problem: "key_env"},
		{name: "unknown", state: "[state]\nkey_env = \"LW_KEY\"\nkeyfile = \"x\"\n", problem: "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, d := parseAdmin("launchwarden.toml", base+tt.state)
			if tt.problem != "" {
				if a != nil || !strings.Contains(Problems(d.probs).Err().Error(), tt.problem) {
					t.Fatalf("problems %v; want one containing %q", d.probs, tt.problem)
				}
				if strings.Contains(Problems(d.probs).Err().Error(), key) {
					t.Fatalf("problems echo the key: %v", d.probs)
				}
				return
			}
			if a == nil {
				t.Fatalf("problems: %v", d.probs)
			}
			cur, prev, err := a.State.StateKeys(getenv)
			if tt.keyErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.keyErr) {
					t.Fatalf("StateKeys: %v; want %q", err, tt.keyErr)
				}
				return
			}
			if err != nil || string(cur) != key || len(prev) != 1 {
				t.Fatalf("StateKeys = %q, %d previous, %v", cur, len(prev), err)
			}
		})
	}
}
