package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
)

// TagFrozenBare is kept on one managed launch template (the lowest ID of the
// first region that has one) and holds the hash of the problems of the
// frozen projects that have no template of their own to carry TagFrozen, so
// that they too are announced once per distinct set of problems.
const TagFrozenBare = "launchwarden:frozen-bare"

// planFrozen announces each frozen project to the admins and to its team
// (where its file's channel reads), naming every problem with file:line,
// once per distinct set of problems. That it was announced is recorded once
// the admin digest was delivered (RegionPlan.AfterAdmin): on the project's
// own templates (TagFrozen), the only change a frozen project's templates
// get, or, for a project with none, on one marker template (TagFrozenBare).
// With no managed template anywhere, there is nowhere to record it, and the
// announcement is repeated every run until the file is fixed.
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

// planFrozenBare announces the frozen projects without a template of their
// own unless the marker template says this set was announced already.
func planFrozenBare(plan *RunPlan, obs *Observation, bare []string, notices []notify.Notice) {
	slices.Sort(bare)
	hash := ""
	if len(bare) > 0 {
		hash = hashLines(bare)
	}
	region, marker := -1, (*cloud.Template)(nil)
	for i, snap := range obs.Snapshots {
		for j := range snap.Templates {
			if t := &snap.Templates[j]; t.Managed && (marker == nil || t.ID < marker.ID) {
				marker = t
			}
		}
		if marker != nil {
			region = i
			break
		}
	}
	switch {
	case marker == nil:
		plan.Notices = append(plan.Notices, notices...) // nowhere to remember: every run
	case marker.Tags[TagFrozenBare] == hash:
		// Told already (or nothing to tell and nothing recorded).
	case hash == "":
		plan.Regions[region].TemplateTags = append(plan.Regions[region].TemplateTags,
			TagChange{ID: marker.ID, Name: marker.Name, Delete: []string{TagFrozenBare}})
	default:
		plan.Notices = append(plan.Notices, notices...)
		plan.Regions[region].AfterAdmin = append(plan.Regions[region].AfterAdmin,
			TagChange{ID: marker.ID, Name: marker.Name, Set: map[string]string{TagFrozenBare: hash}})
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
