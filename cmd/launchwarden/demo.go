package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
	"github.com/launchwarden/launchwarden/statuspage"
)

// The demo's story is written for examples/config-repo: its account, its
// two regions and its three projects.
const (
	demoAccount    = "123456789012"
	demoEast       = "us-east-1"
	demoEurope     = "eu-central-1"
	demoSlackToken = "xoxb-demo-not-a-real-token"

	// Instances the story follows to the end.
	demoExtendedID = "i-00000000000000102" // packit extends it mid-week
	demoOrphanID   = "i-00000000000000901" // its project left the config
	demoUntaggedID = "i-00000000000000999" // not launchwarden's

	demoDay = 24 * time.Hour
)

// demoStart is a Monday morning: the first run, and time zero of the story.
var demoStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// demoSeed is an instance that exists before launchwarden's first run.
type demoSeed struct {
	id, region, project, template, typ, state string
	// born is when the instance was launched, stopped when a stopped one
	// was stopped, both relative to demoStart.
	born, stopped time.Duration
	tags          map[string]string // of an instance without a project
	note          string            // what the story shows with it
}

// demoFleet is the fleet at the start: a dozen instances of the three
// projects of different ages, one orphan and one that is not ours.
var demoFleet = []demoSeed{
	{id: "i-00000000000000101", region: demoEast, project: "packit", template: "fedora", typ: "t3.large", state: "running", born: -30 * time.Hour, note: "TTL 2d: warned, then stopped"},
	{id: demoExtendedID, region: demoEast, project: "packit", template: "fedora", typ: "t3.large", state: "running", born: -20 * time.Hour, note: "warned, then extended by a pull request"},
	{id: "i-0c1d2e3f4a5b6c7d8", region: demoEurope, project: "packit", template: "centos-stream", typ: "m6i.xlarge", state: "running", born: -5 * demoDay, note: "extended in the example packit.toml"},
	{id: "i-00000000000000104", region: demoEast, project: "packit", template: "fedora", typ: "t3.large", state: "stopped", born: -10 * demoDay, stopped: -8 * demoDay, note: "stopped for over 7d: terminated"},
	{id: "i-00000000000000105", region: demoEurope, project: "packit", template: "centos-stream", typ: "m6i.xlarge", state: "running", born: -2 * time.Hour, note: "TTL 2d: warned, then stopped"},
	{id: "i-00000000000000201", region: demoEast, project: "cockpit", template: "tasks", typ: "m7i.2xlarge", state: "running", born: -2 * time.Hour, note: "stop-only project: stopped, never terminated"},
	{id: "i-00000000000000202", region: demoEurope, project: "cockpit", template: "tasks", typ: "m7i.2xlarge", state: "stopped", born: -3 * demoDay, stopped: -2 * demoDay, note: "stop-only project: kept while stopped"},
	{id: "i-00000000000000301", region: demoEast, project: "osbuild", template: "builder-x86", typ: "c7i.8xlarge", state: "running", born: -time.Hour, note: "TTL 12h: warned, then terminated"},
	{id: "i-00000000000000302", region: demoEast, project: "osbuild", template: "small", typ: "t3.medium", state: "running", born: -14 * time.Hour, note: "expired before the first run: warned, then terminated"},
	{id: "i-00000000000000303", region: demoEurope, project: "osbuild", template: "small", typ: "t3.medium", state: "running", born: -6 * time.Hour, note: "TTL 12h: warned, then terminated"},
	{id: demoOrphanID, region: demoEurope, project: "fedora-infra", template: "builder", typ: "t3.xlarge", state: "running", born: -20 * demoDay, note: "orphan: terminated after the 7d grace"},
	{id: demoUntaggedID, region: demoEast, typ: "m6i.large", state: "running", born: -90 * demoDay, tags: map[string]string{"Name": "bastion", "team": "infra"}, note: "no launchwarden tags: never touched"},
}

// demoEvent is something people do between two runs.
type demoEvent struct {
	at time.Duration // after demoStart
	do func(ctx context.Context, d *demoWorld) ([]string, error)
}

