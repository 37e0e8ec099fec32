package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
	slacknotify "github.com/launchwarden/launchwarden/notify/slack"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

// reachFlags say where the config and the outside world are: the flags
// plan, run and serve share.
type reachFlags struct {
	config      string
	regions     string
	endpointURL string
	githubURL   string
	slackAPIURL string
	logFormat   string
}

func (f *reachFlags) register(fs *flag.FlagSet, configNote string) {
	fs.StringVar(&f.config, "config", ".", "config repo `dir` (holds launchwarden.toml and projects/)"+configNote)
	fs.StringVar(&f.regions, "region", "", "comma-separated `regions` to work on (default: all configured)")
	fs.StringVar(&f.endpointURL, "endpoint-url", "", "EC2 and STS endpoint `url` (e.g. the emulator from 'launchwarden sim')")
	fs.StringVar(&f.githubURL, "github-url", "", "base `url` of GitHub users' .keys files (default: the admin file's github.keys_url)")
	fs.StringVar(&f.slackAPIURL, "slack-api-url", "", "Slack Web API base `url` (for a test server)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
}

// runFlags are the flags of plan and run.
type runFlags struct {
	reachFlags
	format  string
	notify  string
	now     string
	timeout time.Duration
}

func (f *runFlags) register(fs *flag.FlagSet, apply bool) {
	f.reachFlags.register(fs, "")
	fs.StringVar(&f.now, "now", "", "plan as of this RFC 3339 `time` instead of the clock (for the emulator's clock)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up the run after this long")
	if apply {
		fs.StringVar(&f.format, "format", "text", "plan output format: text, json or markdown")
		fs.StringVar(&f.notify, "notify", "slack", "where digests go: slack, log (printed) or none (nothing is stopped or terminated)")
	} else {
		fs.StringVar(&f.format, "format", "text", "output format: text, json or markdown")
		fs.StringVar(&f.notify, "notify", "none", "also print the digests the run would send: log or none")
	}
}

func newFlagSet(e env, name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: launchwarden %s [flags] %s\n\n%s\n\nflags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; --help returns errHelp, which callers turn into nil.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return &exitError{code: exitUsage}
	}
	return nil
}

var errHelp = errors.New("help requested")

func runPlan(ctx context.Context, e env, args []string) error {
	return runOnce(ctx, e, args, false)
}

func runRun(ctx context.Context, e env, args []string) error {
	return runOnce(ctx, e, args, true)
}

// runOnce is plan (apply false) and run (apply true): load, observe, plan,
// print, and for run, apply.
func runOnce(ctx context.Context, e env, args []string, apply bool) error {
	name, summary := "plan", "Observe AWS and print what a run would do. Changes nothing."
	if apply {
		name, summary = "run", "Observe AWS, plan and apply once: the one-shot mode for schedulers."
	}
	var f runFlags
	fs := newFlagSet(e, name, "", summary)
	f.register(fs, apply)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usageError("%s takes no arguments, got %q", name, fs.Args())
	}
	write, err := planWriter(f.format)
	if err != nil {
		return err
	}
	if !slices.Contains([]string{"slack", "log", "none"}, f.notify) || (!apply && f.notify == "slack") {
		return usageError("unknown --notify %q", f.notify)
	}
	now := time.Now()
	if f.now != "" {
		if now, err = time.Parse(time.RFC3339, f.now); err != nil {
			return usageError("--now: %v", err)
		}
	}
	log, err := newLogger(e.stderr, f.logFormat)
	if err != nil {
		return err
	}
	runID := newRunID(now)
	base := log // Apply adds the run id itself
	log = log.With("run", runID)
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	w := worker{config: f.config, regions: splitList(f.regions), endpointURL: f.endpointURL, githubURL: f.githubURL, log: log, getenv: e.getenv}
	plan, clients, cfg, err := w.plan(ctx, now, runID)
	if err != nil {
		return err
	}
	if err := write(plan, e.stdout); err != nil {
		return err
	}
	if !apply {
		if f.notify == "log" {
			for _, d := range notify.Group(plan.RunID, plan.Now, plan.Notices, plan.Usage) {
				d.StatusURL = plan.StatusURL
				fmt.Fprintln(e.stdout, "\n"+notify.RenderText(d))
			}
		}
		return heldError(plan)
	}
	if !plan.Enforce {
		log.Warn("safety.enforce is false: plan only, nothing applied")
		return planOnlyExit(plan)
	}
	sender, err := newSender(f.notify, cfg.Admin.Slack, f.slackAPIURL, e, log)
	if err != nil {
		return err
	}
	// No Extend buttons: only serve answers them (interactions.go).
	plan.ExtendBy = nil
	rep, err := reconcile.Apply(ctx, plan, reconcile.Deps{Clients: clients, Sender: sender, Logger: base})
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	log.Info("run finished", "stopped", len(rep.Stopped), "terminated", len(rep.Terminated), "held", rep.Held,
		"withheld", rep.Withheld, "undelivered", len(rep.Undelivered()), "frozen", len(rep.Frozen), "errors", len(rep.Errors))
	return runExit(rep)
}

