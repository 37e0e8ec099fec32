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
	"syscall"
	"time"
)

// Load reads dir/launchwarden.toml and dir/projects/*.toml and validates
// them. It never panics, never blocks on a special file and never reads
// outside dir; every problem found is returned, sorted.
//
// Problems in a project file (including requests above the caps) freeze
// that project. Problems in launchwarden.toml itself leave Config.Admin nil.
// A grant for a project that has no file is reported but does not make the
// admin file invalid: the project may just have been removed.
func Load(dir string) (*Config, Problems) {
	var fsys fs.FS = os.DirFS(dir)
	if root, err := os.OpenRoot(dir); err == nil {
		defer root.Close()
		fsys = rootFS{root}
	}
	cfg, probs := LoadFS(fsys, time.Now())
	cfg.Dir = dir
	return cfg, probs
}

// rootFS reads the config repo through an os.Root, which refuses any path
// that leaves the repo, and opens files without blocking, so that a named
// pipe swapped in after the Lstat check cannot hang a run either.
type rootFS struct{ root *os.Root }

func (r rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

func (r rootFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(r.root.FS(), name) }
func (r rootFS) Lstat(name string) (fs.FileInfo, error)     { return r.root.Lstat(name) }
func (r rootFS) ReadLink(name string) (string, error)       { return r.root.Readlink(name) }

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

	files, missed, p := projectFiles(fsys)
	probs = append(probs, p...)
	for name, p := range missed {
		cfg.Frozen[name] = Problems{p}
	}
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
	checkGlobalNames(parsed)
	if cfg.Admin != nil {
		checkChannels(parsed, cfg.Admin)
	}
	probs = probs.bounded()
	for _, pf := range parsed {
		proj := pf.resolve(cfg.Admin, now)
		if len(pf.d.probs) > 0 {
			cfg.contest(pf, proj)
			pf.d.probs = pf.d.probs.bounded()
			cfg.Frozen[pf.name] = pf.d.probs
			cfg.FrozenParts[pf.name] = frozenParts(cfg.Admin, pf.name, pf.raw.File, proj, pf.d.probs)
			probs = append(probs, pf.d.probs...)
			continue
		}
		cfg.Warnings = append(cfg.Warnings, pf.d.warns...)
		cfg.Projects = append(cfg.Projects, proj)
	}
	slices.SortFunc(cfg.Projects, func(a, b *Project) int { return strings.Compare(a.Name, b.Name) })
	probs.sort()
	cfg.Warnings = cfg.Warnings.bounded()
	return cfg, probs
}

// fileError is a Problem about a whole file and the error behind it.
type fileError struct {
	Problem
	err error
}

// readFile reads a config file. Anything but a regular file (a symbolic
// link, a named pipe, a device, a socket, a folder) is refused without
// being opened or followed, and so are files too large to be config.
func readFile(fsys fs.FS, file string) (string, fileError, bool) {
	fail := func(err error, msg, hint string) (string, fileError, bool) {
		return "", fileError{Problem{File: file, Message: msg, Hint: hint}, err}, false
	}
	fi, err := fs.Lstat(fsys, file)
	if err != nil {
		return fail(err, "cannot read file: "+errText(err), "")
	}
	if p := irregular(fi); p != "" {
		return fail(fs.ErrInvalid, p, "config files must be regular files in the config repo; nothing was read from it")
	}
	if fi.Size() > maxFileSize {
		return fail(fs.ErrInvalid, fmt.Sprintf("file is larger than %d KiB", maxFileSize>>10), "a config file this big is a mistake")
	}
	f, err := fsys.Open(file)
	if err != nil {
		return fail(err, "cannot read file: "+errText(err), "")
	}
	defer f.Close()
	// The file may have been replaced since Lstat: check what was opened.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fail(fs.ErrInvalid, "is not a regular file", "config files must be regular files in the config repo; nothing was read from it")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return fail(err, "cannot read file: "+errText(err), "")
	}
	if len(b) > maxFileSize {
		return fail(fs.ErrInvalid, fmt.Sprintf("file is larger than %d KiB", maxFileSize>>10), "a config file this big is a mistake")
	}
	return string(b), fileError{}, true
}

