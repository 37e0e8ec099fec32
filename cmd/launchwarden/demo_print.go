package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// How the demo prints each run and the final state of the story.

// messageLines is a message's text without blank lines and without its
// last line, which names the run: the step's heading says when it was.
func messageLines(text string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if n := len(out); n > 1 && strings.HasPrefix(out[n-1], "run ") {
		out = out[:n-1]
	}
	return out
}

// planActions says in a line per region what the plan changes in EC2
// besides stopping and terminating.
func planActions(plan *reconcile.RunPlan) []string {
	var out []string
	for _, rp := range plan.Regions {
		type opKind struct{ op, kind string }
		byOp := map[opKind][]string{}
		for _, g := range rp.Groups {
			k := opKind{g.Op, "security group"}
			byOp[k] = append(byOp[k], g.Name)
		}
		for _, t := range rp.Templates {
			k := opKind{t.Op, "launch template"}
			byOp[k] = append(byOp[k], t.Name)
		}
		for _, ic := range rp.Instances {
			if ic.ExpiresAt != "" {
				out = append(out, fmt.Sprintf("%s: %s gets %s=%s from [[extensions]]", rp.Region, ic.ID, cloud.TagExpiresAt, ic.ExpiresAt))
			}
			// A stop's notice, used up, is cleared too: bookkeeping not worth a line.
			if ic.ClearNotice && !ic.Destructive() && ic.State == ec2sim.StateRunning {
				out = append(out, fmt.Sprintf("%s: %s: its notice is withdrawn (%s)", rp.Region, ic.ID, ic.Reason))
			}
		}
		keys := slices.SortedFunc(maps.Keys(byOp), func(a, b opKind) int {
			return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.op, b.op))
		})
		for _, k := range keys {
			names := byOp[k]
			slices.Sort(names)
			out = append(out, fmt.Sprintf("%s: %s %s: %s", rp.Region, k.op, plural(len(names), k.kind), strings.Join(names, ", ")))
		}
	}
	return out
}

// orderMessages puts a run's messages in the order of its deliveries (the
// server receives them concurrently).
func orderMessages(rep *reconcile.Report, msgs []slackMessage) []slackMessage {
	rank := map[string]int{}
	for i, r := range rep.Deliveries {
		rank[r.Digest.Channel] = i
	}
	out := slices.Clone(msgs)
	slices.SortStableFunc(out, func(a, b slackMessage) int { return cmp.Compare(rank[a.Channel], rank[b.Channel]) })
	return out
}

func (d *demoWorld) print(lines []string) {
	for _, l := range lines {
		fmt.Fprintln(d.out, strings.TrimRight(l, " "))
	}
}

// indentLines prefixes the first line with first and the others with as
// many spaces.
func indentLines(first string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = first + l
		if i == 0 {
			first = strings.Repeat(" ", len([]rune(first)))
		}
	}
	return out
}

// sinceStart formats the time from demoStart to t: "+1d 6h", "+20h 30m".
func sinceStart(t time.Time) string {
	d := t.Sub(demoStart)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	days, hours, mins := int(d/demoDay), int(d%demoDay/time.Hour), int(d%time.Hour/time.Minute)
	s := fmt.Sprintf("%s%dh", sign, hours)
	switch {
	case days > 0 && hours > 0:
		s = fmt.Sprintf("%s%dd %dh", sign, days, hours)
	case days > 0:
		s = fmt.Sprintf("%s%dd", sign, days)
	}
	if mins > 0 {
		s += fmt.Sprintf(" %dm", mins)
	}
	return s
}

// finish collects the final state and prints the summary.
func (d *demoWorld) finish(cfg *projects.Config) {
	end := d.sim.Now()
	d.sim.Advance(time.Minute) // let the last stops and terminations settle
	d.res.Instances = map[string]ec2sim.Instance{}
	d.res.Templates = map[string][]string{}
	type row struct {
		ec2sim.Instance
		region string
	}
	var all []row
	for _, region := range []string{demoEast, demoEurope} {
		for _, in := range d.sim.Instances(demoAccount, region) {
			all = append(all, row{in, region})
			d.res.Instances[in.ID] = in
		}
		for _, lt := range d.sim.LaunchTemplates(demoAccount, region) {
			d.res.Templates[region] = append(d.res.Templates[region], lt.Name)
		}
		slices.Sort(d.res.Templates[region])
	}
	d.res.Calls = d.sim.CallCounts()
	for _, n := range d.res.notices() {
		if n.Kind == notify.KindOverQuota && !strings.Contains(d.notes[n.InstanceID], "quota") {
			d.notes[n.InstanceID] += "; over the vCPU quota, so stopped first"
		}
	}
	slices.SortFunc(all, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.Tags[cloud.TagProject], b.Tags[cloud.TagProject]), cmp.Compare(a.ID, b.ID))
	})

	fmt.Fprintf(d.out, "\n══ The fleet at %s (%s) ══\n\n", end.Format("Mon 02 Jan 15:04 MST"), sinceStart(end))
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tREGION\tPROJECT\tTYPE\tSTATE\tSTORY")
	for _, in := range all {
		project := cmp.Or(in.Tags[cloud.TagProject], "-")
		if in.Tags[cloud.TagProject] != "" && cfg.Project(project) == nil {
			project += " (gone)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.region, project, in.InstanceType, in.State, d.notes[in.ID])
	}
	tw.Flush()

	fmt.Fprintf(d.out, "\nLaunch templates: %s\n", strings.Join(d.res.Templates[demoEast], ", "))
	fmt.Fprintf(d.out, "  %d in %s, %d in %s\n", len(d.res.Templates[demoEast]), demoEast, len(d.res.Templates[demoEurope]), demoEurope)

	byChannel := map[string]int{}
	for _, m := range d.res.Messages {
		byChannel[m.Channel+" ("+m.Via+")"]++
	}
	fmt.Fprintf(d.out, "Slack messages: %d\n", len(d.res.Messages))
	fmt.Fprintln(d.out, "  "+countList(byChannel))

	describe, other, calls := map[string]int{}, map[string]int{}, 0
	for action, n := range d.res.Calls {
		calls += n
		if strings.HasPrefix(action, "Describe") {
			describe[action] = n
		} else {
			other[action] = n
		}
	}
	fmt.Fprintf(d.out, "EC2 and STS calls: %d\n", calls)
	fmt.Fprintf(d.out, "  %s\n  %s\n", countList(describe), countList(other))
}

// countList formats counts as "a 3, b 1", by key.
func countList(counts map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
