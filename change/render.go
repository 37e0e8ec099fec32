package change

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Freezes returns the projects the change freezes: valid in base, invalid
// in head.
func (r *Report) Freezes() []string {
	var out []string
	for _, p := range r.Projects {
		if p.Status == StatusFreezes {
			out = append(out, p.Name)
		}
	}
	return out
}

// Breaks reports whether head stops launchwarden from acting as base
// would: its admin file is invalid, or it freezes a project.
func (r *Report) Breaks() bool {
	return len(r.AdminBroken) > 0 || len(r.Freezes()) > 0
}

// Summary is one line that counts what the change does.
func (r *Report) Summary() string {
	status := map[string]int{}
	ops := map[string]int{}
	ext := map[string]int{}
	for _, p := range r.Projects {
		status[p.Status]++
		for _, t := range p.Templates {
			ops[t.Op]++
		}
		for _, e := range p.Extensions {
			ext[e.Op]++
		}
	}
	var parts []string
	add := func(n int, noun, what string) {
		if n > 0 {
			parts = append(parts, plural(n, noun)+" "+what)
		}
	}
	if len(r.AdminBroken) > 0 {
		parts = append(parts, "launchwarden.toml invalid")
	}
	add(status[StatusFreezes], "project", "frozen")
	add(status[StatusUnfreezes], "project", "unfrozen")
	add(status[StatusAdded], "project", "added")
	add(status[StatusRemoved], "project", "removed")
	add(status[StatusChanged], "project", "changed")
	add(status[StatusStaysFrozen], "project", "still frozen")
	add(ops[OpCreate], "template", "created")
	add(ops[OpChange], "template", "changed")
	add(ops[OpDelete], "template", "deleted")
	add(ops[OpEnsure], "template", "brought in line")
	add(ext[ExtensionAdded], "extension", "added")
	add(ext[ExtensionChanged], "extension", "changed")
	add(ext[ExtensionRemoved], "extension", "removed")
	add(len(r.Admin), "admin setting", "changed")
	if len(parts) == 0 {
		return "no effect: nothing launchwarden acts on changes"
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a terminal or a CI log.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "launchwarden diff %s → %s (extensions judged at %s)\n", r.Base, r.Head, r.At.Format(time.RFC3339))
	for _, line := range r.alarms() {
		fmt.Fprintf(&b, "\n!! %s\n", line)
	}
	for _, p := range r.AdminBroken {
		fmt.Fprintf(&b, "   %s\n", p)
	}
	if len(r.Admin)+len(r.AdminWarnings) > 0 || r.AdminFixed {
		b.WriteString("\nlaunchwarden.toml\n")
		if r.AdminFixed {
			fmt.Fprintf(&b, "  %s\n", adminFixedNote)
		}
		for _, f := range r.Admin {
			writeFieldText(&b, "  ", f)
		}
		for _, p := range r.AdminWarnings {
			fmt.Fprintf(&b, "  warning: %s\n", p)
		}
	}
	if len(r.Problems) > 0 {
		b.WriteString("\nother problems in head\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	for _, p := range r.Projects {
		fmt.Fprintf(&b, "\nproject %s (%s): %s\n", p.Name, p.File, p.Status)
		if p.Note != "" {
			fmt.Fprintf(&b, "  %s\n", p.Note)
		}
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "  %s\n", pr)
		}
		for _, f := range p.Fields {
			writeFieldText(&b, "  ", f)
		}
		if len(p.Limits) > 0 {
			b.WriteString("  limits:\n")
			for _, l := range p.Limits {
				fmt.Fprintf(&b, "    %s: %s\n", l.Key, limitChangeText(l))
				if l.Note != "" {
					fmt.Fprintf(&b, "      %s\n", l.Note)
				}
			}
		}
		if len(p.Lifecycle) > 0 {
			b.WriteString("  lifecycle:\n")
			for _, f := range p.Lifecycle {
				writeFieldText(&b, "    ", f)
			}
		}
		if len(p.Templates) > 0 {
			b.WriteString("  templates:\n")
			for _, t := range p.Templates {
				fmt.Fprintf(&b, "    %s %s: %s\n", opSign[t.Op], t.Name, templateHeadline(t))
				if t.Note != "" {
					fmt.Fprintf(&b, "        %s\n", t.Note)
				}
				for _, f := range t.Fields {
					writeFieldText(&b, "        ", f)
				}
			}
		}
		if len(p.Extensions) > 0 {
			b.WriteString("  extensions:\n")
			for _, e := range p.Extensions {
				fmt.Fprintf(&b, "    %s %s: %s\n", extSign[e.Op], e.Instance, extensionHeadline(e))
				if e.Note != "" {
					fmt.Fprintf(&b, "        %s\n", e.Note)
				}
			}
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// alarms are the lines a reviewer must not miss.
func (r *Report) alarms() []string {
	var out []string
	if len(r.AdminBroken) > 0 {
		out = append(out, "launchwarden.toml is invalid in head: every run aborts before any action until it is fixed. What follows for projects assumes the built-in defaults and caps.")
	}
	if f := r.Freezes(); len(f) > 0 {
		out = append(out, fmt.Sprintf("This change FREEZES %s (%s): its file fails validation, so launchwarden changes none of its templates (they close to new launches) and stops or terminates none of its instances until it is fixed (its team is still warned).",
			plural(len(f), "project"), strings.Join(f, ", ")))
	}
	return out
}

const adminFixedNote = "valid again: runs, which aborted before any action, act from the next one on (\"before\" values of projects assume the built-in defaults and caps)"

var (
	opSign  = map[string]string{OpCreate: "+", OpChange: "~", OpDelete: "-", OpEnsure: "="}
	extSign = map[string]string{ExtensionAdded: "+", ExtensionChanged: "~", ExtensionRemoved: "-"}
)

func templateHeadline(t TemplateChange) string {
	switch t.Op {
	case OpCreate:
		return "created in " + strings.Join(t.Regions, ", ")
	case OpEnsure:
		return "brought in line with the file in " + strings.Join(t.Regions, ", ")
	case OpDelete:
		return "deleted"
	}
	return "changed"
}

func extensionHeadline(e ExtensionChange) string {
	s := ""
	switch e.Op {
	case ExtensionAdded:
		s = "until " + e.Until.Format(time.RFC3339)
	case ExtensionChanged:
		s = fmt.Sprintf("until %s → %s", e.Before.Format(time.RFC3339), e.Until.Format(time.RFC3339))
	case ExtensionRemoved:
		s = "was until " + e.Before.Format(time.RFC3339)
	}
	if e.Reason != "" {
		s += fmt.Sprintf(" (%q)", e.Reason)
	}
	return s
}

func limitText(l *Limit) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("%s (%s)", l.Value, l.From)
}

func limitChangeText(l LimitChange) string {
	if l.Before == nil {
		return limitText(l.After)
	}
	return limitText(l.Before) + " → " + limitText(l.After)
}

// writeFieldText writes one field change and its note under indent.
func writeFieldText(b *strings.Builder, indent string, f FieldChange) {
	switch {
	case f.Lines != nil:
		fmt.Fprintf(b, "%s%s:\n", indent, f.Key)
		for _, l := range f.Lines {
			fmt.Fprintf(b, "%s  %s\n", indent, l)
		}
	default:
		fmt.Fprintf(b, "%s%s: %s\n", indent, f.Key, fieldValueText(f))
	}
	if f.Note != "" {
		fmt.Fprintf(b, "%s  %s\n", indent, f.Note)
	}
	if len(f.AppliesTo) > 0 {
		fmt.Fprintf(b, "%s  applies to %s\n", indent, strings.Join(f.AppliesTo, ", "))
	}
}

// fieldValueText shows a change on one line: a list's gains and losses,
// or before → after; only the value for a new one.
func fieldValueText(f FieldChange) string {
	switch {
	case f.Added != nil || f.Removed != nil:
		var parts []string
		for _, s := range f.Added {
			parts = append(parts, "+"+s)
		}
		for _, s := range f.Removed {
			parts = append(parts, "-"+s)
		}
		return strings.Join(parts, " ")
	case f.Before == "" && f.After == "":
		return "order changed"
	case f.Before == "":
		return f.After
	case f.After == "":
		return f.Before + " → removed"
	}
	return f.Before + " → " + f.After
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
