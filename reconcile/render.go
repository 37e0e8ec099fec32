package reconcile

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/reconcile/userdata"
)

// Counts summarises a plan.
type Counts struct {
	GroupChanges, TemplateChanges, Notices, Stops, Terminations, Held int
}

// Counts returns the plan's summary numbers.
func (p *RunPlan) Counts() Counts {
	c := Counts{Notices: len(p.Notices), Held: len(p.Held)}
	for _, rp := range p.Regions {
		c.GroupChanges += len(rp.Groups)
		c.TemplateChanges += len(rp.Templates)
		for _, ic := range rp.Instances {
			switch ic.Action {
			case lifecycle.ActionStop:
				c.Stops++
			case lifecycle.ActionTerminate:
				c.Terminations++
			}
		}
	}
	return c
}

// Summary is one line that says what the plan does.
func (p *RunPlan) Summary() string {
	c := p.Counts()
	s := strings.Join([]string{
		count(c.GroupChanges, "security group change"), count(c.TemplateChanges, "template change"),
		count(c.Notices, "notice"), count(c.Stops, "stop"), count(c.Terminations, "termination"),
	}, ", ")
	if c.Held > 0 {
		s += fmt.Sprintf(", %d held back by the safety cap", c.Held)
	}
	if !p.Enforce {
		s += " (safety.enforce = false: plan only)"
	}
	return s
}

