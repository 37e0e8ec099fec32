package notify

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/projects"
)

// textItems is how many items a section shows in RenderText before it
// says "… and N more".
const textItems = 10

// Section is the part of a digest about one kind, in a form every renderer
// (plain text, Slack Block Kit) can lay out. Items are complete; renderers
// decide how many fit.
type Section struct {
	Kind  Kind
	Title string // e.g. "Expiring soon"
	// Note explains the section once, e.g. what a frozen project means.
	Note  string
	Items []Item
	// Snippet is TOML to paste, for expiring instances: how to extend.
	Snippet string
}

// Item is one line of a section: Subject (an instance, template or
// project), About (what it is: template, type, where), What (what happens
// when, and why) and Detail, free and possibly multi-line text shown below
// the line. Renderers style each part their own way; String is the plain
// form.
type Item struct {
	Subject string
	About   string
	What    string
	Detail  string
	// Link, if set, is the status page of the subject's project.
	Link string
	// Extend, if set, is the value of the item's Extend button (an
	// ExtendRequest), and ExtendLabel its text: "Extend 1d".
	Extend, ExtendLabel string
}

// String is the item's line without its Detail, e.g.
// "i-0abc (fedora-large, m5.xlarge): stop at 2026-11-25 11:00 UTC (in 5h) — TTL 3d reached".
func (it Item) String() string {
	line := it.Subject
	if it.About != "" {
		line = strings.TrimSpace(line + " (" + it.About + ")")
	}
	if it.What != "" {
		if line != "" {
			line += ": "
		}
		line += it.What
	}
	return line
}

// sectionInfo is how each kind is titled, counted in the headline and
// explained.
var sectionInfo = map[Kind]struct {
	title, one, many, note string
}{
	KindFrozen:          {"Project frozen by config errors", "project frozen", "%d projects frozen", "Nothing in a frozen project is stopped or terminated until its file validates again."},
	KindSafety:          {"Safety cap held actions back", "1 safety alert", "%d safety alerts", "The run acted on none of the excess. Review it, then raise the cap if the actions are intended."},
	KindUndelivered:     {"Digests not delivered", "1 digest undelivered", "%d digests undelivered", "Instances of these teams are not stopped or terminated until their digest gets through."},
	KindActionFailed:    {"Actions failed", "1 action failed", "%d actions failed", ""},
	KindUntrusted:       {"Tags launchwarden did not write", "1 untrusted tag", "%d untrusted tags", "Ignored: launchwarden acts only on instances its templates launched or an admin adopted, and on state it signed. Forged state tags on our instances are removed after this message."},
	KindExtended:        {"Extended from Slack", "1 extended from Slack", "%d extended from Slack", "With a digest's Extend button, within the caps."},
	KindExpiring:        {"Expiring soon", "1 instance expires soon", "%d instances expire soon", ""},
	KindOverQuota:       {"Over quota", "1 over quota", "%d over quota", ""},
	KindDisallowedType:  {"Disallowed instance types", "1 disallowed type", "%d disallowed types", ""},
	KindStopped:         {"Stopping now", "1 stopping now", "%d stopping now", "Announced earlier; this run stops them right after this message. One started again gets a fresh warning."},
	KindTerminated:      {"Terminating now", "1 terminating now", "%d terminating now", "Announced earlier; this run terminates them right after this message."},
	KindOrphan:          {"Orphans", "1 orphan", "%d orphans", "Their template or project was removed from the config. A removed template's instances are terminated after the orphan grace (stopped, in a stop-only project); a removed project's are terminated after it whatever its file said, since the file is gone. Putting the entry back keeps them."},
	KindLaunchesClosed:  {"Launches closed", "launches closed", "launches closed for %d templates", "Launches from these templates are refused until usage allows; the first run after that opens them again."},
	KindLaunchesOpened:  {"Launches open again", "launches open again", "launches open again for %d templates", ""},
	KindTemplateChanged: {"Templates changed", "1 template changed", "%d templates changed", ""},
	KindTemplateHeld:    {"Templates not written", "1 template not written", "%d templates not written", "Launches keep using what the template was; until the problem is fixed it is not created or changed in that region. Other regions go on."},
	KindKeysKept:        {"SSH keys not refreshed", "1 template kept old keys", "%d templates kept old keys", "The template keeps its previous keys until the key source answers again."},
}

