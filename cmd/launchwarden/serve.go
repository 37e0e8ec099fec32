package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/launchwarden/launchwarden/cloud"
	slacknotify "github.com/launchwarden/launchwarden/notify/slack"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
	"github.com/launchwarden/launchwarden/statuspage"
)

// serveFlags are serve's flags: run's, without the one-shot ones (--format,
// --now, --timeout), plus the daemon's.
type serveFlags struct {
	reachFlags
	notify     string
	listen     string
	runTimeout time.Duration
	schedule   string
	runNow     bool
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.reachFlags.register(fs, ", re-read every run")
	fs.StringVar(&f.notify, "notify", "slack", "where digests go: slack, log (printed) or none (nothing is stopped or terminated)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`address` of the status pages and the /healthz, /readyz and /metrics server")
	fs.DurationVar(&f.runTimeout, "run-timeout", 10*time.Minute, "give up a run after this long")
	fs.StringVar(&f.schedule, "schedule", "", "cron `spec` that overrides the admin file's schedule (e.g. \"@every 1m\")")
	fs.BoolVar(&f.runNow, "run-now", false, "also run once at start")
}

// runServe runs reconcile runs on the admin file's cron schedule (UTC) until
// ctx is cancelled, and serves /healthz, /readyz, /metrics, the status
// pages (at /, from what the last run observed) and the digests' Extend
// buttons (POST /slack/interactions, see clicks). Runs never
// overlap: a run still going when the next is due makes that one skip. On
// cancellation (SIGTERM, SIGINT) it stops scheduling, lets a running run
// finish (bounded by --run-timeout), shuts the HTTP server down and returns
// nil.
func runServe(ctx context.Context, e env, args []string) error {
	var f serveFlags
	fs := newFlagSet(e, "serve", "", "Run on the admin file's cron schedule (UTC) and serve /healthz, /readyz, /metrics\n"+
		"and read-only status pages at / (they list instance ids: bind to loopback or put\n"+
		"them behind an authenticating proxy, or set [web] password_env in the admin file).\n"+
		"The config repo is re-read every run; if its admin file breaks, the last good config\n"+
		"keeps templates true and nothing is stopped or terminated until it is fixed.")
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usageError("serve takes no arguments, got %q", fs.Args())
	}
	if !slices.Contains([]string{"slack", "log", "none"}, f.notify) {
		return usageError("unknown --notify %q", f.notify)
	}
	if f.runTimeout <= 0 {
		return usageError("--run-timeout must be positive")
	}
	log, err := newLogger(e.stderr, f.logFormat)
	if err != nil {
		return err
	}
	s := newServer(ctx, f, e, log)
	if err := s.initSchedule(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listening for health and metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("POST /slack/interactions", s.clicks)
	mux.Handle("/", statuspage.Handler(s.pages, statuspage.Options{Now: e.now, Password: s.pagePassword, Logger: log}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "schedule", s.spec)

	cronLog := cronLogger{log}
	s.cron = cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cronLog))
	// One guarded job for every entry and for --run-now, so that they all
	// share one guard against overlapping.
	s.job = guarded(s.run, cronLog)
	s.entry = s.cron.Schedule(s.sched, s.job)
	s.cron.Start()
	var runNow sync.WaitGroup
	if f.runNow {
		runNow.Go(s.job.Run)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: waiting for a running run to finish")
	case serveErr = <-served:
		log.Error("health and metrics server failed", "err", serveErr)
	}
	<-s.cron.Stop().Done()
	runNow.Wait()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("health and metrics server did not shut down cleanly", "err", err)
	}
	s.clicks.pending.Wait() // clicks acknowledged but not yet answered
	if serveErr != nil {
		return fmt.Errorf("serving health and metrics: %w", serveErr)
	}
	log.Info("stopped")
	return nil
}

