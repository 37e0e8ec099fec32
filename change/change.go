// Package change decides what a change to the config repo does, offline:
// which launch templates are created, changed field by field, or deleted
// (and that the instances of a deleted one become orphans); each project's
// effective limits before and after, with the key that binds each; what
// lifecycle changes mean for running instances; whether added extensions
// fit within the max lifetime; which projects the change freezes (their
// file fails validation in head) or unfreezes; and what a change of the
// admin file does and to which projects.
//
// It reads the two config repos and nothing else: no AWS, no Slack, no
// clock (the time extensions are judged at is an input). The comparison
// walks the config types by reflection, so a field added to a template,
// a project, the caps or a grant is compared even before it has a rule;
// a test fails until it has one that names its key and says what
// changing it does.
package change

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/projects"
)

// Report is what a change from base to head does.
type Report struct {
	Base string `json:"base"`
	Head string `json:"head"`
	// At is the time extensions were judged at.
	At time.Time `json:"at"`
	// AdminBroken lists the problems of head's launchwarden.toml when it is
	// invalid: every run then aborts before any action.
	AdminBroken []projects.Problem `json:"admin_broken,omitempty"`
	// AdminFixed is set when base's launchwarden.toml was invalid and
	// head's is valid: runs resume.
	AdminFixed bool `json:"admin_fixed,omitempty"`
	// Admin lists the changes of launchwarden.toml.
	Admin []FieldChange `json:"admin,omitempty"`
	// AdminWarnings are head's problems in launchwarden.toml that do not
	// make it invalid (a grant for a project that has no file).
	AdminWarnings []projects.Problem `json:"admin_warnings,omitempty"`
	// Problems are head's problems outside launchwarden.toml and the
	// project files (the projects folder itself, files that look meant as
	// project files) that base does not have.
	Problems []projects.Problem `json:"problems,omitempty"`
	// Projects lists every project the change touches, by name.
	Projects []ProjectChange `json:"projects,omitempty"`
}

// What a change does to a project as a whole.
const (
	StatusAdded       = "added"
	StatusRemoved     = "removed"
	StatusChanged     = "changed"
	StatusFreezes     = "freezes"      // valid in base, invalid in head
	StatusUnfreezes   = "unfreezes"    // invalid in base, valid in head
	StatusStaysFrozen = "stays frozen" // invalid in both
)

// ProjectChange is what the change does to one project.
type ProjectChange struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Status string `json:"status"`
	// Problems are head's problems of a project that is invalid there
	// (frozen: no template change, nothing stopped or terminated).
	Problems []projects.Problem `json:"problems,omitempty"`
	// Note says what the status means for the project's instances.
	Note string `json:"note,omitempty"`
	// Fields are changes of owners and the Slack channel.
	Fields     []FieldChange     `json:"fields,omitempty"`
	Limits     []LimitChange     `json:"limits,omitempty"`
	Lifecycle  []FieldChange     `json:"lifecycle,omitempty"`
	Templates  []TemplateChange  `json:"templates,omitempty"`
	Extensions []ExtensionChange `json:"extensions,omitempty"`
}

// Frozen reports whether the project is invalid in head.
func (p ProjectChange) Frozen() bool {
	return len(p.Problems) > 0
}

// Template operations.
const (
	OpCreate = "create"
	OpChange = "change"
	OpDelete = "delete"
	// OpEnsure is a template of a project that was frozen in base: whatever
	// exists in AWS is brought in line with head.
	OpEnsure = "ensure"
)

// TemplateChange is what happens to one launch template.
type TemplateChange struct {
	Name string `json:"name"`
	Op   string `json:"op"`
	// Regions are where it is created ("account/region"), for OpCreate and
	// OpEnsure.
	Regions []string `json:"regions,omitempty"`
	// Fields are the changes (OpChange) or every value set (OpCreate,
	// OpEnsure).
	Fields []FieldChange `json:"fields,omitempty"`
	Note   string        `json:"note,omitempty"`
}

// Extension operations.
const (
	ExtensionAdded   = "added"
	ExtensionChanged = "changed"
	ExtensionRemoved = "removed"
)

