package reconcile

import (
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/notify"
)

// TestOrphansAreToldToWhoOwnsThem checks invariant 6's addressing: the
// orphans of a removed [[templates]] entry are announced to their project's
// team (under the project's mode: stop-only stops), with the config change
// that caused it, and admins get one summary line; the orphans of a removed
// project go to the admins, who own the config, and are told they are
// terminated whatever the removed file said.
func TestOrphansAreToldToWhoOwnsThem(t *testing.T) {
	h := newHarness(t, threeProjects())
	h.seed("i-00000000000000007", "t3.large", 0, ours("packit", "builder-x86")) // packit has only fedora
	h.seed("i-00000000000000008", "t3.medium", 0, ours("cockpit", "old"))       // cockpit is stop-only
	h.seed("i-00000000000000009", "t3.large", 0, ours("retired", "box"))        // no such project

	h.sim.Advance(time.Hour)
	h.run()
	digests := h.slack.take()
	var got []string
	reasons := map[string]string{}
	for _, s := range instanceNotices(digests) {
		got = append(got, s.String())
		reasons[s.n.InstanceID] = s.n.Reason
	}
	want := []string{
		"+1h0m0s #cockpit orphan i-00000000000000008 stop @49h0m0s",
		"+1h0m0s #lw-admins orphan i-00000000000000009 terminate @49h0m0s",
		"+1h0m0s #packit orphan i-00000000000000007 terminate @49h0m0s",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("orphan notices (-want +got):\n%s", diff)
	}
	for id, want := range map[string]string{
		"i-00000000000000007": "template builder-x86 was removed from projects/packit.toml",
		"i-00000000000000008": "template old was removed from projects/cockpit.toml",
		"i-00000000000000009": "projects/retired.toml is gone; terminated after the orphan grace whatever its lifecycle said",
	} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("%s: reason %q does not say %q", id, reasons[id], want)
		}
	}

	// Admins: one line per removed template, naming the channel told.
	var summary []string
	for _, d := range digests {
		for _, n := range d.Notices {
			if d.Channel == adminChan && n.Kind == notify.KindOrphan && n.InstanceID == "" {
				summary = append(summary, n.Project+"/"+n.Template+": "+n.Reason)
			}
		}
	}
	wantSummary := []string{
		"cockpit/old: template removed from the config: 1 instance(s) announced to #cockpit (stop after the orphan grace)",
		"packit/builder-x86: template removed from the config: 1 instance(s) announced to #packit (terminate after the orphan grace)",
	}
	if diff := gocmp.Diff(wantSummary, summary); diff != "" {
		t.Errorf("admin summary (-want +got):\n%s", diff)
	}

	// After the grace: the stop-only project's orphan is stopped, the
	// others terminated.
	history := append(instanceNotices(digests), h.runHours(48)...)
	checkNoSurprises(t, history, 2*time.Hour)
	states := map[string]string{}
	for _, in := range h.sim.Instances(testAccount, testRegion) {
		states[in.ID] = in.State
	}
	for id, want := range map[string]string{"i-00000000000000007": "terminated", "i-00000000000000008": "stopped", "i-00000000000000009": "terminated"} {
		if got, ok := states[id]; ok && got != want && !(want == "terminated" && got == "shutting-down") && !(want == "stopped" && got == "stopping") {
			t.Errorf("%s is %s after the grace, want %s", id, got, want)
		}
	}
	if _, ok := states["i-00000000000000008"]; !ok {
		t.Error("the stop-only project's orphan is gone, want stopped")
	}
}