// runExit turns what Apply did into run's exit: 3 when the safety cap held
// actions back, else 1 when anything of Report.Problems happened (an
// undelivered digest, an action withheld for it, a frozen project, a
// template left unwritten, a failed operation), else success. Nothing fails silently (invariant 7).
func runExit(rep *reconcile.Report) error {
	problems := rep.Problems()
	if rep.Held > 0 {
		problems = append([]string{fmt.Sprintf("%d stop/terminate actions held back by safety.max_destructive_per_run", rep.Held)}, problems...)
		return &exitError{code: exitUnsafe, err: errors.New(strings.Join(problems, "; "))}
	}
	if len(problems) > 0 {
		return &exitError{code: exitFailed, err: errors.New(strings.Join(problems, "; ") + "; the next run retries")}
	}
	return nil
}

// planOnlyExit is run's exit under the kill switch (safety.enforce =
// false): nothing was applied, but a frozen project or a template left
// unwritten is still a problem admins must see, so the run exits 1 as it
// would with enforce on (invariant 7).
func planOnlyExit(plan *reconcile.RunPlan) error {
	if len(plan.Frozen) > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("safety.enforce is false, nothing applied; project(s) frozen by config problems: %s", strings.Join(plan.Frozen, ", "))}
	}
	return heldError(plan)
}

// heldError fails a plan that leaves templates unwritten.
func heldError(plan *reconcile.RunPlan) error {
	if n := len(plan.HeldTemplates); n > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%d templates not written in some region; see the plan", n)}
	}
	return nil
}

// worker holds what one run needs to reach the outside world.
type worker struct {
	config      string
	regions     []string
	endpointURL string
	githubURL   string
	log         *slog.Logger
	getenv      func(string) string
	// clients, if set, replaces connecting to AWS (tests, the demo).
	clients []*cloud.Client
	// load, if set, replaces projects.Load (serve falls back to the last
	// good config when the admin file breaks).
	load func(dir string) (*projects.Config, projects.Problems)
	// onCall, if set, observes every AWS API call attempt (serve's metrics).
	onCall func(service, action string, err error)
	// types, if set, remembers instance types across runs (serve's);
	// one-shot commands describe the types in use every time.
	types *cloud.InstanceTypeCache
	// memory, if set, is what serve's runs remember across runs.
	memory *reconcile.Memory
	// pacer, if set, paces EC2 requests across runs (serve's); nil gives
	// each run a pacer of its own, whose buckets start full.
	pacer *cloud.Pacer
	// observed, if set, is given the config and what the run observed
	// (serve's status pages).
	observed func(*projects.Config, *reconcile.Observation)
}

// loadConfig loads the config repo. A broken admin file returns
// exitAborted: nothing may be done without it.
func (w *worker) loadConfig() (*projects.Config, error) {
	load := w.load
	if load == nil {
		load = projects.Load
	}
	cfg, problems := load(w.config)
	if cfg.Admin == nil {
		for _, p := range problems {
			w.log.Error("config problem", "problem", p.String())
		}
		return nil, &exitError{code: exitAborted, err: fmt.Errorf("%s/launchwarden.toml is invalid (%d problems, see 'launchwarden validate'): nothing done", w.config, len(problems))}
	}
	return cfg, nil
}

// connect returns a client per configured account and region (or the
// injected ones), holding the state keys of the admin file's [state]: every
// command that reads or writes instance state needs them, and without them
// nothing is done (exitAborted).
func (w *worker) connect(ctx context.Context, cfg *projects.Config) ([]*cloud.Client, error) {
	keys, err := stateKeys(cfg.Admin, w.getenv)
	if err != nil {
		return nil, &exitError{code: exitAborted, err: err}
	}
	if w.clients != nil {
		for _, c := range w.clients {
			c.Keys, c.InstanceTypes = keys, w.types
		}
		return w.clients, nil
	}
	clients, err := cloud.Connect(ctx, cloud.ConnectOptions{
		Profile:     cfg.Admin.AWS.Profile,
		EndpointURL: w.endpointURL,
		Accounts:    accountsOf(cfg.Admin, w.regions),
		OnCall:      w.onCall,
		Pacer:       w.pacer,
	})
	if err != nil {
		return nil, &exitError{code: exitAborted, err: err}
	}
	for _, c := range clients {
		c.Keys, c.InstanceTypes = keys, w.types
	}
	return clients, nil
}

