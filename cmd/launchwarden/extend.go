package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// TagExtension records the reason of the last extension made with
// `launchwarden extend`, next to the expiry it set.
const TagExtension = "launchwarden:extension"

// runExtend is the admin's way to give one instance more time, within the
// caps, without a pull request. A project file's [[extensions]] entry for
// the instance wins over it, so extend refuses such instances.
func runExtend(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "extend", "INSTANCE --by DURATION --reason TEXT",
		"Postpone an instance's expiry, within the admin's max lifetime. Sets a signed launchwarden:expires-at.")
	config := fs.String("config", ".", "config repo `dir`")
	endpointURL := fs.String("endpoint-url", "", "EC2 and STS endpoint `url` (e.g. the emulator)")
	regions := fs.String("region", "", "comma-separated `regions` to look in (default: all configured)")
	by := fs.String("by", "", "how much longer, e.g. 12h, 2d (required)")
	reason := fs.String("reason", "", "why, for the team and the audit trail (required)")
	now := fs.String("now", "", "act as of this RFC 3339 `time` instead of the clock (for the emulator)")
	id, err := parseInstanceFlags(fs, args, "extend")
	if id == "" {
		return err
	}
	d, err := projects.ParseDuration(*by)
	if err != nil || d <= 0 {
		return usageError("--by %q: want a positive duration such as 12h or 2d", *by)
	}
	if *reason == "" {
		return usageError("--reason is required: say why, for the team and the audit trail")
	}
	at := time.Now()
	if *now != "" {
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
	if err := cloud.VerifyAccounts(ctx, clients); err != nil {
		return &exitError{code: exitAborted, err: fmt.Errorf("%w: nothing done", err)}
	}
	snaps, err := cloud.ObserveAll(ctx, clients)
	if err != nil {
		return &exitError{code: exitAborted, err: err}
	}
	in, client := findInstance(snaps, clients, id)
	if in == nil || in.Project == "" {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: no instance of launchwarden's with this id in the configured accounts and regions (launched from a managed template or adopted)", id)}
	}
	if _, frozen := cfg.Frozen[in.Project]; frozen {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: project %s is frozen by config problems; fix its file first", id, in.Project)}
	}
	p := cfg.Project(in.Project)
	if p == nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: project %s is not in the config (an orphan); orphans are not extended", id, in.Project)}
	}
	for _, ext := range p.Extensions {
		if ext.Instance == id {
			return &exitError{code: exitFailed, err: fmt.Errorf("%s: %s has an [[extensions]] entry for it (until %s); change it there", id, p.File, ext.Until.UTC().Format(time.RFC3339))}
		}
	}

	policy := reconcile.Policy(cfg.Admin, p)
	// The current expiry as launchwarden trusts it: a forged expires-at
	// counts as absent (cloud verified it).
	li := lifecycle.Instance{ID: in.ID, BornAt: in.BornAt, ExpiresAt: in.ExpiresAt}
	before := lifecycle.Expiry(li, policy)
	until, capped, err := lifecycle.Extend(li, policy, d.Std(), at)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", id, err)}
	}
	// Signed, bound to this instance: copied elsewhere it counts for nothing.
	res := client.WriteState(ctx, map[string]map[string]string{id: {
		cloud.TagExpiresAt: until.Format(time.RFC3339),
		TagExtension:       *reason,
	}})
	if err := res.Failed[id]; err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	note := ""
	if capped {
		note = fmt.Sprintf(" (capped at the max lifetime %s)", projects.Duration(policy.MaxLifetime))
	}
	fmt.Fprintf(e.stdout, "%s (%s): expiry %s → %s%s\n", id, in.Project, before.UTC().Format(time.RFC3339), until.Format(time.RFC3339), note)
	return nil
}

// findInstance returns the observed instance with the id and the client of
// its account and region.
func findInstance(snaps []*cloud.Snapshot, clients []*cloud.Client, id string) (*cloud.Instance, *cloud.Client) {
	for i, s := range snaps {
		for j := range s.Instances {
			if s.Instances[j].ID == id {
				return &s.Instances[j], clients[i]
			}
		}
	}
	return nil, nil
}

// parseInstanceFlags parses the arguments of a command that acts on one
// instance, whose id may come before or after the flags (`extend i-0abc
// --by 1d`). It returns the id, or "" with the error to return (nil for
// -help).
func parseInstanceFlags(fs *flag.FlagSet, args []string, verb string) (string, error) {
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return "", nil
		}
		return "", err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 || id == "" {
		return "", usageError("%s takes one instance id", verb)
	}
	return id, nil
}