// demoEvents is the story's script.
var demoEvents = []demoEvent{
	{at: 2*time.Hour + 30*time.Minute, do: func(ctx context.Context, d *demoWorld) ([]string, error) {
		return d.launch(ctx, "lbarcziova", "packit", "fedora", demoEast, 1)
	}},
	{at: 3 * time.Hour, do: func(ctx context.Context, d *demoWorld) ([]string, error) {
		return d.launchRefused(ctx, "nforro", "packit", "fedora", demoEast, "m5.large")
	}},
	{at: 20*time.Hour + 30*time.Minute, do: func(ctx context.Context, d *demoWorld) ([]string, error) {
		return d.extend("packit", demoExtendedID, demoStart.Add(10*demoDay+9*time.Hour), "reproducing a flaky mock build; needed until next week")
	}},
	{at: 37*time.Hour + 30*time.Minute, do: func(ctx context.Context, d *demoWorld) ([]string, error) {
		return d.click(ctx, "lbarcziova", "i-00000000000000105")
	}},
	{at: 47*time.Hour + 30*time.Minute, do: func(ctx context.Context, d *demoWorld) ([]string, error) {
		return d.launch(ctx, "supakeen", "osbuild", "builder-x86", demoEast, 4)
	}},
	{at: 48*time.Hour + 30*time.Minute, do: func(ctx context.Context, d *demoWorld) ([]string, error) {
		return d.launchRefused(ctx, "supakeen", "osbuild", "builder-x86", demoEast, "")
	}},
	{at: 50*time.Hour + 30*time.Minute, do: publishFedoraRefresh},
}

// demoOptions are the demo's flags.
type demoOptions struct {
	config string
	days   int
	step   time.Duration
	quiet  bool
	// serve, if set, is the loopback address to serve the status pages on
	// while the story runs and after it, until interrupted.
	serve string
	// pages, if set, receives every run for the status pages.
	pages *statuspage.Store
}

// demoResult is the state of the world when the story ends.
type demoResult struct {
	// Instances holds every instance of the account, by ID.
	Instances map[string]ec2sim.Instance
	// Templates lists the launch template names of each region.
	Templates map[string][]string
	// Launched are the instances maintainers launched from templates.
	Launched []string
	// Refused are the launch guard statements that refused maintainers'
	// launches, in the order of the story.
	Refused []string
	// Delivered are the digests Slack accepted, in the order of the runs.
	Delivered []notify.Digest
	// Messages are the messages the local Slack server received.
	Messages []slackMessage
	// Stopped and Terminated are the instances the runs acted on.
	Stopped, Terminated []string
	// Calls counts the emulator's calls by action.
	Calls map[string]int
}

// notices returns the notices of the delivered digests, in order.
func (r *demoResult) notices() []notify.Notice {
	var out []notify.Notice
	for _, d := range r.Delivered {
		out = append(out, d.Notices...)
	}
	return out
}

func runDemo(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "demo", "", "Walk a simulated fleet through a week of hourly runs, against an in-process\n"+
		"EC2 emulator, Slack server and GitHub keys server. Needs no AWS account, no\n"+
		"Slack workspace and no network, and changes nothing outside a temporary copy\n"+
		"of the config repo.")
	var o demoOptions
	fs.StringVar(&o.config, "config", "examples/config-repo", "the example config repo `dir`, copied before the story edits it")
	fs.IntVar(&o.days, "days", 7, "how many simulated `days` to walk")
	fs.DurationVar(&o.step, "step", time.Hour, "simulated time between two runs; only runs that did something are printed")
	fs.BoolVar(&o.quiet, "quiet", false, "print one line per eventful run and the final summary, without messages")
	fs.StringVar(&o.serve, "serve", "", "also serve the status pages on this loopback `address` (e.g. 127.0.0.1:8080), during the story and after it until interrupted")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError("demo takes no arguments, got %q", fs.Args())
	case o.days < 1:
		return usageError("--days must be at least 1")
	case o.step < time.Minute || o.step > demoDay:
		return usageError("--step must be between 1m and 24h")
	}
	if _, err := os.Stat(filepath.Join(o.config, projects.AdminFile)); err != nil {
		return usageError("no config repo at %s (%v): run the demo from the repository root, or pass --config path/to/examples/config-repo", o.config, err)
	}
	_, err := demo(ctx, o, e.stdout, e.stderr)
	return err
}

