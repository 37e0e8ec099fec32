package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
)

// TagStrays is kept on one managed launch template per account and region
// (the one with the lowest ID): the hash of the strays last reported to
// admins there, so that the same strays are reported once, without a
// database and without touching the strays themselves.
const TagStrays = "launchwarden:strays"

// maxListed bounds how many instance IDs one admin notice lists.
const maxListed = 20

// planUntrusted tells admins about launchwarden tags that launchwarden did
// not write:
//
//   - Strays: instances that carry launchwarden labels or state but that no
//     managed template launched and no admin adopted. They are not ours and
//     are never stopped, terminated or tagged. They are reported once per
//     distinct set per region (see TagStrays); every plan lists them in its
//     warnings.
//   - Forged state tags on our own instances (a value whose signature does
//     not verify, e.g. written by hand, copied from another instance, or
//     unsigned from an older release): ignored, reported, and removed after
//     the admin digest was delivered, so that they are reported once.
func planUntrusted(plan *RunPlan, obs *Observation) {
	for i, snap := range obs.Snapshots {
		rp := plan.Regions[i]
		var strays []string
		forged := map[string][]string{} // "project tag" → instance IDs
		for _, in := range snap.Instances {
			if in.Project == "" {
				what := in.ID
				if in.LabelProject != "" {
					what += " labelled " + in.LabelProject
				}
				if len(in.Forged) > 0 {
					what += " with " + strings.Join(in.Forged, ", ")
				}
				strays = append(strays, what)
				continue
			}
			// A frozen project's forged tags are reported too: Apply removes
			// them once the admin digest was delivered, frozen or not.
			for _, k := range in.Forged {
				key := in.Project + " " + k
				forged[key] = append(forged[key], in.ID)
			}
		}
		for _, key := range sortedKeys(forged) {
			project, tag, _ := strings.Cut(key, " ")
			ids := forged[key]
			plan.Notices = append(plan.Notices, notify.Notice{
				Kind: notify.KindUntrusted, Channel: plan.AdminChannel, Project: project, Account: snap.Account, Region: snap.Region,
				Reason: fmt.Sprintf("%d instance(s) carry a %s value launchwarden did not sign: ignored and removed", len(ids), tag),
				Detail: listIDs(ids),
			})
		}
		planStrays(plan, rp, snap, strays)
	}
}

// planStrays reports a region's strays unless the same set was reported
// before, and records the set on the region's marker template.
func planStrays(plan *RunPlan, rp *RegionPlan, snap *cloud.Snapshot, strays []string) {
	slices.Sort(strays)
	hash := ""
	if len(strays) > 0 {
		hash = hashLines(strays)
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s/%s: %d instance(s) carry launchwarden tags but are not ours (no managed template launched them, no admin adopted them): left alone: %s",
			snap.Account, snap.Region, len(strays), strings.Join(strays[:min(len(strays), maxListed)], "; ")))
	}
	var marker *cloud.Template
	for i := range snap.Templates {
		if t := &snap.Templates[i]; t.Managed && (marker == nil || t.ID < marker.ID) {
			marker = t
		}
	}
	if marker == nil || marker.Tags[TagStrays] == hash {
		return // nowhere to remember (reported in the plan only), or told already
	}
	if hash == "" {
		rp.AfterAdmin = append(rp.AfterAdmin, TagChange{ID: marker.ID, Name: marker.Name, Delete: []string{TagStrays}})
		return
	}
	plan.Notices = append(plan.Notices, notify.Notice{
		Kind: notify.KindUntrusted, Channel: plan.AdminChannel, Account: snap.Account, Region: snap.Region,
		Reason: fmt.Sprintf("%d instance(s) carry launchwarden tags but no managed template launched them and no admin adopted them: not ours, left alone", len(strays)),
		Detail: listIDs(strays) + "\nTo have launchwarden manage one: launchwarden adopt ID --project P --template T",
	})
	rp.AfterAdmin = append(rp.AfterAdmin, TagChange{ID: marker.ID, Name: marker.Name, Set: map[string]string{TagStrays: hash}})
}

// planForgedMarkers tells admins about markers on managed templates and
// groups whose signature did not verify (see cloud.IsMarker): written by
// someone with tag rights, copied from another resource, or unsigned from
// an older release. They counted as absent in this plan, which recomputed
// them: those the plan rewrites (signed) or removes anyway are left to it;
// the others are removed once the admin digest was delivered, so that each
// is reported once. It runs after the rest of the plan.
func planForgedMarkers(plan *RunPlan, obs *Observation) {
	for i, snap := range obs.Snapshots {
		rp := plan.Regions[i]
		touched := map[string]map[string]bool{} // resource ID → keys the plan writes or removes
		touch := func(id string, keys ...string) {
			if touched[id] == nil {
				touched[id] = map[string]bool{}
			}
			for _, k := range keys {
				touched[id][k] = true
			}
		}
		for _, tc := range slices.Concat(rp.TemplateTags, rp.AfterAdmin) {
			touch(tc.ID, tc.Delete...)
			for k := range tc.Set {
				touch(tc.ID, k)
			}
		}
		for _, tc := range rp.Templates {
			if tc.Op == OpUpdate {
				touch(tc.ID, cloud.TagSpec, TagVersion)
				if tc.Image != "" {
					touch(tc.ID, TagImage)
				}
			}
		}
		var listed []string
		remove := func(id, name string, group bool, forged []string) {
			var del []string
			for _, k := range forged {
				listed = append(listed, name+" "+k)
				if !touched[id][k] {
					del = append(del, k)
				}
			}
			if len(del) > 0 {
				rp.AfterAdmin = append(rp.AfterAdmin, TagChange{ID: id, Name: name, Group: group, Delete: del})
			}
		}
		for _, t := range snap.Templates {
			if t.Managed && len(t.Forged) > 0 {
				remove(t.ID, t.Name, false, t.Forged)
			}
		}
		for _, g := range snap.SecurityGroups {
			if g.Managed && len(g.Forged) > 0 {
				remove(g.ID, g.Name, true, g.Forged)
			}
		}
		if len(listed) == 0 {
			continue
		}
		plan.Notices = append(plan.Notices, notify.Notice{
			Kind: notify.KindUntrusted, Channel: plan.AdminChannel, Account: snap.Account, Region: snap.Region,
			Reason: fmt.Sprintf("%d marker tag(s) on launch templates or security groups carry a value launchwarden did not sign: ignored, recomputed, and rewritten or removed", len(listed)),
			Detail: listIDs(listed),
		})
	}
}

func listIDs(ids []string) string {
	if len(ids) <= maxListed {
		return strings.Join(ids, "\n")
	}
	return strings.Join(ids[:maxListed], "\n") + fmt.Sprintf("\n… and %d more", len(ids)-maxListed)
}