// server is the state of a serve process.
type server struct {
	flags   serveFlags
	env     env
	log     *slog.Logger
	metrics *metrics
	// pages keeps what the last run observed and planned for the status
	// pages.
	pages *statuspage.Store
	// clicks answers the Extend buttons of the digests (interactions.go).
	clicks *clicks
	// runCtx is the parent of every run's context. It is not cancelled by
	// a signal: a run in progress finishes its batch, bounded by its timeout.
	runCtx context.Context
	// types remembers instance types for every run of the process: a run
	// describes only the types no run has seen before.
	types *cloud.InstanceTypeCache
	// memory is what the process's runs remember where AWS holds nothing
	// of launchwarden's (see reconcile.Memory).
	memory *reconcile.Memory
	// pacer paces the EC2 requests of every run: a run that starts soon
	// after a busy one finds the buckets as that one left them.
	pacer *cloud.Pacer

	cron  *cron.Cron
	job   cron.Job
	entry cron.EntryID
	// good is the last config whose admin file loaded. Only runs touch it,
	// and runs never overlap.
	good *projects.Config

	mu          sync.Mutex
	spec        string
	sched       cron.Schedule
	lastSuccess time.Time
	lastResult  string
	// password is where the status pages' password is, from the last
	// admin file that loaded.
	password projects.SecretRef
}

// newServer returns the state of a serve process with flags f, before its
// schedule is set (initSchedule).
func newServer(ctx context.Context, f serveFlags, e env, log *slog.Logger) *server {
	s := &server{flags: f, env: e, log: log, metrics: newMetrics(), pages: statuspage.NewStore(),
		runCtx: context.WithoutCancel(ctx), types: &cloud.InstanceTypeCache{}, memory: &reconcile.Memory{}, pacer: cloud.NewPacer(),
		clicks: &clicks{log: log, now: e.now, getenv: e.getenv, verify: &slacknotify.Verifier{},
			replier: slacknotify.Replier{Hosts: responseHosts(f.slackAPIURL)}}}
	s.clicks.counted = func(outcome string) { s.metrics.clicks.WithLabelValues(outcome).Inc() }
	return s
}

// initSchedule sets the schedule from --schedule, else from the admin file,
// and the status pages' password from the admin file. An admin file that
// does not load yet (e.g. git-sync has not cloned the repo) is not fatal:
// the default schedule is used until it does, and the pages have no data
// to show before a run loads it.
func (s *server) initSchedule() error {
	cfg, problems := projects.Load(s.flags.config)
	if cfg.Admin != nil {
		s.password = cfg.Admin.Web.Password
		s.clicks.setSecret(cfg.Admin.Slack.SigningSecret)
		if cfg.Admin.Slack.SigningSecret.IsZero() {
			s.log.Info("no Slack signing secret in the admin file: /slack/interactions answers 404 and digests carry no Extend button")
		}
	}
	spec := s.flags.schedule
	if spec == "" {
		spec = projects.DefaultSchedule
		if cfg.Admin != nil {
			spec = cfg.Admin.Schedule
		} else {
			s.log.Warn("admin file does not load yet: using the default schedule until it does",
				"config", s.flags.config, "schedule", spec, "problems", len(problems))
		}
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return usageError("--schedule %q: %v", spec, err)
	}
	s.spec, s.sched = spec, sched
	return nil
}

