package projects

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds an admin file and a project file to LoadFS: broken input
// must yield problems, never a panic, and a project is either valid or
// frozen; problems quote short excerpts and are bounded in number. The seeds
// include every testdata case, so the hostile ones (deep-nesting,
// long-dotted-key, too-many-items, …) are in the corpus.
func FuzzLoad(f *testing.F) {
	shared, err := os.ReadFile("testdata/shared/launchwarden.toml")
	if err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob("testdata/cases/*/projects/*.toml")
	seeds = append(seeds, "../examples/config-repo/projects/packit.toml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(shared, b)
	}
	admins, _ := filepath.Glob("testdata/cases/*/launchwarden.toml")
	admins = append(admins, "../examples/config-repo/launchwarden.toml")
	demo, err := os.ReadFile("testdata/shared/projects/demo.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range admins {
		b, err := os.ReadFile(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, demo)
	}

	f.Fuzz(func(t *testing.T, admin, project []byte) {
		fsys := fstest.MapFS{
			AdminFile:            {Data: admin},
			"projects/demo.toml": {Data: project},
		}
		cfg, probs := LoadFS(fsys, testNow)
		perFile := map[string]int{}
		for _, p := range probs {
			if p.File == "" || p.Message == "" {
				t.Errorf("incomplete problem %#v", p)
			}
			if n := len(p.String()); n > len(p.File)+16+10*maxQuote {
				t.Errorf("problem of %d bytes quotes more than an excerpt", n)
			}
			perFile[p.File]++
		}
		for f, n := range perFile {
			if n > maxProblemsPerFile+1 {
				t.Errorf("%s: %d problems; want at most %d", f, n, maxProblemsPerFile+1)
			}
		}
		_, frozen := cfg.Frozen["demo"]
		if valid := cfg.Project("demo") != nil; valid == frozen {
			t.Errorf("project valid = %v and frozen = %v; want exactly one", valid, frozen)
		}
		if len(probs) == 0 && cfg.Admin == nil {
			t.Error("no problems but no admin config")
		}
	})
}

// BenchmarkLoad1000Projects loads and validates a repo of 1,000 projects
// with two templates each.
func BenchmarkLoad1000Projects(b *testing.B) {
	dir := b.TempDir()
	admin, err := os.ReadFile("testdata/shared/launchwarden.toml")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, AdminFile), admin, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ProjectsDir), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		src := fmt.Sprintf(`owners = ["user%[1]d", "maintainer-%[1]d"]

[slack]
channel = "#project-%[1]d"

[limits]
max_instances = 4
max_vcpus = 16

[lifecycle]
ttl = "2d"
warn_before = "12h"

[[templates]]
name = "fedora"
image = "ami-0a7c3e1f5d2b48a91"
instance_type = "t3.large"
volume_gib = 40
ssh_from = ["203.0.113.0/24", "2001:db8::/32"]
cloud_init = """
#cloud-config
packages: [git, make]
"""
tags = { team = "project-%[1]d" }

[[templates]]
name = "centos"
image = "ami-0b8d4f2a6e3c59b02"
instance_type = "m6i.large"
ssh_from = ["198.51.100.0/24"]

[[extensions]]
instance = "i-0c1d2e3f4a5b6c7d8"
until = 2026-12-08T18:00:00Z
reason = "release testing"
`, i)
		name := filepath.Join(dir, ProjectsDir, fmt.Sprintf("project-%04d.toml", i))
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cfg, probs := Load(dir)
		if len(probs) > 0 || len(cfg.Projects) != 1000 {
			b.Fatalf("got %d projects and problems:\n%v", len(cfg.Projects), probs.Err())
		}
	}
}