// demoWorld is everything the story runs against.
type demoWorld struct {
	out   io.Writer
	quiet bool
	dir   string // the temporary copy of the config repo
	sim   *ec2sim.Sim
	ec2   string // the emulator's URL
	slack *slackCapture
	run   worker
	notes map[string]string // instance ID → what the story shows with it
	res   *demoResult
	pages *demoPages // nil unless the status pages are kept
	// clicks answers the digests' Extend buttons; seen is what the last
	// run observed, which clicks are checked against.
	clicks *clicks
	seen   *reconcile.Observation
}

// demo tells the story and returns how it ended.
func demo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) (*demoResult, error) {
	tmp, err := os.MkdirTemp("", "launchwarden-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "config-repo")
	if err := os.CopyFS(dir, os.DirFS(o.config)); err != nil {
		return nil, fmt.Errorf("copying the config repo: %w", err)
	}
	cfg, problems := projects.Load(dir)
	if cfg.Admin == nil {
		return nil, fmt.Errorf("%s/%s is invalid: %v", o.config, projects.AdminFile, problems)
	}
	if err := checkStoryConfig(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w; the demo's story needs examples/config-repo", o.config, err)
	}

	sim := ec2sim.New(ec2sim.Options{
		Start: demoStart,
		// Terminated instances stay listed, so the final table shows them.
		TerminatedLinger: time.Duration(o.days+1) * demoDay,
	})
	ec2srv := httptest.NewServer(sim)
	defer ec2srv.Close()
	keys := httptest.NewServer(http.HandlerFunc(serveDemoKeys))
	defer keys.Close()
	slackSrv := newSlackCapture(slices.Sorted(maps.Keys(cfg.Admin.Slack.Webhooks)))
	defer slackSrv.Stop()

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	clients, err := connectDemo(ctx, ec2srv.URL, tmp, accountsOf(cfg.Admin, nil))
	if err != nil {
		return nil, err
	}
	getenv := slackSrv.getenv(cfg.Admin.Slack, cfg.Admin.State)
	d := &demoWorld{
		out: stdout, quiet: o.quiet, dir: dir, sim: sim, ec2: ec2srv.URL, slack: slackSrv,
		run:   worker{config: dir, githubURL: keys.URL, log: log, getenv: getenv, clients: clients},
		notes: map[string]string{},
		res:   &demoResult{},
	}
	sender, err := newSender("slack", cfg.Admin.Slack, slackSrv.GetAPIURL(), env{stdout: stdout, stderr: stderr, getenv: getenv}, log)
	if err != nil {
		return nil, err
	}

	if o.serve != "" && o.pages == nil {
		o.pages = statuspage.NewStore()
	}
	d.clicks = demoClicks(slackSrv, log, sim.Now)
	d.run.observed = func(cfg *projects.Config, obs *reconcile.Observation) { d.seen = obs }
	if o.pages != nil {
		d.pages = &demoPages{store: o.pages}
		d.run.observed = func(cfg *projects.Config, obs *reconcile.Observation) { d.seen = obs; d.pages.observed(cfg, obs) }
	}
	pagesURL := ""
	if o.serve != "" {
		url, stop, err := serveDemoPages(o.serve, o.pages, sim.Now, stderr)
		if err != nil {
			return nil, err
		}
		defer stop()
		pagesURL = url
		fmt.Fprintf(stdout, "Status pages: %s (each run of the story updates them)\n", url)
	}

	seedExampleCloud(sim)
	if err := attachDemoGuard(sim, cfg.Admin); err != nil {
		return nil, err
	}
	if err := d.seed(ctx); err != nil {
		return nil, err
	}
	d.intro(o)
	events := demoEvents
	end := demoStart.Add(time.Duration(o.days) * demoDay)
	for t := demoStart; !t.After(end); t = t.Add(o.step) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var happened []string
		for len(events) > 0 && !demoStart.Add(events[0].at).After(t) {
			at := demoStart.Add(events[0].at)
			sim.SetNow(at)
			lines, err := events[0].do(ctx, d)
			if err != nil {
				return nil, err
			}
			happened = append(happened, indentLines(at.Format("15:04")+"  ", lines)...)
			events = events[1:]
		}
		sim.SetNow(t)
		if err := d.step(ctx, t, happened, sender); err != nil {
			return nil, err
		}
	}
	d.finish(cfg)
	if pagesURL != "" {
		fmt.Fprintf(stdout, "\nThe status pages stay at %s until interrupted (Ctrl-C).\n", pagesURL)
		<-ctx.Done()
	}
	return d.res, nil
}

