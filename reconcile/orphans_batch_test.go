package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/notify"
)

// TestOrphanNoticesBatch: the 1,500 orphans of a removed template, born
// over 101 seconds, are announced by one notice value (one CreateTags per
// 1,000 ids: 2), whose deadline each run recomputes from the notice's time
// and the orphan grace; they are terminated at that deadline and not a
// second earlier. Orphans that carry a notice naming them (as earlier
// releases wrote every demand's) keep it: it is understood, not announced
// again, and they go at the deadline it gave.
func TestOrphanNoticesBatch(t *testing.T) {
	const orphans, old = 1500, 3
	files := threeProjects() // orphan_grace 2d, min_notice 2h
	files["launchwarden.toml"] = strings.NewReplacer(
		"max_instances = 10\n", "max_instances = 10000\n", "max_vcpus = 64\n", "max_vcpus = 100000\n",
		"max_destructive_per_run = 20\n", "max_destructive_per_run = 100000\n",
	).Replace(files["launchwarden.toml"])
	h := newHarness(t, files)
	launchTemplate := h.templateID("packit", "builder-x86") // packit has only fedora now
	var fleet []ec2sim.SeedInstance
	oldIDs := map[string]bool{}
	for i := range orphans + old {
		id := fmt.Sprintf("i-%017x", 0x1000+i)
		born := t0.Add(time.Duration(i*101/(orphans+old)) * time.Second)
		tags := map[string]string{"aws:ec2launchtemplate:id": launchTemplate, cloud.TagProject: "packit", cloud.TagTemplate: "builder-x86"}
		if i >= orphans {
			// Announced by an earlier release at t0+30m, terminating at t0+48h.
			oldIDs[id] = true
			tags[cloud.TagNotice] = testenv.State.Sign("", cloud.TagNotice,
				fmt.Sprintf("terminate@2026-11-23T08:30:00Z p=packit r=earlier i=%s d=2026-11-25T08:00:00Z", id))
		}
		fleet = append(fleet, ec2sim.SeedInstance{ID: id, ImageID: "ami-0123456789abcdef0", InstanceType: "t3.large", State: "running",
			LaunchTime: born, AttachTime: born, Tags: tags, Account: testAccount, Region: testRegion})
	}
	for _, in := range fleet {
		h.sim.Seed(in)
	}

	// The announcing run: one value for all 1,500, written 1,000 ids a call.
	h.sim.SetNow(t0.Add(time.Hour))
	h.sim.ResetCalls()
	plan, _ := h.run()
	history := instanceNotices(h.slack.take())
	// Templates are tagged too (closed to launches: packit is at its quota,
	// builder-x86 left the config), one CreateTags each.
	templateWrites := 0
	for _, rp := range plan.Regions {
		for _, tc := range append(rp.TemplateTags, rp.AfterAdmin...) {
			if len(tc.Set) > 0 {
				templateWrites++
			}
		}
	}
	if got := h.mutatingCalls(); got["CreateTags"]-templateWrites != 2 || len(got) != 1 {
		t.Errorf("announcing %d orphans: mutating calls %v with %d template writes, want 2 CreateTags on instances", orphans, got, templateWrites)
	}
	values := map[string]int{}
	for _, in := range fleet {
		values[h.stateTag(in.ID, cloud.TagNotice)]++
	}
	want := map[string]int{"terminate@2026-11-23T09:00:00Z p=packit r=test-run k=orphan:builder-x86": orphans}
	for id := range oldIDs {
		want[fmt.Sprintf("terminate@2026-11-23T08:30:00Z p=packit r=earlier i=%s d=2026-11-25T08:00:00Z", id)] = 1
	}
	if fmt.Sprint(values) != fmt.Sprint(want) {
		t.Errorf("notice values after the announcing run:\n got %v\nwant %v", values, want)
	}
	if len(history) != orphans {
		t.Errorf("%d instance notices delivered, want %d (the old-format ones are not announced again)", len(history), orphans)
	}

	// The notice of an earlier release holds until the deadline it gave.
	for _, step := range []struct {
		at               time.Time
		terminated, left int
	}{
		{t0.Add(48*time.Hour - time.Second), 0, orphans + old},
		{t0.Add(48 * time.Hour), old, orphans},
		{t0.Add(49*time.Hour - time.Second), 0, orphans},
		{t0.Add(49 * time.Hour), orphans, 0},
	} {
		h.sim.SetNow(step.at)
		h.sim.ResetCalls()
		_, rep := h.run()
		notices := instanceNotices(h.slack.take())
		history = append(history, notices...)
		if len(rep.Terminated) != step.terminated {
			t.Errorf("run at +%s: %d terminated, want %d", step.at.Sub(t0), len(rep.Terminated), step.terminated)
		}
		for _, id := range rep.Terminated {
			if oldIDs[id] != (step.terminated == old) {
				t.Errorf("run at +%s terminated %s (old format: %v)", step.at.Sub(t0), id, oldIDs[id])
			}
		}
		if got := h.mutatingCalls(); step.terminated > 0 && (got["TerminateInstances"] != (step.terminated+999)/1000 || got["CreateTags"] != 0) {
			t.Errorf("run at +%s: mutating calls %v", step.at.Sub(t0), got)
		}
		for _, n := range notices {
			if n.n.Kind != notify.KindTerminated {
				t.Errorf("run at +%s: unexpected notice %v", step.at.Sub(t0), n)
			}
		}
	}
	var fresh []sent
	for _, s := range history {
		if !oldIDs[s.n.InstanceID] {
			fresh = append(fresh, s)
		}
	}
	checkNoSurprises(t, fresh, 2*time.Hour)
}