// reschedule follows a schedule changed in the admin file, unless
// --schedule overrides it. The guarded job stays the same, so runs still
// never overlap.
func (s *server) reschedule(spec string, log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flags.schedule != "" || spec == s.spec {
		return
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil { // projects.Load validated it; keep the old one if not
		log.Error("cannot use the admin file's schedule", "schedule", spec, "err", err)
		return
	}
	s.cron.Remove(s.entry)
	s.entry = s.cron.Schedule(sched, s.job)
	log.Info("schedule changed", "from", s.spec, "to", spec)
	s.spec, s.sched = spec, sched
}

// run is one scheduled run. It never returns an error: the outcome is
// logged and counted, and the daemon carries on.
func (s *server) run() {
	start := time.Now()
	at := s.env.now() // the time the run plans at
	id := newRunID(at)
	log := s.log.With("run", id)
	ctx, cancel := context.WithTimeout(s.runCtx, s.flags.runTimeout)
	defer cancel()

	// A panic leaves result failed; cron.Recover, around run, logs it.
	result := resultFailed
	defer func() { s.finish(log, result, start); s.pages.Attempted(id, at, result) }()
	result = s.reconcile(ctx, log, at, id)
}

// finish records a run's outcome for /metrics and /readyz.
func (s *server) finish(log *slog.Logger, result string, start time.Time) {
	end := time.Now()
	s.metrics.observeRun(result, end.Sub(start), end)
	s.mu.Lock()
	s.lastResult = result
	if result == resultOK {
		s.lastSuccess = end
	}
	s.mu.Unlock()
	level := slog.LevelInfo
	if result != resultOK {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "run finished", "result", result, "duration", end.Sub(start).Round(time.Millisecond))
}

// reconcile loads, observes, plans and applies like `launchwarden run`, and
// returns the run's result. A run that observed the fleet is recorded for
// the status pages, with what it did.
func (s *server) reconcile(ctx context.Context, log *slog.Logger, now time.Time, id string) (result string) {
	stale := false
	var seen statuspage.Run
	// Clicks wait while the run observes, plans and applies, and are
	// then checked against what it used.
	var used *projects.Config
	var usedClients []*cloud.Client
	s.clicks.hold()
	defer func() { s.clicks.release(used, usedClients, seen.Observation) }()
	w := worker{
		config: s.flags.config, regions: splitList(s.flags.regions), endpointURL: s.flags.endpointURL, githubURL: s.flags.githubURL,
		log: log, getenv: s.env.getenv, onCall: s.metrics.observeAPICall, types: s.types, memory: s.memory, pacer: s.pacer,
		load: func(dir string) (cfg *projects.Config, problems projects.Problems) {
			cfg, problems, stale = s.load(dir, log)
			return cfg, problems
		},
		observed: func(cfg *projects.Config, obs *reconcile.Observation) { seen.Config, seen.Observation = cfg, obs },
	}
	plan, clients, cfg, err := w.plan(ctx, now, id)
	if err != nil {
		log.Error("run aborted: nothing done", "err", err)
		return resultAborted
	}
	used, usedClients = cfg, clients
	s.metrics.observePlan(plan)
	if stale {
		plan = plan.TemplatesOnly()
		log.Warn("config stale: applying template and security group changes only", "summary", plan.Summary())
	}
	seen.Plan, seen.Stale = plan, stale
	defer func() {
		seen.Result = result
		s.pages.Record(seen)
	}()
	if !plan.Enforce {
		log.Warn("safety.enforce is false: plan only, nothing applied")
		if stale {
			return resultStaleConfig
		}
		return resultOK
	}
	sender, err := newSender(s.flags.notify, cfg.Admin.Slack, s.flags.slackAPIURL, s.env, log)
	if err != nil {
		log.Error("run aborted: nothing done", "err", err)
		return resultAborted
	}
	// Apply adds the run id to its lines itself.
	rep, err := reconcile.Apply(ctx, plan, reconcile.Deps{Clients: clients, Sender: sender, Logger: s.log})
	seen.Report = rep
	if err != nil {
		log.Error("apply failed", "err", err)
		return resultFailed
	}
	s.metrics.observeApply(plan, rep)
	log.Info("applied", "stopped", len(rep.Stopped), "terminated", len(rep.Terminated), "held", rep.Held,
		"withheld", rep.Withheld, "undelivered", len(rep.Undelivered()), "frozen", len(rep.Frozen), "errors", len(rep.Errors))
	if rep.Held > 0 {
		log.Error("stop/terminate actions held back by safety.max_destructive_per_run", "held", rep.Held)
	}
	problems := rep.Problems()
	if len(problems) > 0 {
		log.Error("run found problems; the next run retries", "problems", strings.Join(problems, "; "), "err", rep.Err())
	}
	// The same order as run's exit codes.
	switch {
	case stale:
		return resultStaleConfig
	case rep.Held > 0:
		return resultHeld
	case len(problems) > 0:
		return resultFailed
	}
	return resultOK
}

// load reads the config repo. If its admin file fails to load, it logs the
// problems loudly and returns the last good config with stale set; without a
// good config yet, it returns the failed load, which aborts the run.
func (s *server) load(dir string, log *slog.Logger) (cfg *projects.Config, problems projects.Problems, stale bool) {
	cfg, problems = projects.Load(dir)
	if cfg.Admin != nil {
		s.metrics.configStale.Set(0)
		s.good = cfg
		s.mu.Lock()
		s.password = cfg.Admin.Web.Password
		s.mu.Unlock()
		s.clicks.setSecret(cfg.Admin.Slack.SigningSecret)
		s.reschedule(cfg.Admin.Schedule, log)
		return cfg, problems, false
	}
	s.metrics.configStale.Set(1)
	if s.good == nil {
		return cfg, problems, false
	}
	log.Error("admin file does not load: keeping the last good config, templates only, nothing stopped or terminated",
		"config", dir, "problems", len(problems))
	for _, p := range problems {
		log.Error("config problem", "problem", p.String())
	}
	return s.good, nil, true
}

// pagePassword returns the status pages' password ("" for none), read
// from where the last admin file that loaded says it is.
func (s *server) pagePassword() (string, error) {
	s.mu.Lock()
	ref := s.password
	s.mu.Unlock()
	if ref.IsZero() {
		return "", nil
	}
	pw, err := ref.Resolve(s.env.getenv)
	if err != nil {
		return "", fmt.Errorf("[web] password (%s): %w", ref, err)
	}
	return pw, nil
}

func (s *server) serveReady(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	last, result, sched := s.lastSuccess, s.lastResult, s.sched
	s.mu.Unlock()
	if err := readiness(last, sched, time.Now()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v (last run: %s)\n", err, cmp.Or(result, "none yet"))
		return
	}
	fmt.Fprintln(w, "ok")
}

// readiness returns nil if a run succeeded within two schedule periods of
// now, else why not. One failed or skipped run is tolerated; two in a row
// are not.
func readiness(lastSuccess time.Time, sched cron.Schedule, now time.Time) error {
	if lastSuccess.IsZero() {
		return errors.New("no successful run yet")
	}
	period := schedulePeriod(sched, now)
	if age := now.Sub(lastSuccess); age > 2*period {
		return fmt.Errorf("last successful run %s ago, more than two schedule periods (%s)", age.Round(time.Second), period)
	}
	return nil
}

// schedulePeriod is the time between the next two runs after t. For
// schedules with uneven gaps (e.g. weekdays only), it is the gap that
// follows t.
func schedulePeriod(sched cron.Schedule, t time.Time) time.Duration {
	next := sched.Next(t)
	return sched.Next(next).Sub(next)
}

// guarded wraps run so that it never overlaps itself and a panic is logged
// instead of ending the process: SkipIfStillRunning outside, Recover inside
// it, so that a run that panicked still releases the guard.
func guarded(run func(), log cron.Logger) cron.Job {
	return cron.NewChain(cron.SkipIfStillRunning(log), cron.Recover(log)).Then(cron.FuncJob(run))
}

// cronLogger adapts slog to cron.Logger. cron's informational lines (start,
// wake, run…) go to debug, except "skip": a run was due while the last one
// was still going, which admins should see.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	level := slog.LevelDebug
	if msg == "skip" {
		level, msg = slog.LevelWarn, "run skipped: the previous run is still going"
	}
	l.log.Log(context.Background(), level, msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error("cron: "+msg, append(keysAndValues, "err", err)...)
}

// responseHosts are the hosts besides Slack's that a click's response_url
// may name: the --slack-api-url test server's.
func responseHosts(apiURL string) []string {
	u, err := url.Parse(apiURL)
	if apiURL == "" || err != nil || u.Host == "" {
		return nil
	}
	return []string{u.Host}
}
