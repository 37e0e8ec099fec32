package projects

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/cases")

// testNow is the fixed "now" of every test.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// caseFS builds the config repo of one test case: the case's files, with
// testdata/shared's launchwarden.toml and projects/ filling in what the case
// does not have. Cases named repo-* are complete repos on their own.
func caseFS(t testing.TB, dir string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	add := func(root string, skip func(rel string) bool) {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() || rel == "want.golden" || skip(rel) {
				if d.IsDir() && rel != "." && !skip(rel) {
					m[rel] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
				}
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if rel == "projects/.keep" {
				return nil // keeps an empty folder in git
			}
			m[rel] = &fstest.MapFile{Data: b}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(dir, func(string) bool { return false })
	if strings.HasPrefix(filepath.Base(dir), "repo-") {
		return m
	}
	_, hasAdmin := m[AdminFile]
	_, hasProjects := m[ProjectsDir]
	add("testdata/shared", func(rel string) bool {
		return rel == AdminFile && hasAdmin || (rel == ProjectsDir || strings.HasPrefix(rel, ProjectsDir+"/")) && hasProjects
	})
	return m
}

func problemLines(probs Problems) string {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestCases loads every testdata/cases/* repo and compares its problems
// with want.golden. Run with -update to rewrite the golden files.
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cases/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 25 {
		t.Fatalf("found %d cases, want at least 25", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, probs := LoadFS(caseFS(t, dir), testNow)
			got := problemLines(probs)
			golden := filepath.Join(dir, "want.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("problems differ (-want +got):\n%s", diff)
			}
			if got == "" {
				t.Errorf("case found no problem; every case must fail")
			}
			for _, p := range probs {
				fileLevel := p.File == ProjectsDir+"/" || p.Message == "missing "+AdminFile || strings.HasPrefix(p.Message, "bad project file name") ||
					strings.HasPrefix(p.Message, "is not read as a project file")
				if p.Line == 0 && !fileLevel {
					t.Errorf("problem without a line: %s", p)
				}
			}
		})
	}
}

// TestFiveMistakesInOneRun checks that one load reports every mistake of a
// file, not just the first.
func TestFiveMistakesInOneRun(t *testing.T) {
	_, probs := LoadFS(caseFS(t, "testdata/cases/five-mistakes"), testNow)
	var keys []string
	for _, p := range probs {
		keys = append(keys, p.File+" "+p.Key)
	}
	want := []string{
		"projects/demo.toml owners[1]",
		"projects/demo.toml lifecycle.ttl",
		"projects/demo.toml templates[0].image",
		"projects/demo.toml templates[0].volume_gib",
		"projects/demo.toml templates[0].ssh_from[0]",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