// TestQuotaNoticesBatch: 1,300 instances of a project allowed 100 are
// over quota; the newest 1,200 are announced by one notice value recording
// the rank of the last one chosen (one CreateTags per 1,000 ids: 2), and
// terminated at its deadline, not a second earlier, while the 100 oldest
// are left alone.
func TestQuotaNoticesBatch(t *testing.T) {
	const fleetSize, allowed = 1300, 100
	files := threeProjects()
	files["launchwarden.toml"] = strings.NewReplacer(
		"max_instances = 10\n", "max_instances = 10000\n", "max_vcpus = 64\n", "max_vcpus = 100000\n",
		"max_destructive_per_run = 20\n", "max_destructive_per_run = 100000\n",
	).Replace(files["launchwarden.toml"])
	files["projects/packit.toml"] += fmt.Sprintf("\n[limits]\nmax_instances = %d\nmax_vcpus = 100000\n", allowed)
	h := newHarness(t, files)
	launchTemplate := h.templateID("packit", "fedora")
	for i := range fleetSize {
		born := t0.Add(time.Duration(i*101/fleetSize) * time.Second)
		h.sim.Seed(ec2sim.SeedInstance{ID: fmt.Sprintf("i-%017x", 0x1000+i), ImageID: "ami-0123456789abcdef0", InstanceType: "t3.large", State: "running",
			LaunchTime: born, AttachTime: born, Account: testAccount, Region: testRegion,
			Tags: map[string]string{"aws:ec2launchtemplate:id": launchTemplate, cloud.TagProject: "packit", cloud.TagTemplate: "fedora"}})
	}

	h.sim.SetNow(t0.Add(time.Hour))
	h.sim.ResetCalls()
	plan, _ := h.run()
	history := instanceNotices(h.slack.take())
	templateWrites := 0
	for _, rp := range plan.Regions {
		for _, tc := range append(rp.TemplateTags, rp.AfterAdmin...) {
			if len(tc.Set) > 0 {
				templateWrites++
			}
		}
	}
	if got := h.mutatingCalls(); got["CreateTags"]-templateWrites != 2 || len(got) != 1 {
		t.Errorf("announcing %d over quota: mutating calls %v with %d template writes, want 2 CreateTags on instances", fleetSize-allowed, got, templateWrites)
	}
	values := map[string]int{}
	for i := range fleetSize {
		v := h.stateTag(fmt.Sprintf("i-%017x", 0x1000+i), cloud.TagNotice)
		values[strings.Split(v, " c=")[0]]++
	}
	if want := map[string]int{"": allowed, "terminate@2026-11-23T09:00:00Z p=packit r=test-run k=over-count": fleetSize - allowed}; fmt.Sprint(values) != fmt.Sprint(want) {
		t.Errorf("notice values (cutoff left out):\n got %v\nwant %v", values, want)
	}

	for _, step := range []struct {
		at         time.Time
		terminated int
	}{
		{t0.Add(3*time.Hour - time.Second), 0},
		{t0.Add(3 * time.Hour), fleetSize - allowed},
	} {
		h.sim.SetNow(step.at)
		h.sim.ResetCalls()
		_, rep := h.run()
		history = append(history, instanceNotices(h.slack.take())...)
		if len(rep.Terminated) != step.terminated {
			t.Errorf("run at +%s: %d terminated, want %d", step.at.Sub(t0), len(rep.Terminated), step.terminated)
		}
		if got := h.mutatingCalls(); got["CreateTags"] != 0 {
			t.Errorf("run at +%s: mutating calls %v, want no notice written again", step.at.Sub(t0), got)
		}
	}
	// The oldest are left: none left is younger than one terminated.
	var left int
	var youngestLeft, oldestGone time.Time
	for _, in := range h.sim.Instances(testAccount, testRegion) {
		switch born := in.LaunchTime; in.State {
		case "running":
			left++
			if born.After(youngestLeft) {
				youngestLeft = born
			}
		default:
			if oldestGone.IsZero() || born.Before(oldestGone) {
				oldestGone = born
			}
		}
	}
	if left != allowed || youngestLeft.After(oldestGone) {
		t.Errorf("%d left running (want %d), the youngest born %v, the oldest terminated born %v", left, allowed, youngestLeft, oldestGone)
	}
	checkNoSurprises(t, history, 2*time.Hour)
}