// stateKeys resolves the keys that sign and verify state tags.
func stateKeys(admin *projects.Admin, getenv func(string) string) (*cloud.StateKeys, error) {
	current, previous, err := admin.State.StateKeys(getenv)
	if err != nil {
		return nil, fmt.Errorf("launchwarden.toml [state]: %w: nothing done", err)
	}
	return cloud.NewStateKeys(current, previous...)
}

// plan loads the config, observes and plans. A broken admin file or a
// failed observation returns exitAborted: nothing was done.
func (w *worker) plan(ctx context.Context, now time.Time, runID string) (*reconcile.RunPlan, []*cloud.Client, *projects.Config, error) {
	cfg, err := w.loadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	clients, err := w.connect(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	keysURL := w.githubURL
	if keysURL == "" {
		keysURL = cfg.Admin.GitHub.KeysURL
	}
	obs, err := reconcile.Observe(ctx, cfg, clients, &sshkeys.Fetcher{BaseURL: keysURL, Logger: w.log}, w.log)
	if err != nil {
		return nil, nil, nil, &exitError{code: exitAborted, err: fmt.Errorf("%w: nothing done", err)}
	}
	obs.Memory = w.memory
	// Logged once the observation settled contested channels (see
	// projects.Config.Settle).
	for _, name := range slices.Sorted(maps.Keys(cfg.Frozen)) {
		ps := cfg.Frozen[name]
		w.log.Warn("project frozen by config problems", "project", name, "problems", len(ps), "first", ps[0].String())
	}
	if w.observed != nil {
		w.observed(cfg, obs)
	}
	plan := reconcile.Plan(cfg, obs, now, runID)
	w.log.Info("planned", "summary", plan.Summary())
	return plan, clients, cfg, nil
}

// accountsOf converts the admin's accounts, keeping only the given regions
// (all when empty).
func accountsOf(admin *projects.Admin, regions []string) []cloud.Account {
	var out []cloud.Account
	for _, a := range admin.AWS.Accounts {
		ca := cloud.Account{Name: a.Name, ID: a.ID, RoleARN: a.RoleARN, Where: fmt.Sprintf("%s:%d", projects.AdminFile, a.IDLine)}
		for _, r := range a.Regions {
			if len(regions) == 0 || slices.Contains(regions, r) {
				ca.Regions = append(ca.Regions, r)
			}
		}
		if len(ca.Regions) > 0 {
			out = append(out, ca)
		}
	}
	return out
}

func planWriter(format string) (func(*reconcile.RunPlan, io.Writer) error, error) {
	switch format {
	case "text":
		return (*reconcile.RunPlan).WriteText, nil
	case "json":
		return (*reconcile.RunPlan).WriteJSON, nil
	case "markdown":
		return (*reconcile.RunPlan).WriteMarkdown, nil
	}
	return nil, usageError("unknown --format %q (want text, json or markdown)", format)
}

// newSender returns the digest sender --notify names.
func newSender(kind string, s projects.Slack, apiURL string, e env, log *slog.Logger) (notify.Sender, error) {
	switch kind {
	case "none":
		return notify.Discard{}, nil
	case "log":
		return &notify.LogSender{W: e.stdout}, nil
	}
	o := slacknotify.Options{APIURL: apiURL, Logger: log, Webhooks: map[string]string{}}
	if !s.Token.IsZero() {
		token, err := s.Token.Resolve(e.getenv)
		if err != nil {
			return nil, &exitError{code: exitAborted, err: fmt.Errorf("slack token (%s): %w", s.Token, err)}
		}
		o.Token = token
	}
	for channel, ref := range s.Webhooks {
		url, err := ref.Resolve(e.getenv)
		if err != nil {
			return nil, &exitError{code: exitAborted, err: fmt.Errorf("slack webhook for %s (%s): %w", channel, ref, err)}
		}
		o.Webhooks[channel] = url
	}
	return slacknotify.New(o), nil
}

func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usageError("unknown --log-format %q (want text or json)", format)
}

// newRunID returns an id that is unique and sorts by time: 20261125T101500-3fa2c1.
func newRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
