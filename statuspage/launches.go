package statuspage

import (
	"github.com/launchwarden/launchwarden/reconcile"
)

// templateLaunch is a template's name with whether the launch guard lets
// it launch.
type templateLaunch struct {
	Name   string
	Closed bool
	// Missing is set when the template exists in no region yet.
	Missing bool
	// Reason says why it is closed (launchwarden:launch-reason).
	Reason string
}

// launchKey is a project's template.
type launchKey struct{ project, template string }

// launchesClosed returns, for each project's template that exists in some
// region, why it is closed after the run, "" for open: the
// launchwarden:launch tags as observed, changed as the run's plan changes
// them when the run applied its plan (Report set); a template the run
// created exists with the launch tags it was created with. A template
// closed in one region counts as closed.
func launchesClosed(r *Run) map[launchKey]string {
	out := map[launchKey]string{}
	note := func(k launchKey, closed bool, reason string) {
		if _, seen := out[k]; !seen || closed {
			out[k] = ""
			if closed {
				out[k] = reason
			}
		}
	}
	for _, snap := range r.Observation.Snapshots {
		changes := map[string][]reconcile.TagChange{}
		if r.Report != nil {
			for _, rp := range r.Plan.Regions {
				if rp.Account == snap.Account && rp.Region == snap.Region {
					for _, tc := range rp.TemplateTags {
						changes[tc.ID] = append(changes[tc.ID], tc)
					}
					for _, tc := range rp.Templates {
						if tc.Op == reconcile.OpCreate {
							note(launchKey{tc.Project, tc.Template}, tc.LaunchClosed != "", tc.LaunchClosed)
						}
					}
				}
			}
		}
		for _, t := range snap.Templates {
			if !t.Managed {
				continue
			}
			// Closed by launchwarden: its reason is signed (cloud verified
			// it), as reconcile's admission counts it.
			reason := t.Tags[reconcile.TagLaunchReason]
			closed := t.Tags[reconcile.TagLaunch] == reconcile.LaunchClosed && reason != ""
			for _, tc := range changes[t.ID] {
				if v, set := tc.Set[reconcile.TagLaunch]; set {
					closed, reason = v == reconcile.LaunchClosed, tc.Set[reconcile.TagLaunchReason]
				}
				for _, k := range tc.Delete {
					if k == reconcile.TagLaunch {
						closed, reason = false, ""
					}
				}
			}
			note(launchKey{t.Project, t.TemplateName}, closed, reason)
		}
	}
	return out
}

// templateLaunches lists a project's config templates with their launch
// state.
func templateLaunches(closed map[launchKey]string, project string, names []string) []templateLaunch {
	var out []templateLaunch
	for _, n := range names {
		reason, exists := closed[launchKey{project, n}]
		out = append(out, templateLaunch{Name: n, Closed: reason != "", Reason: reason, Missing: !exists})
	}
	return out
}
