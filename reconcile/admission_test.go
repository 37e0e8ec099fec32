package reconcile

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/iamguard"
	"github.com/launchwarden/launchwarden/notify"
)

// launchTags returns the launch tag changes of a plan, by template ID.
func launchTags(plan *RunPlan) map[string]string {
	out := map[string]string{}
	for _, rp := range plan.Regions {
		for _, tc := range rp.TemplateTags {
			switch {
			case tc.Set[TagLaunch] != "":
				out[rp.Region+" "+tc.Name] = "close: " + tc.Set[TagLaunchReason]
			case len(tc.Delete) > 0 && tc.Delete[0] == TagLaunch:
				out[rp.Region+" "+tc.Name] = "open"
			}
		}
	}
	return out
}

func launchNotices(plan *RunPlan) []string {
	var out []string
	for _, n := range plan.Notices {
		if n.Kind == notify.KindLaunchesClosed || n.Kind == notify.KindLaunchesOpened {
			out = append(out, string(n.Kind)+" "+n.Project+"/"+n.Template+": "+n.Reason)
		}
	}
	return out
}

// twoRegions copies the golden region into a second one.
func twoRegions(obs *Observation) {
	other := *obs.Snapshots[0]
	other.Region = "eu-central-1"
	other.Templates = nil
	for _, t := range obs.Snapshots[0].Templates {
		t.Tags = maps.Clone(t.Tags)
		other.Templates = append(other.Templates, t)
	}
	other.Instances = nil // usage counts every region: the first holds it all
	obs.Snapshots = append(obs.Snapshots, &other)
}

func TestAdmissionClosesOnceAndReopens(t *testing.T) {
	cfg := goldenConfig(t)
	obs := goldenObservation(t, cfg)
	twoRegions(obs)

	plan := Plan(cfg, obs, t0, "close")
	want := map[string]string{
		testRegion + " lw-packit-fedora": "close: max_instances 2 reached",
		testRegion + " lw-gone-box":      "close: project left the config",
		testRegion + " lw-broken-x":      "close: project file has problems",
		"eu-central-1 lw-packit-fedora":  "close: max_instances 2 reached",
		"eu-central-1 lw-broken-x":       "close: project file has problems",
		// lw-gone-box launched nothing in eu-central-1: deleted there, not tagged.
	}
	if diff := cmp.Diff(want, launchTags(plan)); diff != "" {
		t.Errorf("launch tags (-want +got):\n%s", diff)
	}
	// One notice per template, whatever the number of regions; projects
	// without a channel (gone, broken) have the plan and the admin digest.
	if diff := cmp.Diff([]string{"launches-closed packit/fedora: 3/2 instances — stop or terminate one to launch again"}, launchNotices(plan)); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}

	// Applied: the next plan writes nothing and says nothing.
	for i, rp := range plan.Regions {
		for _, tc := range rp.TemplateTags {
			for j := range obs.Snapshots[i].Templates {
				if lt := &obs.Snapshots[i].Templates[j]; lt.ID == tc.ID {
					maps.Copy(lt.Tags, tc.Set)
				}
			}
		}
	}
	plan = Plan(cfg, obs, t0, "steady")
	if got := launchTags(plan); len(got) > 0 {
		t.Errorf("steady state changes launch tags: %v", got)
	}
	if got := launchNotices(plan); len(got) > 0 {
		t.Errorf("steady state notices: %v", got)
	}

	// Below quota, packit's template opens in both regions.
	var kept []cloud.Instance
	for _, in := range obs.Snapshots[0].Instances {
		if in.Project != "packit" || in.ID == "i-0000000000000000a" {
			kept = append(kept, in)
		}
	}
	obs.Snapshots[0].Instances = kept
	plan = Plan(cfg, obs, t0, "open")
	want = map[string]string{testRegion + " lw-packit-fedora": "open", "eu-central-1 lw-packit-fedora": "open"}
	if diff := cmp.Diff(want, launchTags(plan)); diff != "" {
		t.Errorf("launch tags below quota (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"launches-opened packit/fedora: usage allows launches again: " + notify.UsageLine(plan.Usage["packit"])}, launchNotices(plan)); diff != "" {
		t.Errorf("notices below quota (-want +got):\n%s", diff)
	}
}

// A template the run deletes is not tagged after it is gone.
func TestAdmissionSkipsDeletedTemplates(t *testing.T) {
	cfg := goldenConfig(t)
	obs := goldenObservation(t, cfg)
	var kept []cloud.Instance
	for _, in := range obs.Snapshots[0].Instances {
		if in.Project != "gone" {
			kept = append(kept, in)
		}
	}
	obs.Snapshots[0].Instances = kept
	plan := Plan(cfg, obs, t0, "delete")
	if got := launchTags(plan)[testRegion+" lw-gone-box"]; got != "" {
		t.Errorf("a template deleted by the run is also tagged: %s", got)
	}
}

// TestLaunchTagIsTheGuards: the plain tag the launch guard denies on is the
// one cloud leaves unsigned.
func TestLaunchTagIsTheGuards(t *testing.T) {
	if cloud.TagLaunch != iamguard.TagLaunch || cloud.TagManaged != iamguard.TagManaged || cloud.IsMarker(iamguard.TagLaunch) {
		t.Errorf("cloud %q/%q, guard %q/%q", cloud.TagLaunch, cloud.TagManaged, iamguard.TagLaunch, iamguard.TagManaged)
	}
}
