// Package projects decides what the config repo says: it decodes
// launchwarden.toml and projects/<name>.toml strictly, validates every file
// at once with file:line positions, and applies defaults so that callers get
// effective values.
//
// Values a project leaves out come from the admin's [defaults], then from
// built-in defaults (see BuiltinDefaults). Defaults never exceed the caps.
// A project whose file has problems is frozen (no destructive action); a
// broken launchwarden.toml leaves Config.Admin nil, and the run must abort.
package projects

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// Load reads dir/launchwarden.toml and dir/projects/*.toml and validates
// them. It never panics; every problem found is returned, sorted.
//
// Problems in a project file (including requests above the caps) freeze
// that project. Problems in launchwarden.toml itself leave Config.Admin nil.
// A grant for a project that has no file is reported but does not make the
// admin file invalid: the project may just have been removed.
func Load(dir string) (*Config, Problems) {
	cfg, probs := LoadFS(os.DirFS(dir), time.Now())
	cfg.Dir = dir
	return cfg, probs
}

// AdminFile and ProjectsDir are where the config repo keeps its files.
const (
	AdminFile   = "launchwarden.toml"
	ProjectsDir = "projects"
)

// LoadFS is Load over a file system, with now as the current time (used to
// check that extensions stay within caps.max_lifetime).
func LoadFS(fsys fs.FS, now time.Time) (*Config, Problems) {
	cfg := &Config{Frozen: map[string]Problems{}, FrozenParts: map[string]FrozenProject{}}
	var probs Problems

	var adminDec *decoder
	if src, p, ok := readFile(fsys, AdminFile); ok {
		cfg.Admin, adminDec = parseAdmin(AdminFile, src)
		probs = append(probs, adminDec.probs...)
	} else {
		if errors.Is(p.err, fs.ErrNotExist) {
			p.Problem.Message = "missing " + AdminFile
			p.Problem.Hint = "the config repo needs launchwarden.toml at its root, owned by the admins"
		}
		probs = append(probs, p.Problem)
	}

	files, p := projectFiles(fsys)
	probs = append(probs, p...)
	var parsed []*projectFile
	for _, name := range files {
		file := ProjectsDir + "/" + name + ".toml"
		src, p, ok := readFile(fsys, file)
		if !ok {
			cfg.Frozen[name] = Problems{p.Problem}
			cfg.FrozenParts[name] = frozenParts(cfg.Admin, name, file, nil, nil)
			probs = append(probs, p.Problem)
			continue
		}
		parsed = append(parsed, parseProject(name, file, src))
	}

	if cfg.Admin != nil {
		probs = append(probs, checkGrants(adminDec, cfg.Admin, files)...)
	}
	for _, pf := range parsed {
		proj := pf.resolve(cfg.Admin, now)
		if len(pf.d.probs) > 0 {
			pf.d.probs.sort()
			cfg.Frozen[pf.name] = pf.d.probs
			cfg.FrozenParts[pf.name] = frozenParts(cfg.Admin, pf.name, pf.raw.File, proj, pf.d.probs)
			probs = append(probs, pf.d.probs...)
			continue
		}
		cfg.Projects = append(cfg.Projects, proj)
	}
	slices.SortFunc(cfg.Projects, func(a, b *Project) int { return strings.Compare(a.Name, b.Name) })
	probs.sort()
	return cfg, probs
}

// fileError is a Problem about a whole file and the error behind it.
type fileError struct {
	Problem
	err error
}

// readFile reads a config file, refusing files too large to be config.
func readFile(fsys fs.FS, file string) (string, fileError, bool) {
	f, err := fsys.Open(file)
	if err != nil {
		return "", fileError{Problem{File: file, Message: "cannot read file: " + errText(err)}, err}, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return "", fileError{Problem{File: file, Message: "cannot read file: " + errText(err)}, err}, false
	}
	if len(b) > maxFileSize {
		err := fmt.Errorf("larger than %d KiB", maxFileSize>>10)
		return "", fileError{Problem{File: file, Message: "file is " + err.Error(), Hint: "a config file this big is a mistake"}, err}, false
	}
	return string(b), fileError{}, true
}

// errText drops the path from fs errors: the problem already names the file.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// projectFiles lists the project names found as projects/*.toml.
func projectFiles(fsys fs.FS) ([]string, Problems) {
	entries, err := fs.ReadDir(fsys, ProjectsDir)
	if err != nil {
		p := Problem{File: ProjectsDir + "/", Message: "cannot read the projects folder: " + errText(err)}
		if errors.Is(err, fs.ErrNotExist) {
			p.Message = "missing projects folder"
			p.Hint = "add one file per project, e.g. projects/packit.toml"
		}
		return nil, Problems{p}
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	if len(names) == 0 {
		return nil, Problems{{File: ProjectsDir + "/", Message: "no project files", Hint: "add one file per project, e.g. projects/packit.toml"}}
	}
	return names, nil
}

// checkGrants reports grants for projects that have no file, which are
// usually typos. They do not invalidate the admin file: a project may have
// just been removed.
func checkGrants(d *decoder, a *Admin, projects []string) Problems {
	var probs Problems
	for name := range a.Grants {
		if slices.Contains(projects, name) {
			continue
		}
		hint := fmt.Sprintf("there is no projects/%s.toml; remove the grant", name)
		if s := closest(name, projects); s != "" {
			hint = fmt.Sprintf("did you mean [grants.%s]?", s)
		}
		pos := d.ix.lookup(joinKey("grants", name))
		probs = append(probs, Problem{File: d.file, Line: pos.line, Column: pos.col, Key: joinKey("grants", name),
			Message: fmt.Sprintf("grant for unknown project %q", name), Hint: hint})
	}
	return probs
}