// ExtensionChange is an [[extensions]] entry added, changed or removed.
type ExtensionChange struct {
	Instance string    `json:"instance"`
	Op       string    `json:"op"`
	Before   time.Time `json:"before,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	// Fits is "yes" when the extension gives its full time to any instance
	// launched after LaunchedAfter, "past" when until has passed.
	Fits string `json:"fits,omitempty"`
	// LaunchedAfter is until − max_lifetime: an instance launched earlier
	// is held to launch + max_lifetime instead.
	LaunchedAfter time.Time `json:"launched_after,omitzero"`
	Note          string    `json:"note,omitempty"`
}

// Compare returns what changing the config from base to head does, judging
// extensions at now.
func Compare(base, head *Repo, now time.Time) *Report {
	r := &Report{Base: base.Dir, Head: head.Dir, At: now.UTC()}
	ba, ha := base.Config.Admin, head.Config.Admin
	switch {
	case ha == nil:
		r.AdminBroken = adminProblems(head.Problems)
	case ba == nil:
		r.AdminFixed = true
	}
	if ha != nil {
		for _, p := range adminProblems(head.Problems) {
			if !slices.Contains(base.Problems, p) {
				r.AdminWarnings = append(r.AdminWarnings, p)
			}
		}
	}
	for _, p := range head.Problems {
		if p.File != projects.AdminFile && !isProjectFile(head.Config, p.File) && !slices.Contains(base.Problems, p) {
			r.Problems = append(r.Problems, p)
		}
	}
	c := comparison{base: base, head: head, now: now.UTC(), baseAdmin: orBuiltin(ba), headAdmin: orBuiltin(ha)}
	if ba != nil && ha != nil {
		r.Admin = c.admin()
	}
	for _, name := range projectNames(base.Config, head.Config) {
		if pc, ok := c.project(name); ok {
			r.Projects = append(r.Projects, pc)
		}
	}
	return r
}

// isProjectFile reports whether file is the file of a project of cfg,
// valid or frozen.
func isProjectFile(cfg *projects.Config, file string) bool {
	name, ok := strings.CutPrefix(file, projects.ProjectsDir+"/")
	if !ok {
		return false
	}
	name, ok = strings.CutSuffix(name, ".toml")
	_, frozen := cfg.Frozen[name]
	return ok && (frozen || cfg.Project(name) != nil)
}

// adminProblems returns the problems located in launchwarden.toml.
func adminProblems(probs projects.Problems) []projects.Problem {
	var out []projects.Problem
	for _, p := range probs {
		if p.File == projects.AdminFile {
			out = append(out, p)
		}
	}
	return out
}

// orBuiltin returns a, or for a broken admin file the built-in values a
// project is resolved with then.
func orBuiltin(a *projects.Admin) *projects.Admin {
	if a != nil {
		return a
	}
	return &projects.Admin{
		Defaults: projects.BuiltinDefaults(),
		Caps:     projects.BuiltinCaps(),
		Grants:   map[string]projects.Grant{},
		Safety:   projects.BuiltinSafety(),
	}
}

// projectNames returns the names of every project in either config, valid
// or not, sorted.
func projectNames(cfgs ...*projects.Config) []string {
	var names []string
	for _, c := range cfgs {
		for _, p := range c.Projects {
			names = append(names, p.Name)
		}
		for n := range c.Frozen {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// comparison holds both sides while Compare works.
type comparison struct {
	base, head           *Repo
	baseAdmin, headAdmin *projects.Admin
	now                  time.Time
}

// project compares one project; false if the change leaves it as it is.
func (c *comparison) project(name string) (ProjectChange, bool) {
	bp, bf := c.base.Config.Project(name), c.base.Config.Frozen[name]
	hp, hf := c.head.Config.Project(name), c.head.Config.Frozen[name]
	inBase := bp != nil || bf != nil
	pc := ProjectChange{Name: name, File: projects.ProjectsDir + "/" + name + ".toml", Problems: hf}
	switch {
	case !inBase && hp != nil:
		pc.Status = StatusAdded
		c.whole(&pc, hp, OpCreate)
	case !inBase:
		pc.Status = StatusAdded
		pc.Note = "invalid: frozen from the start; nothing is created until the file is fixed"
	case hp == nil && hf == nil:
		pc.Status = StatusRemoved
		pc.Note = c.projectOrphans(bp)
	case bp != nil && hp != nil:
		pc.Status = StatusChanged
		c.changed(&pc, bp, hp)
		if len(pc.Fields)+len(pc.Limits)+len(pc.Lifecycle)+len(pc.Templates)+len(pc.Extensions) == 0 {
			return pc, false
		}
	case bp != nil:
		pc.Status = StatusFreezes
		pc.Note = "frozen until the file is fixed: its templates stay as they are and close to new launches; its team is still warned of expiries, but none of its instances is stopped or terminated, and quotas and orphans wait"
	case hp != nil:
		pc.Status = StatusUnfreezes
		pc.Note = "valid again: its templates are brought in line with the file and reopen to launches within its quota, and its instances' lifecycle and quotas apply again (nothing is stopped or terminated without a notice first)"
		c.whole(&pc, hp, OpEnsure)
	default:
		if slices.Equal(bf, hf) {
			return pc, false
		}
		pc.Status = StatusStaysFrozen
		pc.Note = "still invalid: its templates stay as they are, closed to new launches; its team is still warned of expiries, but none of its instances is stopped or terminated"
	}
	return pc, true
}

// whole describes a project that head adds or unfreezes: its limits,
// lifecycle and templates as they will be.
func (c *comparison) whole(pc *ProjectChange, p *projects.Project, op string) {
	pc.Limits = limitChanges(nil, c.limits(c.headAdmin, p), p.Lifecycle)
	pc.Lifecycle = c.lifecycle(nil, p)
	for i := range p.Templates {
		t := &p.Templates[i]
		pc.Templates = append(pc.Templates, TemplateChange{Name: t.Name, Op: op, Regions: c.regions(), Fields: templateValues(t, c.fromOwners(p, t.Name))})
	}
	for _, e := range p.Extensions {
		pc.Extensions = append(pc.Extensions, c.extension(ExtensionAdded, nil, &e, p))
	}
}

// changed compares a project valid in both configs.
func (c *comparison) changed(pc *ProjectChange, bp, hp *projects.Project) {
	pc.Fields = compare(*bp, *hp, projectRules)
	pc.Limits = limitChanges(c.limits(c.baseAdmin, bp), c.limits(c.headAdmin, hp), hp.Lifecycle)
	pc.Lifecycle = c.lifecycle(bp, hp)
	pc.Templates = c.templates(bp, hp)
	pc.Extensions = c.extensions(bp, hp)
}

// regions lists where head manages templates: every account's regions.
func (c *comparison) regions() []string {
	var out []string
	for _, a := range c.headAdmin.AWS.Accounts {
		for _, r := range a.Regions {
			out = append(out, a.Name+"/"+r)
		}
	}
	return out
}

func indexKey(key string, i int) string {
	return key + "[" + strconv.Itoa(i) + "]"
}