// WriteJSON writes the plan as indented JSON.
func (p *RunPlan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteText writes the plan for a terminal.
func (p *RunPlan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s at %s\n", p.RunID, p.Now.Format(time.RFC3339))
	p.writeBody(&b, "", func(s string) string { return s })
	fmt.Fprintf(&b, "\n%s\n", p.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the plan for a pull-request comment.
func (p *RunPlan) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### launchwarden plan\n\n**%s**\n\n", p.Summary())
	p.writeBody(&b, "#### ", func(s string) string { return "`" + s + "`" })
	fmt.Fprintf(&b, "\n<sub>run %s at %s</sub>\n", p.RunID, p.Now.Format(time.RFC3339))
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *RunPlan) writeBody(b *strings.Builder, heading string, code func(string) string) {
	for _, rp := range p.Regions {
		if rp.Empty() {
			continue
		}
		fmt.Fprintf(b, "\n%s%s/%s\n", heading, rp.Account, rp.Region)
		for _, g := range rp.Groups {
			fmt.Fprintf(b, "  - security group %s: %s%s\n", code(g.Name), g.Op, rulesText(g.Rules))
		}
		for _, t := range rp.Templates {
			closed := ""
			if t.LaunchClosed != "" {
				closed = "; created closed to launches: " + t.LaunchClosed
			}
			fmt.Fprintf(b, "  - launch template %s: %s (%s)%s%s\n", code(t.Name), t.Op, t.Reason, dataText(t), closed)
		}
		tagLine := func(tc TagChange, when string) {
			var what []string
			for _, k := range sortedKeys(tc.Set) {
				what = append(what, "tag "+k+"="+tc.Set[k])
			}
			for _, k := range tc.Delete {
				what = append(what, "untag "+k)
			}
			kind := "launch template"
			if tc.Group {
				kind = "security group"
			}
			fmt.Fprintf(b, "  - %s %s (%s): %s%s\n", kind, code(cmp.Or(tc.Name, tc.ID)), tc.ID, strings.Join(what, ", "), when)
		}
		for _, tc := range rp.TemplateTags {
			tagLine(tc, "")
		}
		for _, tc := range rp.AfterAdmin {
			tagLine(tc, " once the admin digest is delivered")
		}
		for _, ic := range rp.Instances {
			fmt.Fprintf(b, "  - instance %s (%s, %s): %s\n", code(ic.ID), ic.Project, ic.Type, instanceText(ic))
		}
	}
	if len(p.Held) > 0 {
		fmt.Fprintf(b, "\n%sheld back by safety.max_destructive_per_run = %d\n", heading, p.MaxDestructive)
		for _, ic := range p.Held {
			fmt.Fprintf(b, "  - instance %s (%s): %s, due %s (%s)\n", code(ic.ID), ic.Project, ic.Stage, ic.Deadline.Format(time.RFC3339), ic.Reason)
		}
	}
	if len(p.HeldTemplates) > 0 {
		fmt.Fprintf(b, "\n%stemplates not written (left as they are in that region)\n", heading)
		for _, h := range p.HeldTemplates {
			for _, problem := range h.Problems {
				fmt.Fprintf(b, "  - %s in %s/%s: %s\n", code(Name(h.Project, h.Template)), h.Account, h.Region, problem)
			}
		}
	}
	if len(p.Frozen) > 0 {
		fmt.Fprintf(b, "\n%sfrozen projects (invalid config: no changes, nothing stopped or terminated)\n", heading)
		for _, name := range p.Frozen {
			fmt.Fprintf(b, "  - %s\n", name)
		}
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintf(b, "\n%swarnings\n", heading)
		for _, w := range p.Warnings {
			fmt.Fprintf(b, "  - %s\n", w)
		}
	}
	if len(p.Usage) > 0 {
		fmt.Fprintf(b, "\n%squota usage\n", heading)
		for _, name := range sortedKeys(p.Usage) {
			fmt.Fprintf(b, "  - %s: %s\n", name, notify.UsageLine(p.Usage[name]))
		}
	}
}

// count says "1 stop", "2 stops".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func rulesText(rules []cloud.Rule) string {
	if len(rules) == 0 {
		return ""
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = fmt.Sprintf("%s/%d from %s", r.Protocol, r.FromPort, r.CIDR)
	}
	return " " + strings.Join(parts, ", ")
}

// dataText says what a template launches: image by name and id, type, root
// volume (the image's size when volume_gib is left out) on the image's root
// device, subnet and public IP, keys.
func dataText(t TemplateChange) string {
	d := t.Data
	if d == nil {
		return ""
	}
	image := d.ImageID
	if id, name, ok := strings.Cut(t.Image, " "); ok && id == d.ImageID {
		image = fmt.Sprintf("%s (%s)", name, id)
	}
	size := fmt.Sprintf("%d GiB", d.VolumeGiB)
	if d.VolumeGiB == 0 {
		size = "the image's size"
		if t.ImageGiB > 0 {
			size = fmt.Sprintf("the image's %d GiB", t.ImageGiB)
		}
	}
	where := "default VPC"
	switch {
	case d.SubnetID != "":
		where = d.SubnetID
	case d.AvailabilityZone != "":
		where = "default VPC in " + d.AvailabilityZone
	}
	switch {
	case d.PublicIP == nil:
	case *d.PublicIP:
		where += " with a public IP"
	default:
		where += " without a public IP"
	}
	keys := len(userdata.KeysFromUserData(d.UserData))
	return fmt.Sprintf(": %s, %s, root %s (%s %s encrypted), %s, IMDSv2, %s", image, d.InstanceType, cmp.Or(d.RootDevice, "?"), size, d.VolumeType, where, count(keys, "SSH key"))
}

func instanceText(ic InstanceChange) string {
	var parts []string
	switch ic.Action {
	case lifecycle.ActionNotify:
		parts = append(parts, fmt.Sprintf("notify %s: %s at %s (%s)", ic.Channel, ic.Stage, ic.Deadline.Format(time.RFC3339), ic.Reason))
	case lifecycle.ActionStop, lifecycle.ActionTerminate:
		parts = append(parts, fmt.Sprintf("%s now (%s)", ic.Action, ic.Reason))
		if ic.Then != "" {
			parts = append(parts, "then terminate at "+ic.ThenDeadline.Format(time.RFC3339)+", announced with the stop")
		}
	}
	if ic.Held {
		parts = append(parts, fmt.Sprintf("%s due %s held back by safety.max_destructive_per_run: a later run does it (%s)",
			ic.Stage, ic.Deadline.Format(time.RFC3339), ic.Reason))
	}
	if ic.ExpiresAt != "" {
		parts = append(parts, "set expires-at "+ic.ExpiresAt)
	}
	if ic.ClearNotice {
		parts = append(parts, "clear obsolete notice")
	}
	if ic.Label {
		parts = append(parts, "label "+ic.Project+"/"+ic.Template)
	}
	if len(ic.Forged) > 0 {
		parts = append(parts, "remove unsigned "+strings.Join(ic.Forged, ", "))
	}
	return strings.Join(parts, "; ")
}
