package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteRepo writes files (slash-separated path → content) under dir,
// making the directories they need, and returns dir; with dir "" it writes
// them under a new temp dir.
func WriteRepo(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
