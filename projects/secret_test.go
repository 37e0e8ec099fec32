package projects

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveTrimsAndRefusesControlCharacters(t *testing.T) {
	const url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
	file := filepath.Join(t.TempDir(), "secret")
	for _, tt := range []struct {
		name, value string
		want        string // "" means an error
	}{
		{"trailing newline", url + "\n", url},
		{"trailing space", url + " ", url},
		{"surrounding blanks", "\t " + url + " \r\n", url},
		{"newline inside", "https://hooks.slack.com/services/T000\n/B000/XXXXXXXX", ""},
		{"escape inside", url + "\x1b[2J", ""},
		{"NUL inside", "abc\x00" + url, ""},
		{"only blanks", " \n ", ""},
	} {
		for _, ref := range []SecretRef{{Env: "LW_TEST_SECRET"}, {File: file}} {
			t.Run(tt.name+" "+ref.String(), func(t *testing.T) {
				if err := os.WriteFile(file, []byte(tt.value), 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := ref.Resolve(func(string) string { return tt.value })
				switch {
				case tt.want != "" && (err != nil || got != tt.want):
					t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
				case tt.want == "" && err == nil:
					t.Errorf("Resolve = %q, want an error", got)
				case err != nil && (strings.Contains(err.Error(), "hooks.slack.com") || strings.Contains(err.Error(), "XXXX") || strings.Contains(err.Error(), "abc")):
					t.Errorf("error echoes the secret: %v", err)
				}
			})
		}
	}
}
