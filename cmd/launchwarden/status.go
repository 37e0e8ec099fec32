package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/launchwarden/launchwarden/reconcile"
)

// runStatus prints every launchwarden instance with its age, expiry and next
// step, and each project's quota usage. It changes nothing.
func runStatus(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "status", "", "Show instances per project with age, expiry and next action, and quota usage.")
	config := fs.String("config", ".", "config repo `dir`")
	endpointURL := fs.String("endpoint-url", "", "EC2 and STS endpoint `url` (e.g. the emulator)")
	regions := fs.String("region", "", "comma-separated `regions` (default: all configured)")
	format := fs.String("format", "text", "output format: text or json")
	now := fs.String("now", "", "as of this RFC 3339 `time` instead of the clock (for the emulator)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usageError("status takes no arguments, got %q", fs.Args())
	}
	if *format != "text" && *format != "json" {
		return usageError("unknown --format %q (want text or json)", *format)
	}
	at := time.Now()
	if *now != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, *now); err != nil {
			return usageError("--now: %v", err)
		}
	}
	w := worker{config: *config, regions: splitList(*regions), endpointURL: *endpointURL, log: slog.New(slog.NewTextHandler(e.stderr, nil)), getenv: e.getenv}
	cfg, err := w.loadConfig()
	if err != nil {
		return err
	}
	clients, err := w.connect(ctx, cfg)
	if err != nil {
		return err
	}
	obs, err := reconcile.Observe(ctx, cfg, clients, nil, nil)
	if err != nil {
		return &exitError{code: exitAborted, err: err}
	}
	st := reconcile.StatusOf(cfg, obs, at)
	if *format == "json" {
		return st.WriteJSON(e.stdout)
	}
	return st.WriteText(e.stdout)
}
