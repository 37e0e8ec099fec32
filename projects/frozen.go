package projects

import "strings"

// FrozenProject is what can still be read from a frozen project's file, so
// that its team is still warned while nothing of it is stopped or
// terminated (see Config.FrozenParts).
type FrozenProject struct {
	// File is the project file, e.g. "projects/packit.toml".
	File string
	// SlackChannel is the file's [slack] channel when it was read without a
	// problem, else "": the team cannot be reached and admins are told
	// instead.
	SlackChannel string
	// Lifecycle is the file's [lifecycle] with defaults applied when no
	// problem touches it, else the admin's defaults.
	Lifecycle Lifecycle
}

// frozenParts returns what of a frozen project's file can still be trusted:
// a part is kept only when no problem names a key inside it. proj is the
// file resolved as far as it goes; nil when the file could not be read.
func frozenParts(a *Admin, name, file string, proj *Project, probs Problems) FrozenProject {
	fp := FrozenProject{File: file, Lifecycle: defaultLifecycle(a, name)}
	if proj == nil {
		return fp
	}
	// A problem without a key (a syntax error, a bad file name) leaves
	// nothing decoded that it could have spoilt: a syntax error decodes
	// nothing at all.
	touched := func(table string) bool {
		for _, p := range probs {
			if p.Key == table || strings.HasPrefix(p.Key, table+".") {
				return true
			}
		}
		return false
	}
	if !touched("slack") {
		fp.SlackChannel = proj.SlackChannel
	}
	if !touched("lifecycle") {
		fp.Lifecycle = proj.Lifecycle
	}
	return fp
}

// defaultLifecycle is the lifecycle a project with no [lifecycle] gets.
func defaultLifecycle(a *Admin, name string) Lifecycle {
	r := resolver{d: &decoder{}, defaults: BuiltinDefaults(), caps: BuiltinCaps()}
	if a != nil {
		r.defaults, r.caps = a.Defaults, a.EffectiveCaps(name)
	}
	return r.lifecycle(Lifecycle{})
}