// irregular says what fi is if it is not a regular file, or "".
func irregular(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsRegular():
		return ""
	case m&fs.ModeSymlink != 0:
		return "is a symbolic link, which is never followed"
	case m&fs.ModeNamedPipe != 0:
		return "is a named pipe, not a file"
	case m&fs.ModeSocket != 0:
		return "is a socket, not a file"
	case m&fs.ModeDevice != 0:
		return "is a device, not a file"
	case m.IsDir():
		return "is a folder, not a file"
	}
	return "is not a regular file"
}

// errText drops the path from fs errors: the problem already names the file.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// projectFiles lists the project names found as projects/*.toml. Entries
// that look meant to be project files but are not read as one (packit.TOML,
// packit.toml~, packit.yml, Packit.toml) are problems, and their project
// name is returned in missed unless a proper file of that name exists: that
// project is then frozen, so that its instances are never taken for orphans.
func projectFiles(fsys fs.FS) (names []string, missed map[string]Problem, probs Problems) {
	if fi, err := fs.Lstat(fsys, ProjectsDir); err == nil {
		if p := irregular(fi); p != "" && !fi.IsDir() {
			return nil, nil, Problems{{File: ProjectsDir + "/", Message: "the projects folder " + p, Hint: "projects/ must be a real folder in the config repo"}}
		}
	}
	entries, err := fs.ReadDir(fsys, ProjectsDir)
	if err != nil {
		p := Problem{File: ProjectsDir + "/", Message: "cannot read the projects folder: " + errText(err)}
		if errors.Is(err, fs.ErrNotExist) {
			p.Message = "missing projects folder"
			p.Hint = "add one file per project, e.g. projects/packit.toml"
		}
		return nil, nil, Problems{p}
	}
	type near struct{ file, project string }
	var nears []near
	for _, e := range entries {
		name := e.Name()
		stem, proper := strings.CutSuffix(name, ".toml")
		switch {
		case proper && e.IsDir():
			probs = append(probs, Problem{File: ProjectsDir + "/" + name, Message: "is a folder, not a project file", Hint: "move or rename it"})
		case proper && stem != strings.ToLower(stem) && nameRe.MatchString(strings.ToLower(stem)):
			nears = append(nears, near{name, strings.ToLower(stem)})
		case proper:
			names = append(names, stem)
		case e.IsDir():
		default:
			if stem, ok := nearMissStem(name); ok {
				nears = append(nears, near{name, stem})
			}
		}
	}
	missed = map[string]Problem{}
	for _, n := range nears {
		p := Problem{File: ProjectsDir + "/" + n.file,
			Message: fmt.Sprintf("is not read as a project file: only projects/<name>.toml are, with a lowercase name; project %q is frozen while this file is here", n.project),
			Hint:    fmt.Sprintf("rename it to projects/%s.toml, or remove it", n.project)}
		if slices.Contains(names, n.project) {
			p.Message = fmt.Sprintf("is not read as a project file: projects/%s.toml is", n.project)
			p.Hint = "remove it"
		} else {
			missed[n.project] = p
		}
		probs = append(probs, p)
	}
	if len(names) == 0 && len(missed) == 0 {
		probs = append(probs, Problem{File: ProjectsDir + "/", Message: "no project files", Hint: "add one file per project, e.g. projects/packit.toml"})
	}
	return names, missed, probs
}

// nearMissSuffixes are endings of files meant as project files but never
// read as one.
var nearMissSuffixes = []string{".toml", ".tml", ".yml", ".yaml", ".json"}

// nearMissStem returns the project name a file name seems meant for:
// packit.TOML, packit.toml~, packit.toml.bak, packit.yaml → packit.
func nearMissStem(name string) (string, bool) {
	lower := strings.ToLower(name)
	for _, suf := range nearMissSuffixes {
		if i := strings.Index(lower, suf); i > 0 {
			stem := strings.TrimPrefix(lower[:i], ".")
			return stem, nameRe.MatchString(stem)
		}
	}
	return "", false
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