// checkStoryConfig reports what the story needs that cfg lacks.
func checkStoryConfig(cfg *projects.Config) error {
	for _, pt := range [][2]string{{"packit", "fedora"}, {"osbuild", "builder-x86"}, {"cockpit", "tasks"}} {
		if p := cfg.Project(pt[0]); p == nil || p.Template(pt[1]) == nil {
			return fmt.Errorf("no template %s in projects/%s.toml", pt[1], pt[0])
		}
	}
	for _, a := range cfg.Admin.AWS.Accounts {
		if a.ID == demoAccount && slices.Contains(a.Regions, demoEast) && slices.Contains(a.Regions, demoEurope) {
			return nil
		}
	}
	return fmt.Errorf("no account %s with regions %s and %s", demoAccount, demoEast, demoEurope)
}

// connectDemo connects to the emulator the way run connects to AWS,
// assuming each account's role. The SDK reads credentials from the
// environment while it loads its configuration, so fake ones are set only
// for that time, and no shared config or credentials file is read.
func connectDemo(ctx context.Context, endpoint, tmp string, accounts []cloud.Account) ([]*cloud.Client, error) {
	vars := map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDLAUNCHWARDENDEMO",
		"AWS_SECRET_ACCESS_KEY":       "demo-secret",
		"AWS_REGION":                  demoEast,
		"AWS_CONFIG_FILE":             filepath.Join(tmp, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(tmp, "no-aws-credentials"),
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_SESSION_TOKEN":           "",
	}
	for name, value := range vars {
		old, had := os.LookupEnv(name)
		if value == "" {
			os.Unsetenv(name)
		} else {
			os.Setenv(name, value)
		}
		defer func() {
			if had {
				os.Setenv(name, old)
			} else {
				os.Unsetenv(name)
			}
		}()
	}
	clients, err := cloud.Connect(ctx, cloud.ConnectOptions{EndpointURL: endpoint, Accounts: accounts, MaxAttempts: 2})
	if err != nil {
		return nil, fmt.Errorf("connecting to the emulator: %w", err)
	}
	return clients, nil
}

