package change

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Marker is the first line of the Markdown report, hidden when rendered.
// A CI job finds its earlier pull-request comment by it and updates that
// comment instead of adding another.
const Marker = "<!-- launchwarden diff -->"

// Bounds of the Markdown report: GitHub refuses comments over 65,536
// characters, and a long text diff is read in the job log anyway.
const (
	maxMarkdown      = 60_000
	maxMarkdownLines = 60
)

// WriteMarkdown writes the report for a pull-request comment. Every value
// taken from the config is in a code span or block, so that it renders as
// written and mentions no one. Sections that would take the comment past
// GitHub's size limit are left out, and the report says how many.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString(Marker + "\n")
	b.WriteString("### launchwarden: what this change does\n\n")
	if alarms := r.alarms(); len(alarms) > 0 {
		b.WriteString("> [!CAUTION]\n")
		for i, a := range alarms {
			if i > 0 {
				b.WriteString(">\n")
			}
			fmt.Fprintf(&b, "> **%s**\n", text(a))
		}
		for _, p := range r.AdminBroken {
			fmt.Fprintf(&b, "> - %s\n", code(p.String()))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "**%s**\n", text(r.Summary()))

	var sections []string
	if len(r.Admin)+len(r.AdminWarnings) > 0 || r.AdminFixed {
		sections = append(sections, r.adminMarkdown())
	}
	if len(r.Problems) > 0 {
		var s strings.Builder
		s.WriteString("\n#### Other problems in head\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&s, "- %s\n", code(p.String()))
		}
		sections = append(sections, s.String())
	}
	for _, p := range r.Projects {
		sections = append(sections, projectMarkdown(p))
	}
	for i, s := range sections {
		if b.Len()+len(s) > maxMarkdown {
			fmt.Fprintf(&b, "\n*%d more sections left out to stay within GitHub's comment size; run `launchwarden diff` on the two checkouts for the whole report.*\n", len(sections)-i)
			break
		}
		b.WriteString(s)
	}
	fmt.Fprintf(&b, "\n<sub>`launchwarden diff`, offline: from the two config repos alone; extensions judged at %s.</sub>\n", r.At.Format(time.RFC3339))
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) adminMarkdown() string {
	var b strings.Builder
	b.WriteString("\n#### `launchwarden.toml`\n\n")
	if r.AdminFixed {
		fmt.Fprintf(&b, "%s\n\n", text(adminFixedNote))
	}
	if len(r.Admin) > 0 {
		b.WriteString("| key | before | after | what it does |\n| --- | --- | --- | --- |\n")
		for _, f := range r.Admin {
			fieldRow(&b, f)
		}
	}
	for _, p := range r.AdminWarnings {
		fmt.Fprintf(&b, "\nWarning: %s\n", code(p.String()))
	}
	return b.String()
}

