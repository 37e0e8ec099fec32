package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
)

// TagFrozenBare holds the hash of the problems of the frozen projects that
// have no template of their own to carry TagFrozen, so that they too are
// announced once per distinct set of problems. It is kept on one managed
// launch template (the lowest ID of the first region that has one), else,
// with no managed template anywhere, on one managed security group (the
// same way). With neither, AWS holds nothing of launchwarden's to keep it
// on; then the process remembers it (Memory, which serve keeps for its
// life), and a one-shot run announces the set every run until a template or
// group exists or the files are fixed.
const TagFrozenBare = "launchwarden:frozen-bare"

// Memory is what a long-running process remembers across its runs where
// AWS has nowhere to keep it: the TagFrozenBare hash announced while no
// managed template or group existed. It is safe for concurrent use; the
// zero value remembers nothing yet, and a nil *Memory never remembers.
type Memory struct {
	mu         sync.Mutex
	frozenBare string
}

func (m *Memory) told() string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frozenBare
}

func (m *Memory) remember(hash string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frozenBare = hash
}

// planFrozen announces each frozen project to the admins and to its team
// (where its file's channel reads), naming every problem with file:line,
// once per distinct set of problems. That it was announced is recorded once
// the admin digest was delivered (RegionPlan.AfterAdmin): on the project's
// own templates (TagFrozen), the only change a frozen project's templates
// get, or, for a project with none, on one marker (TagFrozenBare).
func planFrozen(plan *RunPlan, cfg *projects.Config, obs *Observation) {
	var bare []string // "name\nproblems" of frozen projects without a template
	var bareNotices []notify.Notice
	for _, name := range plan.Frozen {
		lines := problemLines(cfg.Frozen[name])
		hash := hashLines(lines)
		notices := frozenNotices(plan, cfg, name, lines)
		announce, templates := false, false
		for i, snap := range obs.Snapshots {
			for _, t := range snap.Templates {
				if !t.Managed || t.Project != name {
					continue
				}
				templates = true
				if t.Tags[TagFrozen] != hash {
					announce = true
					rp := plan.Regions[i]
					rp.AfterAdmin = append(rp.AfterAdmin, TagChange{ID: t.ID, Name: t.Name, Set: map[string]string{TagFrozen: hash}})
				}
			}
		}
		switch {
		case !templates:
			bare = append(bare, name+"\n"+strings.Join(lines, "\n"))
			bareNotices = append(bareNotices, notices...)
		case announce:
			plan.Notices = append(plan.Notices, notices...)
		}
	}
	planFrozenBare(plan, obs, bare, bareNotices)

	// A project that is valid again loses its frozen mark, so that a later
	// freeze for the same reasons is announced again.
	for i, snap := range obs.Snapshots {
		for _, t := range snap.Templates {
			if _, frozen := cfg.Frozen[t.Project]; t.Managed && !frozen && t.Tags[TagFrozen] != "" {
				plan.Regions[i].TemplateTags = append(plan.Regions[i].TemplateTags, TagChange{ID: t.ID, Name: t.Name, Delete: []string{TagFrozen}})
			}
		}
	}
}

// bareMarker is where TagFrozenBare is kept (see there).
type bareMarker struct {
	region   int
	id, name string
	group    bool
	value    string
}

// frozenBareMarker finds the marker, nil when there is none.
func frozenBareMarker(obs *Observation) *bareMarker {
	for _, groups := range []bool{false, true} {
		for i, snap := range obs.Snapshots {
			var m *bareMarker
			consider := func(id, name string, tags map[string]string) {
				if m == nil || id < m.id {
					m = &bareMarker{region: i, id: id, name: name, group: groups, value: tags[TagFrozenBare]}
				}
			}
			if !groups {
				for _, t := range snap.Templates {
					if t.Managed {
						consider(t.ID, t.Name, t.Tags)
					}
				}
			} else {
				for _, g := range snap.SecurityGroups {
					if g.Managed {
						consider(g.ID, g.Name, g.Tags)
					}
				}
			}
			if m != nil {
				return m
			}
		}
	}
	return nil
}

// planFrozenBare announces the frozen projects without a template of their
// own unless the marker (or, with none, the process's Memory) says this set
// was announced already, and records the set. A TagFrozenBare left on a
// group once a template took over as the marker is removed.
func planFrozenBare(plan *RunPlan, obs *Observation, bare []string, notices []notify.Notice) {
	slices.Sort(bare)
	hash := ""
	if len(bare) > 0 {
		hash = hashLines(bare)
	}
	marker := frozenBareMarker(obs)
	for i, snap := range obs.Snapshots {
		for _, g := range snap.SecurityGroups {
			if _, ok := g.Tags[TagFrozenBare]; ok && g.Managed && (marker == nil || marker.id != g.ID) {
				plan.Regions[i].AfterAdmin = append(plan.Regions[i].AfterAdmin, TagChange{ID: g.ID, Name: g.Name, Group: true, Delete: []string{TagFrozenBare}})
			}
		}
	}
	if marker == nil {
		// Nowhere in AWS: the process's memory, if it has one.
		if obs.Memory.told() != hash {
			plan.Notices = append(plan.Notices, notices...)
			plan.memory, plan.frozenBare = obs.Memory, &hash
		}
		return
	}
	rp := plan.Regions[marker.region]
	switch {
	case marker.value == hash:
		// Told already (or nothing to tell and nothing recorded).
	case hash == "":
		rp.TemplateTags = append(rp.TemplateTags, TagChange{ID: marker.id, Name: marker.name, Group: marker.group, Delete: []string{TagFrozenBare}})
	default:
		plan.Notices = append(plan.Notices, notices...)
		rp.AfterAdmin = append(rp.AfterAdmin, TagChange{ID: marker.id, Name: marker.name, Group: marker.group, Set: map[string]string{TagFrozenBare: hash}})
	}
}

// frozenNotices are the notices announcing that project name is frozen: to
// the admins, and to the team, which owns the file and is the one to fix it,
// where its channel still reads.
func frozenNotices(plan *RunPlan, cfg *projects.Config, name string, lines []string) []notify.Notice {
	n := notify.Notice{
		Kind: notify.KindFrozen, Channel: plan.AdminChannel, Project: name,
		Reason: fmt.Sprintf("%d problem(s) in its file: no template change and no stop or terminate until fixed", len(lines)),
		Detail: strings.Join(lines, "\n"),
	}
	out := []notify.Notice{n}
	if team := cfg.FrozenParts[name].SlackChannel; team != "" && team != plan.AdminChannel {
		n.Channel = team
		out = append(out, n)
	}
	return out
}

func problemLines(problems projects.Problems) []string {
	lines := make([]string, 0, len(problems))
	for _, p := range problems {
		lines = append(lines, p.String())
	}
	return lines
}

// hashLines is a short hash of a set of lines, kept in a marker tag so that
// the same set (held-back problems, strays, frozen problems) is announced once.
func hashLines(lines []string) string {
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}
