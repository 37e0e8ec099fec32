package projects

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// repoDir writes the shared admin file and demo project to a temporary
// config repo and returns its path.
func repoDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{AdminFile, "projects/demo.toml"} {
		b, err := os.ReadFile(filepath.Join("testdata/shared", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSpecialFilesAreRefusedUnread plants a symbolic link to a secret
// outside the repo, a named pipe and a link to /proc/self/environ among the
// project files: each is a problem naming the file, nothing blocks, and
// nothing of a target shows in any problem.
func TestSpecialFilesAreRefusedUnread(t *testing.T) {
	const marker = "MARKER-SECRET-7f3a9c"
	dir := repoDir(t)
	outside := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(outside, []byte(marker+" = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LW_TEST_MARKER", marker)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(dir, "projects/evil.toml")))
	must(os.Symlink("/proc/self/environ", filepath.Join(dir, "projects/env.toml")))
	must(os.Symlink("demo.toml", filepath.Join(dir, "projects/inside.toml")))
	must(syscall.Mkfifo(filepath.Join(dir, "projects/pipe.toml"), 0o644))

	cfg, probs := Load(dir)
	got := problemLines(probs)
	want := map[string]string{
		"evil":   "projects/evil.toml: is a symbolic link, which is never followed",
		"env":    "projects/env.toml: is a symbolic link, which is never followed",
		"inside": "projects/inside.toml: is a symbolic link, which is never followed",
		"pipe":   "projects/pipe.toml: is a named pipe, not a file",
	}
	for name, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
		if _, frozen := cfg.Frozen[name]; !frozen {
			t.Errorf("project %s is not frozen", name)
		}
	}
	if strings.Contains(got, marker) {
		t.Errorf("a problem quotes the link's target:\n%s", got)
	}
	if cfg.Project("demo") == nil {
		t.Errorf("demo should stay valid:\n%s", got)
	}
}

// TestSymlinkedAdminFileIsRefused: launchwarden.toml and projects/ must be
// real too.
func TestSymlinkedAdminFileIsRefused(t *testing.T) {
	dir := repoDir(t)
	real := filepath.Join(dir, "real.toml")
	if err := os.Rename(filepath.Join(dir, AdminFile), real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, AdminFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "projects"), filepath.Join(dir, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("elsewhere", filepath.Join(dir, "projects")); err != nil {
		t.Fatal(err)
	}
	cfg, probs := Load(dir)
	got := problemLines(probs)
	for _, w := range []string{
		"launchwarden.toml: is a symbolic link, which is never followed",
		"projects/: the projects folder is a symbolic link, which is never followed",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
	}
	if cfg.Admin != nil {
		t.Error("a symlinked admin file was read")
	}
}

// TestSpecialFilesInAnyFS checks the same through fs.FS, as LoadFS sees a
// test's MapFS: Lstat, not Open, decides.
func TestSpecialFilesInAnyFS(t *testing.T) {
	m := caseFS(t, "testdata/shared").(fstest.MapFS)
	m["projects/dev.toml"] = &fstest.MapFile{Mode: fs.ModeDevice | fs.ModeCharDevice}
	m["projects/sock.toml"] = &fstest.MapFile{Mode: fs.ModeSocket}
	m["projects/big.toml"] = &fstest.MapFile{Data: []byte(strings.Repeat("# padding\n", maxFileSize/10+1))}
	_, probs := LoadFS(m, testNow)
	got := problemLines(probs)
	for _, w := range []string{
		"projects/dev.toml: is a device, not a file",
		"projects/sock.toml: is a socket, not a file",
		"projects/big.toml: file is larger than 1024 KiB",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
	}
}

// TestProblemsAreBounded: a file with thousands of mistakes yields at most
// maxProblemsPerFile problems and a count of the rest, and no problem
// quotes more than a short excerpt of a line.
func TestProblemsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`owners = ["octocat"]` + "\n[slack]\nchannel = \"#demo\"\n[lifecycle]\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "k%d%s = \"%s\"\n", i, strings.Repeat("z", 140), strings.Repeat("z", 150))
	}
	m := caseFS(t, "testdata/shared").(fstest.MapFS)
	m["projects/demo.toml"] = &fstest.MapFile{Data: []byte(b.String())}
	_, probs := LoadFS(m, testNow)
	if len(probs) != maxProblemsPerFile+1 {
		t.Fatalf("got %d problems, want %d", len(probs), maxProblemsPerFile+1)
	}
	if last := probs[len(probs)-1]; !strings.Contains(last.Message, "2900 more problems") {
		t.Errorf("last problem = %s", last)
	}
	for _, p := range probs {
		if n := len(p.String()); n > 6*maxQuote {
			t.Errorf("problem is %d bytes: %s", n, p)
		}
	}
}

