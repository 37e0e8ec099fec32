package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"time"

	"github.com/launchwarden/launchwarden/change"
)

// runDiff prints what changing the config repo from BASE_DIR to HEAD_DIR
// does, offline. It exits 0 whatever the change does (a change that freezes
// a project is still a diff), unless --fail-on-freeze is given; 2 for bad
// arguments, including a directory that is no config repo.
func runDiff(_ context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	format := fs.String("format", "text", "output format: text, markdown (a pull-request comment) or json")
	failOnFreeze := fs.Bool("fail-on-freeze", false, "exit 1 when head freezes a project or breaks launchwarden.toml")
	at := fs.String("now", "", "judge extensions as of this RFC 3339 time instead of the current time")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: launchwarden diff [--format text|markdown|json] [--fail-on-freeze] [--now TIME] BASE_DIR HEAD_DIR")
		fmt.Fprintln(fs.Output(), "\nShows what changing the config repo from BASE_DIR to HEAD_DIR does: templates")
		fmt.Fprintln(fs.Output(), "created, changed and deleted, effective limits, lifecycle, extensions, and the")
		fmt.Fprintln(fs.Output(), "projects it freezes. Offline: reads the two directories and nothing else.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return &exitError{code: exitUsage}
	}
	if fs.NArg() != 2 {
		return usageError("diff takes two directories, BASE_DIR and HEAD_DIR; got %d arguments", fs.NArg())
	}
	var write func(*change.Report) error
	switch *format {
	case "text":
		write = func(r *change.Report) error { return r.WriteText(e.stdout) }
	case "markdown":
		write = func(r *change.Report) error { return r.WriteMarkdown(e.stdout) }
	case "json":
		write = func(r *change.Report) error { return r.WriteJSON(e.stdout) }
	default:
		return usageError("unknown --format %q: use text, markdown or json", *format)
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError("--now %q: want an RFC 3339 time such as 2026-12-01T18:00:00Z", *at)
		}
		now = t
	}

	var repos [2]*change.Repo
	for i, dir := range fs.Args() {
		r, err := change.Load(dir, now)
		switch {
		case errors.Is(err, iofs.ErrNotExist):
			return usageError("%s %s does not exist", [2]string{"BASE_DIR", "HEAD_DIR"}[i], dir)
		case err != nil:
			return usageError("%s: %v", [2]string{"BASE_DIR", "HEAD_DIR"}[i], err)
		}
		repos[i] = r
	}
	report := change.Compare(repos[0], repos[1], now)
	if err := write(report); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if *failOnFreeze && report.Breaks() {
		return &exitError{code: exitFailed, err: errors.New("the change freezes a project or breaks launchwarden.toml (--fail-on-freeze)")}
	}
	return nil
}
