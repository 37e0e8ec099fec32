package reconcile

import (
	"fmt"
	"maps"
	"slices"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/iamguard"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
)

// Admission: launch templates close at quota.
//
// A launch template is closed (tag launchwarden:launch = closed, with a
// reason in launchwarden:launch-reason) while one more instance of its
// instance type would take its project past max_instances or max_vcpus,
// counted over every account and region, while the project's file is
// frozen, or when the template left the config. The launch guard (package
// iamguard), attached to the role the provisioning service launches with,
// makes EC2 refuse launches from a closed template. A template is reopened
// (both tags removed) on the first run where usage allows again.
//
// The tags of existing templates are planned as TemplateTags: a template
// whose state is right gets no call, one that opens or closes gets one
// CreateTags or one DeleteTags call in each region. A template the run
// creates (a project file gained an entry, or a region lacks it) is
// created closed when the same rule says so: the two tags go in
// CreateLaunchTemplate's own tag specification (TemplateChange.LaunchClosed),
// so there is no moment when it is open and no extra call. The reason tag
// names the limit, not the counts, so a closed template is not re-tagged as
// its usage moves. Closing and reopening are announced in the team's
// digest, once per template entry however many regions; a template
// created closed is announced unless the entry is closed by launchwarden in
// some region already (then launches from it were refused before, and
// still are).
//
// TagLaunch is plain (IAM compares it); the reason is a signed marker, and a
// template is closed by launchwarden only when both are there and the
// reason verifies (closedBy). A closing someone else tagged counts as open:
// it is removed (or replaced by launchwarden's own, announced as a
// closing), and its forged reason is reported to admins.
//
// Between two runs IAM cannot count: launches made meanwhile may take a
// project past its quota (two launches racing into the last slot both
// succeed); the next run sees that usage and handles it as any over-quota
// project.
const (
	TagLaunch       = cloud.TagLaunch
	TagLaunchReason = cloud.TagLaunchReason
	LaunchClosed    = iamguard.LaunchClosed
)

// closure says why a template is closed; the zero value means open.
type closure struct {
	tag    string // the launchwarden:launch-reason value: stable while the cause lasts
	notice string // for the team: counts and what to do
}

// planAdmission plans the launch tags of every managed template, those of
// the templates the run creates, and the notices for those that open or
// close. It runs after planGroupsAndTemplates, which plans the creations,
// and planInstances, which fills plan.Usage.
func planAdmission(plan *RunPlan, cfg *projects.Config, obs *Observation) {
	vcpus := map[string]int{}
	for _, snap := range obs.Snapshots {
		for name, it := range snap.InstanceTypes {
			vcpus[name] = int(it.VCPUs)
		}
	}
	type key struct{ project, template string }
	announced := map[key]bool{}
	announce := func(project, template string, c closure) {
		k := key{project, template}
		p := cfg.Project(project)
		if announced[k] || p == nil {
			return
		}
		announced[k] = true
		n := notify.Notice{Kind: notify.KindLaunchesClosed, Channel: p.SlackChannel, Project: p.Name, Template: template, Reason: c.notice}
		if c.tag == "" {
			n.Kind, n.Reason = notify.KindLaunchesOpened, openNotice(plan.Usage[p.Name])
		}
		plan.Notices = append(plan.Notices, n)
	}
	// A template created closed is news unless the team was told already:
	// some region's template of the same entry is closed by launchwarden.
	closedBefore := map[key]bool{}
	for _, snap := range obs.Snapshots {
		for _, t := range snap.Templates {
			if _, closed := closedBy(t); t.Managed && closed {
				closedBefore[key{t.Project, t.TemplateName}] = true
			}
		}
	}
	for i, snap := range obs.Snapshots {
		deleted := map[string]bool{}
		for _, tc := range plan.Regions[i].Templates {
			if tc.Op == OpDelete {
				deleted[tc.ID] = true
			}
		}
		for _, t := range snap.Templates {
			if !t.Managed || deleted[t.ID] {
				continue
			}
			c := templateClosure(plan, cfg, vcpus, t.Project, t.TemplateName)
			reason, closed := closedBy(t)
			open := !closed
			switch {
			case c.tag == "" && !hasLaunchTags(t):
				continue
			case c.tag == "":
				plan.Regions[i].TemplateTags = append(plan.Regions[i].TemplateTags, TagChange{ID: t.ID, Name: t.Name, Delete: []string{TagLaunch, TagLaunchReason}})
				if open {
					continue // not closed by launchwarden: nothing to announce
				}
			case closed && reason == c.tag:
				continue
			default:
				plan.Regions[i].TemplateTags = append(plan.Regions[i].TemplateTags, TagChange{ID: t.ID, Name: t.Name, Set: map[string]string{TagLaunch: LaunchClosed, TagLaunchReason: c.tag}})
				if !open {
					continue // closed already, for another reason: no news for the team
				}
			}
			announce(t.Project, t.TemplateName, c)
		}
		// Templates this run creates are created closed when they must be
		// (the tags go with CreateLaunchTemplate: see TemplateChange.LaunchClosed):
		// a template added to a project at quota is never open.
		for j := range plan.Regions[i].Templates {
			tc := &plan.Regions[i].Templates[j]
			if tc.Op != OpCreate {
				continue
			}
			c := templateClosure(plan, cfg, vcpus, tc.Project, tc.Template)
			if c.tag == "" {
				continue
			}
			tc.LaunchClosed = c.tag
			if !closedBefore[key{tc.Project, tc.Template}] {
				announce(tc.Project, tc.Template, c)
			}
		}
	}
}

