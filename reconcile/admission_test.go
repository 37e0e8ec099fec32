package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
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

// createdClosed returns the templates a plan creates closed, by region and
// name, with the reason they are created with.
func createdClosed(plan *RunPlan) map[string]string {
	out := map[string]string{}
	for _, rp := range plan.Regions {
		for _, tc := range rp.Templates {
			if tc.Op == OpCreate && tc.LaunchClosed != "" {
				out[rp.Region+" "+tc.Name] = tc.LaunchClosed
			}
		}
	}
	return out
}

// applyLaunchTags carries a plan's launch tags and template creations over
// to the observation, as the next run would observe them.
func applyLaunchTags(plan *RunPlan, obs *Observation) {
	for i, rp := range plan.Regions {
		snap := obs.Snapshots[i]
		for _, tc := range rp.TemplateTags {
			for j := range snap.Templates {
				if lt := &snap.Templates[j]; lt.ID == tc.ID {
					maps.Copy(lt.Tags, tc.Set)
				}
			}
		}
		for j, tc := range rp.Templates {
			if tc.Op != OpCreate {
				continue
			}
			tags := map[string]string{cloud.TagManaged: "true", cloud.TagProject: tc.Project, cloud.TagTemplate: tc.Template}
			if tc.LaunchClosed != "" {
				tags[TagLaunch], tags[TagLaunchReason] = LaunchClosed, tc.LaunchClosed
			}
			snap.Templates = append(snap.Templates, cloud.Template{
				ID: fmt.Sprintf("lt-new%d%s", j, rp.Region), Name: tc.Name, Tags: tags, Managed: true,
				Project: tc.Project, TemplateName: tc.Template, Account: rp.Account, Region: rp.Region,
			})
		}
	}
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
	// packit's new centos template is created closed in both regions.
	want = map[string]string{
		testRegion + " lw-packit-centos": "max_instances 2 reached",
		"eu-central-1 lw-packit-centos":  "max_instances 2 reached",
	}
	if diff := cmp.Diff(want, createdClosed(plan)); diff != "" {
		t.Errorf("templates created closed (-want +got):\n%s", diff)
	}
	// One notice per template, whatever the number of regions; projects
	// without a channel (gone, broken) have the plan and the admin digest.
	closed := "3/2 instances — stop or terminate one to launch again"
	if diff := cmp.Diff([]string{"launches-closed packit/fedora: " + closed, "launches-closed packit/centos: " + closed}, launchNotices(plan)); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}

	// Applied: the next plan writes nothing and says nothing.
	applyLaunchTags(plan, obs)
	plan = Plan(cfg, obs, t0, "steady")
	if got := launchTags(plan); len(got) > 0 {
		t.Errorf("steady state changes launch tags: %v", got)
	}
	if got := createdClosed(plan); len(got) > 0 {
		t.Errorf("steady state creates templates: %v", got)
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
	want = map[string]string{
		testRegion + " lw-packit-fedora": "open", "eu-central-1 lw-packit-fedora": "open",
		testRegion + " lw-packit-centos": "open", "eu-central-1 lw-packit-centos": "open",
	}
	if diff := cmp.Diff(want, launchTags(plan)); diff != "" {
		t.Errorf("launch tags below quota (-want +got):\n%s", diff)
	}
	opened := "usage allows launches again: " + notify.UsageLine(plan.Usage["packit"])
	if diff := cmp.Diff([]string{"launches-opened packit/fedora: " + opened, "launches-opened packit/centos: " + opened}, launchNotices(plan)); diff != "" {
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

// A template the run creates is created closed by the rule that closes an
// existing one, and its closing is news only where the team was not told
// already.
func TestAdmissionCreatesTemplatesClosed(t *testing.T) {
	cfg := goldenConfig(t)
	obs := goldenObservation(t, cfg)
	twoRegions(obs)

	plan := Plan(cfg, obs, t0, "create")
	// cockpit is under its quota: its new template is created open.
	for _, rp := range plan.Regions {
		for _, tc := range rp.Templates {
			if tc.Op == OpCreate && tc.Project == "cockpit" && tc.LaunchClosed != "" {
				t.Errorf("%s in %s created closed under quota: %s", tc.Name, rp.Region, tc.LaunchClosed)
			}
		}
	}
	for _, n := range launchNotices(plan) {
		if strings.Contains(n, "cockpit") {
			t.Errorf("an open creation is announced: %s", n)
		}
	}

	// Applied, then lw-packit-centos is deleted by hand in eu-central-1:
	// the run creates it again, closed, and tells nobody: launches from it
	// were refused and still are.
	applyLaunchTags(plan, obs)
	eu := obs.Snapshots[1]
	eu.Templates = slices.DeleteFunc(eu.Templates, func(lt cloud.Template) bool { return lt.Name == "lw-packit-centos" })
	plan = Plan(cfg, obs, t0, "recreate")
	if diff := cmp.Diff(map[string]string{"eu-central-1 lw-packit-centos": "max_instances 2 reached"}, createdClosed(plan)); diff != "" {
		t.Errorf("templates created closed (-want +got):\n%s", diff)
	}
	if got := launchNotices(plan); len(got) > 0 {
		t.Errorf("recreating a closed template is announced: %v", got)
	}

	// A closing someone else tagged (its reason does not verify) is no
	// closing by launchwarden: the creation is news.
	us := obs.Snapshots[0]
	for j := range us.Templates {
		if lt := &us.Templates[j]; lt.Name == "lw-packit-centos" {
			delete(lt.Tags, TagLaunchReason)
			lt.Forged = []string{TagLaunchReason}
		}
	}
	plan = Plan(cfg, obs, t0, "forged")
	want := []string{"launches-closed packit/centos: 3/2 instances — stop or terminate one to launch again"}
	if diff := cmp.Diff(want, launchNotices(plan)); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
}
