package change

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/launchwarden/launchwarden/projects"
)

// Repo is one side of a change: a config repo as a run would load it, and
// which keys each valid project file sets itself (to tell which projects a
// changed default reaches).
type Repo struct {
	// Dir is the directory as given.
	Dir      string
	Config   *projects.Config
	Problems projects.Problems
	// set maps a project to the key paths its file sets, such as
	// "lifecycle.ttl".
	set map[string]map[string]bool
}

// NotConfigRepoError is returned by Load for a directory that is no config
// repo: it has neither launchwarden.toml nor a projects folder.
type NotConfigRepoError struct{ Dir string }

func (e *NotConfigRepoError) Error() string {
	return fmt.Sprintf("%s is not a launchwarden config repo: it has neither %s nor %s/", e.Dir, projects.AdminFile, projects.ProjectsDir)
}

// Load loads the config repo in dir as a run at now would (now decides
// whether extensions fit within the max lifetime). Problems in the repo
// are part of the Repo, not an error: a change may well break or fix it.
// The error is for a dir that is missing, unreadable or no config repo.
//
// A pull request's head is untrusted input, and the report may be posted
// where anyone reads it: the repo is read through an os.Root, so nothing
// outside dir is ever read, and (as in every run) symbolic links and
// special files are refused without being opened.
func Load(dir string, now time.Time) (*Repo, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	r, err := LoadFS(root.FS(), now)
	if err != nil {
		var nc *NotConfigRepoError
		if errors.As(err, &nc) {
			nc.Dir = dir
		}
		return nil, err
	}
	r.Dir, r.Config.Dir = dir, dir
	return r, nil
}

// LoadFS is Load over a file system.
func LoadFS(fsys fs.FS, now time.Time) (*Repo, error) {
	_, errAdmin := fs.Stat(fsys, projects.AdminFile)
	_, errProjects := fs.Stat(fsys, projects.ProjectsDir)
	if errors.Is(errAdmin, fs.ErrNotExist) && errors.Is(errProjects, fs.ErrNotExist) {
		return nil, &NotConfigRepoError{Dir: "."}
	}
	cfg, probs := projects.LoadFS(fsys, now)
	r := &Repo{Config: cfg, Problems: probs, set: map[string]map[string]bool{}}
	for _, p := range cfg.Projects {
		r.set[p.Name] = setKeys(fsys, p.File)
	}
	return r, nil
}

// maxFile bounds what setKeys reads; Load refuses larger project files.
const maxFile = 1 << 20

// setKeys returns the key paths a project file sets. The file has passed
// validation, so a failure here only widens the projects a changed default
// is said to reach.
func setKeys(fsys fs.FS, file string) map[string]bool {
	keys := map[string]bool{}
	f, err := fsys.Open(file)
	if err != nil {
		return keys
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return keys
	}
	var m map[string]any
	if _, err := toml.Decode(string(src), &m); err != nil {
		return keys
	}
	flatten("", m, keys)
	return keys
}

func flatten(prefix string, v any, keys map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := joinKey(prefix, k)
			keys[p] = true
			flatten(p, x, keys)
		}
	case []map[string]any:
		for i, x := range v {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), x, keys)
		}
	}
}
