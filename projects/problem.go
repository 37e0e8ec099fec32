package projects

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Problem is one mistake in the config repo, located as precisely as known.
type Problem struct {
	// File is relative to the config dir, e.g. "projects/packit.toml".
	File string `json:"file"`
	// Line and Column start at 1; 0 means unknown.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Key is the key path, e.g. "templates[1].instance_type" (0-based).
	Key string `json:"key,omitempty"`
	// Message says what is wrong; Hint what would be right.
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// String formats p as "file:line:col: key: message (hint)", leaving out
// what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Problems is a list of problems, sorted by file, line and column once
// returned by Load.
type Problems []Problem

// Err returns nil if there are no problems, else an error listing them one
// a line.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return errors.New(strings.Join(lines, "\n"))
}

// Files returns how many distinct files have problems.
func (ps Problems) Files() int {
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.File] = true
	}
	return len(seen)
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// maxQuote is how much of what a file says a problem quotes.
const maxQuote = 100

// clip cuts s to at most n bytes (on a character boundary), marking the cut
// with "…", so that a problem never quotes more than a short excerpt.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// bounded returns ps, sorted, with at most maxProblemsPerFile problems of
// each file (the last one saying how many more there are) and every text
// clipped, so that no input can make a report large.
func (ps Problems) bounded() Problems {
	ps.sort()
	total := map[string]int{}
	for _, p := range ps {
		total[p.File]++
	}
	out := make(Problems, 0, len(ps))
	seen := map[string]int{}
	for _, p := range ps {
		seen[p.File]++
		switch n := seen[p.File]; {
		case n <= maxProblemsPerFile:
			p.Key = clip(p.Key, 2*maxQuote)
			p.Message = clip(p.Message, 4*maxQuote)
			p.Hint = clip(p.Hint, 4*maxQuote)
			out = append(out, p)
		case n == maxProblemsPerFile+1:
			out = append(out, Problem{File: p.File, Line: p.Line, Column: p.Column,
				Message: fmt.Sprintf("%d more problems in this file are not shown", total[p.File]-maxProblemsPerFile),
				Hint:    "fix the ones above first"})
		}
	}
	return out
}