func projectMarkdown(p ProjectChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### %s: %s\n\n", code(p.Name), p.Status)
	if p.Note != "" {
		fmt.Fprintf(&b, "%s\n\n", text(p.Note))
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(&b, "- %s\n", code(pr.String()))
	}
	if len(p.Problems) > 0 {
		b.WriteString("\n")
	}
	if len(p.Fields) > 0 {
		b.WriteString("| key | before | after | what it does |\n| --- | --- | --- | --- |\n")
		for _, f := range p.Fields {
			fieldRow(&b, f)
		}
		b.WriteString("\n")
	}
	if len(p.Limits) > 0 {
		b.WriteString("**Limits** (effective, and the key that binds)\n\n| limit | before | after | what it does |\n| --- | --- | --- | --- |\n")
		for _, l := range p.Limits {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(code(l.Key)), limitCell(l.Before), limitCell(l.After), cell(text(l.Note)))
		}
		b.WriteString("\n")
	}
	if len(p.Lifecycle) > 0 {
		b.WriteString("**Lifecycle**\n\n| key | before | after | what it means |\n| --- | --- | --- | --- |\n")
		for _, f := range p.Lifecycle {
			fieldRow(&b, f)
		}
		b.WriteString("\n")
	}
	if len(p.Templates) > 0 {
		b.WriteString("**Templates**\n\n")
		for _, t := range p.Templates {
			templateMarkdown(&b, t)
		}
	}
	if len(p.Extensions) > 0 {
		b.WriteString("**Extensions**\n\n")
		for _, e := range p.Extensions {
			fmt.Fprintf(&b, "- %s %s: %s", code(e.Instance), e.Op, code(extensionHeadline(e)))
			if e.Note != "" {
				fmt.Fprintf(&b, " — %s", text(e.Note))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func templateMarkdown(b *strings.Builder, t TemplateChange) {
	fmt.Fprintf(b, "- %s **%s**", code(t.Name), text(templateHeadline(t)))
	if t.Note != "" {
		fmt.Fprintf(b, ": %s", text(t.Note))
	}
	b.WriteString("\n\n")
	if len(t.Fields) == 0 {
		return
	}
	var blocks []FieldChange
	if t.Op == OpChange {
		b.WriteString("  | key | before | after | what it does |\n  | --- | --- | --- | --- |\n")
	} else {
		b.WriteString("  | key | value |\n  | --- | --- |\n")
	}
	for _, f := range t.Fields {
		if f.Lines != nil {
			blocks = append(blocks, f)
			continue
		}
		b.WriteString("  ")
		if t.Op == OpChange {
			fieldRow(b, f)
		} else {
			fmt.Fprintf(b, "| %s | %s |\n", cell(code(f.Key)), cell(code(f.After)))
		}
	}
	b.WriteString("\n")
	for _, f := range blocks {
		fmt.Fprintf(b, "  %s", code(f.Key))
		if f.Note != "" {
			fmt.Fprintf(b, ": %s", text(f.Note))
		}
		b.WriteString("\n\n")
		lines := f.Lines
		if len(lines) > maxMarkdownLines {
			lines = append(lines[:maxMarkdownLines:maxMarkdownLines], fmt.Sprintf("  … %d more lines", len(f.Lines)-maxMarkdownLines))
		}
		body := strings.Join(lines, "\n")
		fence := strings.Repeat("`", max(3, longestRun(body, '`')+1))
		fmt.Fprintf(b, "  %sdiff\n", fence)
		for _, l := range lines {
			fmt.Fprintf(b, "  %s\n", diffLine(l))
		}
		fmt.Fprintf(b, "  %s\n\n", fence)
	}
}

// diffLine turns "+ x" into "+x" as a diff block shows it.
func diffLine(l string) string {
	if len(l) >= 2 && (l[0] == '+' || l[0] == '-' || l[0] == ' ') && l[1] == ' ' {
		return l[:1] + l[2:]
	}
	return l
}

// fieldRow writes a table row: key, before, after and the note with the
// projects it affects.
func fieldRow(b *strings.Builder, f FieldChange) {
	before, after := orDash(f.Before), orDash(f.After)
	if f.Added != nil || f.Removed != nil {
		var parts []string
		for _, s := range f.Added {
			parts = append(parts, "+"+s)
		}
		for _, s := range f.Removed {
			parts = append(parts, "-"+s)
		}
		after = code(strings.Join(parts, " "))
	}
	if f.Lines != nil {
		before, after = "", code(fmt.Sprintf("%d lines changed", changedLines(f.Lines)))
	}
	note := text(f.Note)
	if len(f.AppliesTo) > 0 {
		codes := make([]string, len(f.AppliesTo))
		for i, a := range f.AppliesTo {
			codes[i] = code(a)
		}
		note = strings.TrimSpace(note + "<br>applies to " + strings.Join(codes, ", "))
	}
	fmt.Fprintf(b, "| %s | %s | %s | %s |\n", cell(code(f.Key)), cell(before), cell(after), cell(note))
}

func changedLines(lines []string) int {
	n := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			n++
		}
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return code(s)
}

func limitCell(l *Limit) string {
	if l == nil {
		return "—"
	}
	return cell(code(l.Value) + " from " + code(l.From))
}

// code puts s in a code span that holds any backticks s has.
func code(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// text escapes our own prose for Markdown: no HTML, no emphasis by accident.
func text(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `\`, `\\`, "*", `\*`, "_", `\_`,
		"[", `\[`, "]", `\]`, "`", "\\`", "@", "@\u200b").Replace(s)
}

// cell makes s safe inside a table cell: a pipe would end the cell, even
// inside a code span.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

func longestRun(s string, c byte) int {
	longest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