// closedBy returns the reason template t is closed for, and whether it is
// closed by launchwarden: TagLaunch says closed and the signed reason verified.
func closedBy(t cloud.Template) (string, bool) {
	reason := t.Tags[TagLaunchReason]
	return reason, t.Tags[TagLaunch] == LaunchClosed && reason != ""
}

// hasLaunchTags reports whether t carries either launch tag, verified or not.
func hasLaunchTags(t cloud.Template) bool {
	_, launch := t.Tags[TagLaunch]
	_, reason := t.Tags[TagLaunchReason]
	return launch || reason || slices.Contains(t.Forged, TagLaunchReason)
}

// templateClosure decides whether a project's template is closed, and why.
func templateClosure(plan *RunPlan, cfg *projects.Config, vcpus map[string]int, project, template string) closure {
	if _, frozen := cfg.Frozen[project]; frozen {
		return closure{tag: "project file has problems", notice: "the project file has problems — fix it to launch again"}
	}
	p := cfg.Project(project)
	if p == nil {
		return closure{tag: "project left the config", notice: "the project left the config"}
	}
	t := p.Template(template)
	if t == nil {
		return closure{tag: "template left the config", notice: "the template left the config"}
	}
	lim := Limits(cfg.Admin, p)
	use := plan.Usage[project]
	if lim.MaxInstances > 0 && use.Instances+1 > lim.MaxInstances {
		return closure{
			tag:    fmt.Sprintf("max_instances %d reached", lim.MaxInstances),
			notice: fmt.Sprintf("%d/%d instances — stop or terminate one to launch again", use.Instances, lim.MaxInstances),
		}
	}
	// Every template's type is described in every region (LookupsFor), so
	// its size is known unless no region offers it; such a type counts as
	// 1 vCPU (the template is held back anyway, and a launch that overshoots
	// is handled by the next run).
	size, known := vcpus[t.InstanceType]
	need := max(size, 1)
	if lim.MaxVCPUs > 0 && use.VCPUs+need > lim.MaxVCPUs {
		c := closure{
			tag:    fmt.Sprintf("max_vcpus %d reached for %s", lim.MaxVCPUs, t.InstanceType),
			notice: fmt.Sprintf("%d/%d vCPUs — stop or terminate instances to launch again", use.VCPUs, lim.MaxVCPUs),
		}
		if known {
			c.notice = fmt.Sprintf("%d/%d vCPUs, and a %s needs %d — stop or terminate instances to launch again", use.VCPUs, lim.MaxVCPUs, t.InstanceType, need)
		}
		return c
	}
	return closure{}
}

func openNotice(u notify.Usage) string {
	return "usage allows launches again: " + notify.UsageLine(u)
}

// ClosedTemplates returns, by project, the reasons its templates are closed
// as the observation shows them (the launchwarden:launch-reason tags), for
// status.
func ClosedTemplates(obs *Observation) map[string][]string {
	out := map[string][]string{}
	for _, snap := range obs.Snapshots {
		for _, t := range snap.Templates {
			if reason, closed := closedBy(t); t.Managed && closed {
				r := t.TemplateName + ": " + reason
				if !slices.Contains(out[t.Project], r) {
					out[t.Project] = append(out[t.Project], r)
				}
			}
		}
	}
	for _, k := range slices.Collect(maps.Keys(out)) {
		slices.Sort(out[k])
	}
	return out
}