// seed creates the fleet as it is before the story's first run: the
// instances, and the launch templates they were launched from (EC2 marks
// each instance with its template's ID), as an earlier launchwarden made
// them: the first run brings them up to date, and keeps the one of a
// project that left the config while its orphan lives.
func (d *demoWorld) seed(ctx context.Context) error {
	clients := d.run.clients
	ltID := func(region, project, template string) (string, error) {
		name := reconcile.Name(project, template)
		for _, lt := range d.sim.LaunchTemplates(demoAccount, region) {
			if lt.Name == name {
				return lt.ID, nil
			}
		}
		for _, c := range clients {
			if c.Account == demoAccount && c.Region == region {
				lt, err := c.CreateTemplate(ctx, name, cloud.TemplateData{ImageID: demoFedora.in(region), RootDevice: demoFedora.root, InstanceType: "t3.xlarge"},
					map[string]string{cloud.TagManaged: "true", cloud.TagProject: project, cloud.TagTemplate: template})
				return lt.ID, err
			}
		}
		return "", fmt.Errorf("no client for %s", region)
	}
	for _, s := range demoFleet {
		tags := maps.Clone(s.tags)
		if s.project != "" {
			id, err := ltID(s.region, s.project, s.template)
			if err != nil {
				return err
			}
			tags = map[string]string{"aws:ec2launchtemplate:id": id, cloud.TagProject: s.project, cloud.TagTemplate: s.template}
		}
		launched := demoStart.Add(s.born)
		if s.state == ec2sim.StateStopped {
			// The emulator dates a seeded stop at the launch time.
			launched = demoStart.Add(s.stopped)
		}
		d.sim.Seed(ec2sim.SeedInstance{
			ID: s.id, ImageID: demoFedora.in(s.region), InstanceType: s.typ, State: s.state,
			LaunchTime: launched, AttachTime: demoStart.Add(s.born),
			Tags: tags, Account: demoAccount, Region: s.region,
		})
		d.notes[s.id] = s.note
	}
	d.sim.ResetCalls() // the story counts the calls of its own runs
	return nil
}

func (d *demoWorld) intro(o demoOptions) {
	every := strings.TrimSuffix(o.step.String(), "0s") // 1h0m0s → 1h0m
	if strings.HasSuffix(every, "h0m") {
		every = strings.TrimSuffix(every, "0m")
	}
	fmt.Fprintf(d.out, "launchwarden demo: %d days of runs every %s, with the config repo %s\n", o.days, every, o.config)
	fmt.Fprintln(d.out, "EC2 (the ec2sim emulator), Slack (slacktest) and GitHub's keys run in-process on loopback.")
	fmt.Fprintf(d.out, "Fleet before the first run: %d instances in %s and %s (account %s)\n", len(demoFleet), demoEast, demoEurope, demoAccount)
	if !d.quiet {
		for _, s := range demoFleet {
			owner := s.project + "/" + s.template
			if s.project == "" {
				owner = "(untagged)"
			}
			when := "launched " + strings.TrimPrefix(sinceStart(demoStart.Add(s.born)), "-") + " ago"
			if s.state == ec2sim.StateStopped {
				when = "stopped " + strings.TrimPrefix(sinceStart(demoStart.Add(s.stopped)), "-") + " ago"
			}
			fmt.Fprintf(d.out, "  %s  %-12s %-22s %-11s %-7s %s\n", s.id, s.region, owner, s.typ, s.state, when)
		}
	}
	fmt.Fprintln(d.out, "Only runs that did something are shown.")
}

// step makes one run at t: observe, plan, apply, and print what happened.
func (d *demoWorld) step(ctx context.Context, t time.Time, happened []string, sender notify.Sender) error {
	runID := t.Format("20060102T150405") + "-demo"
	// Clicks wait for the run, then are checked against what it used.
	d.clicks.hold()
	d.seen = nil
	plan, clients, cfg, err := d.run.plan(ctx, t, runID)
	defer d.clicks.release(cfg, clients, d.seen)
	if err != nil {
		return err
	}
	rep := &reconcile.Report{}
	if plan.Enforce {
		if rep, err = reconcile.Apply(ctx, plan, reconcile.Deps{Clients: clients, Sender: sender, Logger: d.run.log}); err != nil {
			return err
		}
	}
	d.pages.record(plan, rep)
	msgs := d.slack.take()
	for _, r := range rep.Deliveries {
		if r.Err == nil {
			d.res.Delivered = append(d.res.Delivered, r.Digest)
		}
	}
	d.res.Messages = append(d.res.Messages, msgs...)
	d.res.Stopped = append(d.res.Stopped, rep.Stopped...)
	d.res.Terminated = append(d.res.Terminated, rep.Terminated...)

	actions := planActions(plan)
	if len(rep.Stopped) > 0 {
		actions = append(actions, "stopped "+strings.Join(rep.Stopped, ", "))
	}
	if len(rep.Terminated) > 0 {
		actions = append(actions, "terminated "+strings.Join(rep.Terminated, ", "))
	}
	for _, err := range rep.Errors {
		actions = append(actions, "failed: "+err.Error())
	}
	if !plan.Enforce {
		actions = append(actions, "safety.enforce = false: nothing applied")
	}
	if len(happened) == 0 && len(actions) == 0 && len(rep.Deliveries) == 0 {
		return nil
	}

	fmt.Fprintf(d.out, "\n── %s (%s) ──\n", t.Format("Mon 02 Jan 15:04 MST"), sinceStart(t))
	d.print(happened)
	fmt.Fprintln(d.out, "run    "+plan.Summary())
	if d.quiet {
		return nil
	}
	d.print(indentLines("       ", actions))
	for _, m := range orderMessages(rep, msgs) {
		fmt.Fprintf(d.out, "slack  %s via %s\n", m.Channel, m.Via)
		for _, l := range messageLines(m.Text) {
			fmt.Fprintln(d.out, "       │ "+l)
		}
	}
	return nil
}