// hostileInputs are 1 MiB project files shaped to cost the loader the most
// per byte: each is rejected by the bounds or decoded in linear work.
func hostileInputs() map[string]string {
	const size = maxFileSize
	fill := func(head, unit, tail string) string {
		n := (size - len(head) - len(tail)) / len(unit)
		return head + strings.Repeat(unit, n) + tail
	}
	valid := "owners = [\"octocat\"]\n[slack]\nchannel = \"#demo\"\n[lifecycle]\n"
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	return map[string]string{
		"nested-arrays":     "x = " + strings.Repeat("[", size/2-4) + strings.Repeat("]", size/2-4),
		"nested-tables":     "x = " + strings.Repeat("{a=", size/8) + strings.Repeat("}", size/8),
		"dotted-key":        fill("", "a.", "b = 1\n"),
		"long-header":       fill("[", "a.", "b]\n"),
		"too-many-items":    valid + "x = [" + strings.Repeat("1,", size/2-50) + "]\n",
		"unknown-keys":      valid + lines(maxItems-100, func(i int) string { return fmt.Sprintf("k%039d = 1\n", i) }),
		"unknown-long-keys": valid + lines(6000, func(i int) string { return fmt.Sprintf("%0150d = 1\n", i) }),
		"array-of-strings":  valid + "x = [" + strings.Repeat(`"`+strings.Repeat("s", 40)+`",`, maxItems-100) + "]\n",
		"long-strings":      fill(valid+"cloud = '''", "x", "'''\n"),
		"comments":          fill(valid, "# a comment line that says nothing at all\n", ""),
		"template-headers":  valid + strings.Repeat("[[templates]]\n", maxItems/2-100),
		"deep-under-cap": valid + lines(maxItems/(maxNesting+1)-10, func(i int) string {
			return fmt.Sprintf("y%d = %s%s\n", i, strings.Repeat("[", maxNesting), strings.Repeat("]", maxNesting))
		}),
		"syntax-errors": fill(valid, "= = =\n", ""),
	}
}

// TestHostileInputIsCheap loads each hostile input and checks that loading
// it allocates at most 64 bytes per byte of the largest file allowed, so
// that no file makes a run large. (Measured, not timed: allocation does not
// depend on the machine's load.)
func TestHostileInputIsCheap(t *testing.T) {
	for name, src := range hostileInputs() {
		t.Run(name, func(t *testing.T) {
			m := caseFS(t, "testdata/shared").(fstest.MapFS)
			m["projects/demo.toml"] = &fstest.MapFile{Data: []byte(src)}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, probs := LoadFS(m, testNow)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			first := ""
			if len(probs) > 0 {
				first = clip(probs[0].String(), 90)
			}
			t.Logf("%s: %d bytes in, %.1f MB allocated (%.1f per input byte), %d problems, first: %s",
				name, len(src), float64(alloc)/1e6, float64(alloc)/float64(len(src)), len(probs), first)
			if alloc > 64*maxFileSize && !raceEnabled {
				t.Errorf("%d bytes allocated; want at most %d", alloc, 64*maxFileSize)
			}
		})
	}
}

// BenchmarkLoadHostile reports allocation per input byte for each 1 MiB
// hostile input (see bench/README.md for figures).
func BenchmarkLoadHostile(b *testing.B) {
	for name, src := range hostileInputs() {
		b.Run(name, func(b *testing.B) {
			m := caseFS(b, "testdata/shared").(fstest.MapFS)
			m["projects/demo.toml"] = &fstest.MapFile{Data: []byte(src)}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				LoadFS(m, testNow)
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(src)), "alloc-B/input-B")
		})
	}
}
