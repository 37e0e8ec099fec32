package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/launchwarden/launchwarden/projects"
)

// loadRepo loads a config repo; tests replace it to stand for a load that
// hangs.
var loadRepo = projects.Load

// runValidate checks a config repo and prints every problem, then every
// warning. It exits 0 if the repo is valid, 1 if not; warnings change
// nothing. It ends when ctx does (the first SIGTERM or
// SIGINT), whatever the load is waiting for.
func runValidate(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	format := fs.String("format", "text", "output format: text, json or github (workflow annotations)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: launchwarden validate [--format text|json|github] [DIR]")
		fmt.Fprintln(fs.Output(), "\nChecks launchwarden.toml and projects/*.toml in DIR (default \".\").")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return &exitError{code: exitUsage}
	}
	if fs.NArg() > 1 {
		return usageError("validate takes at most one directory, got %d arguments", fs.NArg())
	}
	dir := "."
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	var write func(io.Writer, string, *projects.Config, projects.Problems) error
	switch *format {
	case "text":
		write = writeText
	case "json":
		write = writeJSON
	case "github":
		write = writeGitHub
	default:
		return usageError("unknown --format %q: use text, json or github", *format)
	}

	type loaded struct {
		cfg   *projects.Config
		probs projects.Problems
	}
	done := make(chan loaded, 1)
	load := loadRepo
	go func() {
		cfg, probs := load(dir)
		done <- loaded{cfg, probs}
	}()
	var cfg *projects.Config
	var probs projects.Problems
	select {
	case l := <-done:
		cfg, probs = l.cfg, l.probs
	case <-ctx.Done():
		return &exitError{code: exitFailed, err: fmt.Errorf("validate interrupted: %w", context.Cause(ctx))}
	}
	if err := write(e.stdout, dir, cfg, probs); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if len(probs) > 0 {
		return &exitError{code: exitFailed}
	}
	return nil
}

// summary is the last line of the text report.
func summary(cfg *projects.Config, probs projects.Problems) string {
	if len(probs) > 0 {
		return fmt.Sprintf("%s in %s", plural(len(probs), "problem"), plural(probs.Files(), "file"))
	}
	templates := 0
	for _, p := range cfg.Projects {
		templates += len(p.Templates)
	}
	out := fmt.Sprintf("ok: %s, %s", plural(len(cfg.Projects), "project"), plural(templates, "template"))
	if n := len(cfg.Warnings); n > 0 {
		out += ", " + plural(n, "warning")
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func writeText(w io.Writer, _ string, cfg *projects.Config, probs projects.Problems) error {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	for _, p := range cfg.Warnings {
		p.Message = "warning: " + p.Message
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	b.WriteString(summary(cfg, probs))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonReport is the --format json output.
type jsonReport struct {
	Valid     bool               `json:"valid"`
	Problems  []projects.Problem `json:"problems"`
	Projects  int                `json:"projects"`
	Templates int                `json:"templates"`
	Frozen    []string           `json:"frozen"`
	// Warnings do not make the repo invalid (see projects.Config.Warnings).
	Warnings []projects.Problem `json:"warnings"`
	Summary  string             `json:"summary"`
}

func writeJSON(w io.Writer, _ string, cfg *projects.Config, probs projects.Problems) error {
	r := jsonReport{Valid: len(probs) == 0, Problems: probs, Projects: len(cfg.Projects), Frozen: []string{},
		Warnings: cfg.Warnings, Summary: summary(cfg, probs)}
	if r.Problems == nil {
		r.Problems = []projects.Problem{}
	}
	if r.Warnings == nil {
		r.Warnings = []projects.Problem{}
	}
	for _, p := range cfg.Projects {
		r.Templates += len(p.Templates)
	}
	for name := range cfg.Frozen {
		r.Frozen = append(r.Frozen, name)
	}
	slices.Sort(r.Frozen)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeGitHub prints workflow commands that GitHub turns into annotations
// on the pull request's files. Paths are the repo-relative paths as given
// (DIR joined with the file), since workflows run at the repo root.
func writeGitHub(w io.Writer, dir string, cfg *projects.Config, probs projects.Problems) error {
	var b strings.Builder
	annotate := func(level string, p projects.Problem) {
		file := filepath.ToSlash(filepath.Join(dir, p.File))
		fmt.Fprintf(&b, "::%s file=%s", level, escapeProperty(file))
		if p.Line > 0 {
			fmt.Fprintf(&b, ",line=%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ",col=%d", p.Column)
			}
		}
		title := p.Key
		if title == "" {
			title = "launchwarden"
		}
		msg := p.Message
		if p.Hint != "" {
			msg += " (" + p.Hint + ")"
		}
		fmt.Fprintf(&b, ",title=%s::%s\n", escapeProperty(title), escapeData(msg))
	}
	for _, p := range probs {
		annotate("error", p)
	}
	for _, p := range cfg.Warnings {
		annotate("warning", p)
	}
	b.WriteString(summary(cfg, probs))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeData and escapeProperty follow the workflow command encoding of
// @actions/core (toCommandValue / escapeData / escapeProperty).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