// launch is a maintainer launching instances the way the provisioning
// service does: from the project's launch template, default version, as the
// launching role (which carries the launch guard), with the SDK and nothing
// else. The instances carry the project's tags because the template says so.
func (d *demoWorld) launch(ctx context.Context, who, project, template, region string, count int32) ([]string, error) {
	name := reconcile.Name(project, template)
	out, err := d.launchClient(region).RunInstances(ctx, &ec2.RunInstancesInput{
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String(name), Version: aws.String("$Default")},
		MinCount:       aws.Int32(count),
		MaxCount:       aws.Int32(count),
	})
	if err != nil {
		return nil, fmt.Errorf("%s launching from %s: %w", who, name, err)
	}
	var ids []string
	for _, in := range out.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	first := out.Instances[0]
	var tags []string
	for _, t := range first.Tags {
		if k := aws.ToString(t.Key); !strings.HasPrefix(k, "aws:") {
			tags = append(tags, k+"="+aws.ToString(t.Value))
		}
	}
	slices.Sort(tags)

	what := "an instance"
	if count > 1 {
		what = fmt.Sprintf("%d instances", count)
	}
	for _, id := range ids {
		d.notes[id] = fmt.Sprintf("launched from %s by %s", name, who)
	}
	d.res.Launched = append(d.res.Launched, ids...)
	return []string{
		fmt.Sprintf("%s (%s) launches %s in %s from launch template %s, version $Default", who, project, what, region, name),
		fmt.Sprintf("→ %s, a %s tagged %s", strings.Join(ids, ", "), first.InstanceType, strings.Join(tags, " ")),
	}, nil
}

// plainBodyDoer hides the request body's WriteTo, as cloud.Connect does for
// launchwarden's own clients: otherwise net/http may drop the response to a
// request the emulator served, and the SDK retries it. EC2 deduplicates a
// retried RunInstances by its ClientToken; the emulator does not, and would
// launch the instances twice.
type plainBodyDoer struct{ next *http.Client }

func (c plainBodyDoer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = struct{ io.ReadCloser }{req.Body}
	}
	return c.next.Do(req)
}

// extend is a team's pull request that adds an [[extensions]] entry to its
// project file.
func (d *demoWorld) extend(project, id string, until time.Time, reason string) ([]string, error) {
	entry := fmt.Sprintf("\n[[extensions]]\ninstance = %q\nuntil = %s\nreason = %q\n", id, until.UTC().Format(time.RFC3339), reason)
	file := filepath.Join(d.dir, projects.ProjectsDir, project+".toml")
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, append(text, entry...), 0o644); err != nil {
		return nil, err
	}
	d.notes[id] += fmt.Sprintf(" (until %s)", notify.FormatTime(until))
	lines := []string{fmt.Sprintf("%s merges a pull request that keeps %s longer; projects/%s.toml gets:", project, id, project)}
	return append(lines, indentLines("    ", strings.Split(strings.TrimSpace(entry), "\n"))...), nil
}