// Headline is the digest's one-line summary, e.g.
// "launchwarden · packit: 3 instances expire soon, 1 stopped".
func Headline(d Digest) string {
	var parts []string
	for _, s := range Sections(d) {
		info, ok := sectionInfo[s.Kind]
		switch {
		case !ok:
			parts = append(parts, fmt.Sprintf("%d %s", len(s.Items), s.Kind))
		case len(s.Items) == 1:
			parts = append(parts, info.one)
		default:
			parts = append(parts, fmt.Sprintf(info.many, len(s.Items)))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing to report")
	}
	return "launchwarden · " + label(d) + ": " + strings.Join(parts, ", ")
}

// label names who a digest is for: its project, or its channel.
func label(d Digest) string {
	if d.Project != "" {
		return d.Project
	}
	return channelName(d.Channel)
}

func channelName(c string) string {
	switch {
	case c == "":
		return "(no channel)"
	case strings.HasPrefix(c, "#"), strings.ToLower(c) != c:
		return c // already a #name, or a channel ID (names are lower case)
	default:
		return "#" + c
	}
}

// Sections splits a digest's notices into one section per kind, in the
// order of Kinds; items keep the order of the notices.
func Sections(d Digest) []Section {
	var out []Section
	index := make(map[Kind]int)
	for _, n := range d.Notices {
		i, ok := index[n.Kind]
		if !ok {
			info := sectionInfo[n.Kind]
			i, index[n.Kind] = len(out), len(out)
			out = append(out, Section{Kind: n.Kind, Title: cmp.Or(info.title, string(n.Kind)), Note: info.note})
		}
		s := &out[i]
		s.Items = append(s.Items, itemOf(d, n))
		if n.Kind == KindExpiring && s.Snippet == "" && n.InstanceID != "" {
			s.Note, s.Snippet = extendHow(d, n)
		}
		if n.Kind == KindStopped && s.Snippet == "" && n.InstanceID != "" && !n.TerminateAt.IsZero() {
			n.Deadline = n.TerminateAt
			note, snippet := extendHow(d, n)
			s.Note, s.Snippet = sectionInfo[KindStopped].note+" Those with a termination time are terminated then: this message is their notice. "+note, snippet
		}
	}
	slices.SortStableFunc(out, func(a, b Section) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// extendHow is the note and snippet that tell a team how to keep an
// instance longer, using the first expiring instance as the example and a
// week past its deadline as the date to edit.
func extendHow(d Digest, n Notice) (note, snippet string) {
	project := cmp.Or(n.Project, d.Project, "<project>")
	note = fmt.Sprintf("To keep an instance longer, add this to projects/%s.toml in a pull request, with your own until and reason.", project)
	var button Item
	if extendButton(d, n, &button); button.Extend != "" {
		by := d.ExtendBy[project]
		note = fmt.Sprintf("Extend adds %s to an instance's expiry, up to the max lifetime. For longer, add this to projects/%s.toml in a pull request, with your own until and reason.",
			projects.Duration(by), project)
	}
	if d.ExtendHint != "" {
		note += " " + d.ExtendHint
	}
	until := n.Deadline
	if until.IsZero() {
		until = d.Now
	}
	return note, ExtensionSnippet(project, n.InstanceID, until.Add(7*24*time.Hour))
}

// itemOf renders one notice as a line: subject, what it is, what happens
// when, and why.
func itemOf(d Digest, n Notice) Item {
	it := Item{Subject: cmp.Or(n.InstanceID, n.Template, n.Project), Detail: strings.TrimSpace(n.Detail)}
	if project := cmp.Or(n.Project, d.Project); d.StatusURL != "" && n.InstanceID != "" && project != "" {
		it.Link = d.StatusURL + "/projects/" + url.PathEscape(project)
	}
	extendButton(d, n, &it)

	var about []string
	if n.InstanceID != "" && n.Template != "" {
		about = append(about, n.Template)
	}
	if n.InstanceType != "" {
		about = append(about, n.InstanceType)
	}
	if d.Project == "" && n.Project != "" && it.Subject != n.Project {
		about = append(about, "project "+n.Project)
	}
	if d.Project == "" && (n.Account != "" || n.Region != "") {
		about = append(about, strings.Trim(n.Account+"/"+n.Region, "/"))
	}

	var what []string
	switch {
	case n.Kind == KindActionFailed && n.Action != "":
		what = append(what, n.Action+" failed")
	case n.Kind == KindStopped && !n.TerminateAt.IsZero():
		// The section says what happened; this is what follows.
		what = append(what, fmt.Sprintf("then terminate at %s (%s)", FormatTime(n.TerminateAt), Relative(d.Now, n.TerminateAt)))
	case n.Kind == KindStopped || n.Kind == KindTerminated:
		// The section says what happened.
	case n.Action != "" && !n.Deadline.IsZero():
		what = append(what, fmt.Sprintf("%s at %s (%s)", n.Action, FormatTime(n.Deadline), Relative(d.Now, n.Deadline)))
	case n.Action != "":
		what = append(what, n.Action)
	}
	if n.Reason != "" {
		what = append(what, n.Reason)
	}

	it.About = strings.Join(about, ", ")
	it.What = strings.Join(what, " — ")
	return it
}

// FormatTime formats t in UTC to the minute: "2026-11-26 10:00 UTC".
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Relative says how far t is from now, to the minute: "in 5h", "in 2d 3h",
// "in 45m", "now", "2h ago".
func Relative(now, t time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	d = d.Truncate(time.Minute)
	if d == 0 {
		return "now"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	switch {
	case days > 0:
		parts = append(parts, strconv.Itoa(days)+"d")
		if hours > 0 {
			parts = append(parts, strconv.Itoa(hours)+"h")
		}
	case hours > 0:
		parts = append(parts, strconv.Itoa(hours)+"h")
		if mins > 0 {
			parts = append(parts, strconv.Itoa(mins)+"m")
		}
	default:
		parts = append(parts, strconv.Itoa(mins)+"m")
	}
	if past {
		return strings.Join(parts, " ") + " ago"
	}
	return "in " + strings.Join(parts, " ")
}

// UsageLine renders usage against limits: "4/10 instances, 16/64 vCPUs".
// A zero maximum is unlimited; a value over its limit is marked.
func UsageLine(u Usage) string {
	return usedOf(u.Instances, u.MaxInstances, "instances") + ", " + usedOf(u.VCPUs, u.MaxVCPUs, "vCPUs")
}

func usedOf(n, limit int, what string) string {
	switch {
	case limit == 0:
		return fmt.Sprintf("%d %s (no limit)", n, what)
	case n > limit:
		return fmt.Sprintf("%d/%d %s (over)", n, limit, what)
	default:
		return fmt.Sprintf("%d/%d %s", n, limit, what)
	}
}

// ContextLine identifies the run a digest comes from.
func ContextLine(d Digest) string {
	return fmt.Sprintf("run %s · %s", cmp.Or(d.RunID, "-"), FormatTime(d.Now))
}

// More is the line that stands for items left out: "… and 12 more".
func More(n int) string {
	return fmt.Sprintf("… and %d more", n)
}

// RenderText renders a digest as plain text: the headline, usage, each
// section with at most 10 items, and the run. It is what
// --notify=log writes, what `plan` shows, and Slack's fallback text.
func RenderText(d Digest) string {
	var b strings.Builder
	b.WriteString(Headline(d) + "\n")
	if d.Usage != nil {
		b.WriteString("Usage: " + UsageLine(*d.Usage) + "\n")
	}
	for _, s := range Sections(d) {
		fmt.Fprintf(&b, "\n%s (%d)\n", s.Title, len(s.Items))
		if s.Note != "" && s.Snippet == "" {
			b.WriteString("  " + s.Note + "\n")
		}
		for i, it := range s.Items {
			if i == textItems {
				b.WriteString("  " + More(len(s.Items)-i) + "\n")
				break
			}
			b.WriteString("  • " + it.String() + "\n")
			if it.Link != "" {
				b.WriteString("      " + it.Link + "\n")
			}
			for _, l := range lines(it.Detail) {
				b.WriteString("      " + l + "\n")
			}
		}
		if s.Snippet != "" {
			b.WriteString("  " + s.Note + "\n")
			for _, l := range lines(s.Snippet) {
				b.WriteString("    " + l + "\n")
			}
		}
	}
	b.WriteString("\n" + ContextLine(d) + "\n")
	return b.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// ExtensionSnippet is the TOML a team pastes into projects/<project>.toml,
// in a pull request, to keep instanceID until the given time:
//
//	# projects/packit.toml
//	[[extensions]]
//	instance = "i-0abc"
//	until = "2026-11-28T10:00:00Z"
//	reason = "why the instance is still needed"
func ExtensionSnippet(project, instanceID string, until time.Time) string {
	return fmt.Sprintf("# projects/%s.toml\n[[extensions]]\ninstance = %s\nuntil = %s\nreason = %s\n",
		project, tomlString(instanceID), tomlString(until.UTC().Format(time.RFC3339)), tomlString("why the instance is still needed"))
}

// tomlString quotes s as a TOML basic string. strconv.Quote would not do:
// TOML has no \x escapes.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
