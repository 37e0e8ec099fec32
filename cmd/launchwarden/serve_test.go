package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/robfig/cron/v3"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
)

// These tests run serve in-process against the EC2 emulator over loopback
// HTTP, with a config repo in a temp dir and a local GitHub keys server, and
// watch it through its own /metrics, /healthz and /readyz.

const serveAdminTOML = `schedule = "@every 1h"

[aws]
[[aws.accounts]]
name = "test"
id = "123456789012"
regions = ["us-east-1"]
vpc_id = "vpc-0123456789abcdef0"

[slack]
admin_channel = "#lw-admins"
token_env = "LW_TEST_SLACK_TOKEN"

[defaults.lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"

[caps]
max_instances = 10
max_vcpus = 64
allowed_instance_types = ["t3.*"]
min_notice = "2h"

[safety]
max_destructive_per_run = 20
enforce = true
` + testenv.StateTOML

const servePackitTOML = `owners = ["alice"]

[slack]
channel = "#packit"

[limits]
max_instances = 5

[[templates]]
name = "fedora"
image = "ami-0123456789abcdef0"
instance_type = "t3.micro"
volume_gib = 20
ssh_from = ["10.0.0.0/8"]
`

// serveEnv is an emulator, a keys server and a config repo, with the AWS
// SDK kept away from the host's configuration.
type serveEnv struct {
	sim      *ec2sim.Sim
	endpoint string
	keysURL  string
	dir      string
	// clock, if set, is serve's clock (env.clock), e.g. the emulator's.
	clock func() time.Time
}

func newServeEnv(t *testing.T) *serveEnv {
	t.Helper()
	sim, endpoint, keysURL := startEmulator(t, time.Now().UTC().Truncate(time.Second))
	dir := testenv.WriteRepo(t, "", map[string]string{"launchwarden.toml": serveAdminTOML, "projects/packit.toml": servePackitTOML})
	return &serveEnv{sim: sim, endpoint: endpoint, keysURL: keysURL, dir: dir}
}

// writeAdmin replaces the admin file atomically, as git-sync does.
func (se *serveEnv) writeAdmin(t *testing.T, text string) {
	t.Helper()
	tmp := filepath.Join(se.dir, ".launchwarden.toml.new")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(se.dir, "launchwarden.toml")); err != nil {
		t.Fatal(err)
	}
}

func (se *serveEnv) templates() []string {
	var names []string
	for _, lt := range se.sim.LaunchTemplates(serveAccount, serveRegion) {
		names = append(names, lt.Name)
	}
	return names
}

func (se *serveEnv) state(id string) string {
	for _, in := range se.sim.Instances(serveAccount, serveRegion) {
		if in.ID == id {
			return in.State
		}
	}
	return "gone"
}

// serving is a runServe running in the background.
type serving struct {
	url    string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

var servingAddr = regexp.MustCompile(`msg=serving addr=(http://\S+)`)

// startServe runs serve with the env's emulator, keys server and repo, plus
// args, and waits until it listens.
func startServe(t *testing.T, se *serveEnv, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	e := env{stdout: &syncBuffer{}, stderr: s.stderr, getenv: os.Getenv, clock: se.clock}
	args = append([]string{
		"--config", se.dir, "--endpoint-url", se.endpoint, "--github-url", se.keysURL,
		"--notify", "log", "--listen", "127.0.0.1:0",
	}, args...)
	go func() { s.done <- runServe(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	waitFor(t, "serve to listen", s.stderr, func() bool {
		if m := servingAddr.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = m[1]
			return true
		}
		return false
	})
	return s
}

// stop cancels serve's context, as SIGTERM does, and returns what runServe
// returned.
func (s *serving) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("runServe did not return after cancel; log:\n%s", s.stderr)
		return nil
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
// The deadline only catches a hang: it is far above what the slowest wait
// (the demo's whole story, under the race detector on a loaded 2-CPU
// machine, once past 20 s) takes.
func waitFor(t *testing.T, what string, log *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; log:\n%s", what, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *serving) get(t *testing.T, p string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.url + p)
	if err != nil {
		t.Fatalf("GET %s: %v", p, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", p, err)
	}
	return resp.StatusCode, string(body)
}

// metrics scrapes /metrics into series → value.
func (s *serving) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	code, body := s.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	return parseMetrics(t, body)
}

// parseMetrics reads the Prometheus text format into a map from series, as
// printed (`name{label="value",…}`), to value.
func parseMetrics(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// pick returns the values of the given series (0 when absent).
func pick(m map[string]float64, series ...string) map[string]float64 {
	out := make(map[string]float64, len(series))
	for _, s := range series {
		out[s] = m[s]
	}
	return out
}

func TestServeRunsOnScheduleAndKeepsLastGoodConfig(t *testing.T) {
	se := newServeEnv(t)
	s := startServe(t, se, "--schedule", "@every 1s", "--run-now")
	waitFor(t, "the template", s.stderr, func() bool { return len(se.templates()) == 1 })
	var fleet []string
	for range 2 { // launched from the template the first run made
		fleet = append(fleet, se.sim.Seed(ec2sim.SeedInstance{InstanceType: "t3.micro", Tags: testenv.Launched(se.templateID(t), "", "packit", "fedora", nil)}))
	}

	// Runs happen on the schedule and succeed.
	var m map[string]float64
	waitFor(t, "two ok runs that see the fleet", s.stderr, func() bool {
		m = s.metrics(t)
		return m[`launchwarden_runs_total{result="ok"}`] >= 2 && m[`launchwarden_instances{project="packit",state="running"}`] == 2
	})
	okRuns := m[`launchwarden_runs_total{result="ok"}`]
	if got := m[`launchwarden_aws_api_calls_total{action="DescribeInstances",code=""}`]; got < okRuns {
		t.Errorf("%v DescribeInstances calls counted for %v runs", got, okRuns)
	}
	want := map[string]float64{
		`launchwarden_runs_total{result="failed"}`:                                0,
		`launchwarden_runs_total{result="aborted"}`:                               0,
		`launchwarden_runs_total{result="held"}`:                                  0,
		`launchwarden_runs_total{result="stale_config"}`:                          0,
		`launchwarden_aws_api_calls_total{action="CreateLaunchTemplate",code=""}`: 1,
		`launchwarden_aws_api_calls_total{action="CreateSecurityGroup",code=""}`:  1,
		`launchwarden_actions_total{kind="template_create",project="packit"}`:     1,
		`launchwarden_actions_total{kind="group_create",project="packit"}`:        1,
		`launchwarden_instances{project="packit",state="running"}`:                2,
		`launchwarden_quota_usage{project="packit",resource="instances"}`:         2,
		`launchwarden_quota_limit{project="packit",resource="instances"}`:         5,
		`launchwarden_config_stale`:                                               0,
		`launchwarden_projects_frozen`:                                            0,
	}
	if diff := cmp.Diff(want, pick(m, keys(want)...)); diff != "" {
		t.Errorf("metrics after two ok runs (-want +got):\n%s", diff)
	}
	if m[`launchwarden_last_run_success_timestamp_seconds`] <= 0 {
		t.Error("no last success timestamp")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := s.get(t, p); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if diff := cmp.Diff([]string{"lw-packit-fedora"}, se.templates()); diff != "" {
		t.Errorf("launch templates (-want +got):\n%s", diff)
	}

	// The admin file breaks, and someone deletes the template by hand. Runs
	// keep the last good config's templates true and destroy nothing, not
	// even an instance whose stop is due.
	se.writeAdmin(t, strings.Replace(serveAdminTOML, "enforce = true", `enforce = "yes"`, 1))
	c := connectTest(t, se)
	if err := c.DeleteTemplate(t.Context(), se.sim.LaunchTemplates(serveAccount, serveRegion)[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a stale-config run", s.stderr, func() bool {
		return s.metrics(t)[`launchwarden_runs_total{result="stale_config"}`] >= 1
	})
	doomed := seedDue(t, se)
	stale := s.metrics(t)[`launchwarden_runs_total{result="stale_config"}`]
	waitFor(t, "two more stale-config runs and readiness lost", s.stderr, func() bool {
		code, _ := s.get(t, "/readyz")
		return s.metrics(t)[`launchwarden_runs_total{result="stale_config"}`] >= stale+2 && code == http.StatusServiceUnavailable
	})
	m = s.metrics(t)
	want = map[string]float64{
		`launchwarden_config_stale`: 1,
		`launchwarden_actions_total{kind="template_create",project="packit"}`: 2,
		`launchwarden_actions_total{kind="stop",project="packit"}`:            0,
		// The fleet's template was deleted by hand, and with it what made
		// the fleet ours (aws:ec2launchtemplate:id): only the doomed one,
		// launched from the recreated template, counts.
		`launchwarden_instances{project="packit",state="running"}`: 1,
	}
	if diff := cmp.Diff(want, pick(m, keys(want)...)); diff != "" {
		t.Errorf("metrics with a broken admin file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"lw-packit-fedora"}, se.templates()); diff != "" {
		t.Errorf("launch templates with a broken admin file (-want +got):\n%s", diff)
	}
	for _, id := range append(fleet, doomed) {
		if st := se.state(id); st != "running" {
			t.Errorf("%s is %s with a broken admin file, want running", id, st)
		}
	}
	if !strings.Contains(s.stderr.String(), `level=ERROR msg="admin file does not load`) {
		t.Errorf("no error logged for the broken admin file; log:\n%s", s.stderr)
	}

	// Fixed, the config is current again: the due stop happens.
	se.writeAdmin(t, serveAdminTOML)
	waitFor(t, "the due stop", s.stderr, func() bool {
		return s.metrics(t)[`launchwarden_actions_total{kind="stop",project="packit"}`] == 1
	})
	if st := se.state(doomed); st == "running" {
		t.Errorf("%s is still running after the fix", doomed)
	}
	waitFor(t, "readiness regained", s.stderr, func() bool {
		code, _ := s.get(t, "/readyz")
		return code == http.StatusOK
	})
	if got := s.metrics(t)[`launchwarden_config_stale`]; got != 0 {
		t.Errorf("launchwarden_config_stale = %v after the fix, want 0", got)
	}

	if err := s.stop(t); err != nil {
		t.Errorf("runServe after cancel = %v, want nil", err)
	}
	if _, err := http.Get(s.url + "/healthz"); err == nil {
		t.Error("still serving after runServe returned")
	}
}

func keys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func connectTest(t *testing.T, se *serveEnv) *cloud.Client {
	t.Helper()
	return testenv.Connect(t, se.endpoint, 0)[0]
}

func TestServeLetsARunningRunFinishOnSignal(t *testing.T) {
	se := newServeEnv(t)
	se.sim.SetLatency(400 * time.Millisecond)
	s := startServe(t, se, "--schedule", "@every 1s")

	// The first run is slow enough that the next tick finds it running, and
	// the signal comes before it wrote anything.
	waitFor(t, "a skipped run", s.stderr, func() bool {
		return strings.Contains(s.stderr.String(), "run skipped")
	})
	if got := se.templates(); len(got) > 0 {
		t.Fatalf("the run wrote templates %v before the signal: the emulator is not slow enough for this test", got)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("runServe after cancel = %v, want nil", err)
	}

	log := s.stderr.String()
	finished := regexp.MustCompile(`msg="run finished" run=\S+ result=(\w+)`).FindAllStringSubmatch(log, -1)
	var results []string
	for _, f := range finished {
		results = append(results, f[1])
	}
	if diff := cmp.Diff([]string{resultOK}, results); diff != "" {
		t.Errorf("runs finished before runServe returned (-want +got):\n%s\nlog:\n%s", diff, log)
	}
	if diff := cmp.Diff([]string{"lw-packit-fedora"}, se.templates()); diff != "" {
		t.Errorf("launch templates after the interrupted run (-want +got):\n%s", diff)
	}
}

func TestServeFollowsTheAdminFileSchedule(t *testing.T) {
	se := newServeEnv(t)
	every1s := strings.Replace(serveAdminTOML, `schedule = "@every 1h"`, `schedule = "@every 1s"`, 1)
	se.writeAdmin(t, every1s)
	s := startServe(t, se) // no --schedule
	if !strings.Contains(s.stderr.String(), `schedule="@every 1s"`) {
		t.Errorf("serve did not start on the admin file's schedule; log:\n%s", s.stderr)
	}
	waitFor(t, "a run", s.stderr, func() bool {
		return s.metrics(t)[`launchwarden_runs_total{result="ok"}`] >= 1
	})

	se.writeAdmin(t, strings.Replace(serveAdminTOML, `schedule = "@every 1h"`, `schedule = "@hourly"`, 1))
	waitFor(t, "the new schedule", s.stderr, func() bool {
		return strings.Contains(s.stderr.String(), `msg="schedule changed" run=`)
	})
	if !regexp.MustCompile(`msg="schedule changed" run=\S+ from="@every 1s" to=@hourly`).MatchString(s.stderr.String()) {
		t.Errorf("schedule change not logged as from @every 1s to @hourly; log:\n%s", s.stderr)
	}
}

// seedDue seeds an instance of packit whose stop is due: it expired two
// days ago and its stop notice was delivered long enough ago.
func seedDue(t *testing.T, se *serveEnv) string {
	now := time.Now().UTC()
	return se.sim.Seed(ec2sim.SeedInstance{
		InstanceType: "t3.micro",
		LaunchTime:   now.Add(-72 * time.Hour),
		AttachTime:   now.Add(-72 * time.Hour),
		Tags: testenv.Launched(se.templateID(t), "", "packit", "fedora",
			map[string]string{cloud.TagNotice: announced("stop", "packit", now.Add(-time.Hour))}),
	})
}

// templateID returns the ID of packit's template "fedora" (see templateID).
func (se *serveEnv) templateID(t *testing.T) string {
	return templateID(t, se.sim, se.dir, se.endpoint, se.keysURL, serveAccount, serveRegion, "packit", "fedora")
}

func TestServeCountsRunsThatDoNotSucceed(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, se *serveEnv)
		// until is the series that must reach 1; want are checked then.
		until string
		want  map[string]float64
	}{
		{
			name: "no config yet",
			setup: func(t *testing.T, se *serveEnv) {
				if err := os.Remove(filepath.Join(se.dir, "launchwarden.toml")); err != nil {
					t.Fatal(err)
				}
			},
			until: `launchwarden_runs_total{result="aborted"}`,
			want:  map[string]float64{`launchwarden_config_stale`: 1, `launchwarden_runs_total{result="ok"}`: 0},
		},
		{
			name: "failed operation",
			setup: func(t *testing.T, se *serveEnv) {
				se.sim.InjectFault("CreateLaunchTemplate", ec2sim.Fault{Code: "UnauthorizedOperation", Times: 1000})
			},
			until: `launchwarden_runs_total{result="failed"}`,
			want:  map[string]float64{`launchwarden_aws_api_calls_total{action="CreateLaunchTemplate",code="UnauthorizedOperation"}`: 1},
		},
		{
			name: "held by the safety cap",
			setup: func(t *testing.T, se *serveEnv) {
				se.writeAdmin(t, strings.Replace(serveAdminTOML, "max_destructive_per_run = 20", "max_destructive_per_run = 1", 1))
				seedDue(t, se)
				seedDue(t, se)
			},
			until: `launchwarden_runs_total{result="held"}`,
			want:  map[string]float64{`launchwarden_actions_total{kind="stop",project="packit"}`: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := newServeEnv(t)
			tt.setup(t, se)
			s := startServe(t, se, "--schedule", "@every 1h", "--run-now")
			var m map[string]float64
			waitFor(t, tt.until, s.stderr, func() bool {
				m = s.metrics(t)
				return m[tt.until] >= 1
			})
			want := maps.Clone(tt.want)
			want[tt.until] = 1
			if diff := cmp.Diff(want, pick(m, keys(want)...)); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
			code, body := s.get(t, "/readyz")
			if code != http.StatusServiceUnavailable || !strings.Contains(body, "no successful run yet") {
				t.Errorf("GET /readyz: %d %q, want 503: no successful run yet", code, body)
			}
			if code, _ := s.get(t, "/healthz"); code != http.StatusOK {
				t.Errorf("GET /healthz: %d, want 200", code)
			}
		})
	}
}

func TestServeUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "help", args: []string{"--help"}, wantCode: exitOK},
		{name: "argument", args: []string{"now"}, wantCode: exitUsage},
		{name: "unknown notify", args: []string{"--notify", "email"}, wantCode: exitUsage},
		{name: "bad schedule", args: []string{"--schedule", "every hour"}, wantCode: exitUsage},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, append([]string{"serve", "--listen", "127.0.0.1:0"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
		})
	}
}

func TestSchedulePeriod(t *testing.T) {
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		spec string
		at   time.Time
		want time.Duration
	}{
		{"@every 1s", friday, time.Second},
		{"@every 15m", friday, 15 * time.Minute},
		{"*/15 * * * *", friday, 15 * time.Minute},
		{"@hourly", friday, time.Hour},
		{"@daily", friday, 24 * time.Hour},
		// Weekdays at 9: after Friday's run, Monday's and Tuesday's are next.
		{"0 9 * * 1-5", friday, 24 * time.Hour},
		// Before Friday's run, Friday's and Monday's.
		{"0 9 * * 1-5", friday.Add(-2 * time.Hour), 72 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" at "+tt.at.Format(time.Kitchen), func(t *testing.T) {
			sched, err := cron.ParseStandard(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := schedulePeriod(sched, tt.at); got != tt.want {
				t.Errorf("schedulePeriod = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 7, 0, 0, time.UTC)
	sched, err := cron.ParseStandard("*/15 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		lastSuccess time.Time
		wantReady   bool
	}{
		{name: "no run yet", wantReady: false},
		{name: "last period", lastSuccess: now.Add(-7 * time.Minute), wantReady: true},
		{name: "one run missed", lastSuccess: now.Add(-22 * time.Minute), wantReady: true},
		{name: "exactly two periods", lastSuccess: now.Add(-30 * time.Minute), wantReady: true},
		{name: "two runs missed", lastSuccess: now.Add(-37 * time.Minute), wantReady: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readiness(tt.lastSuccess, sched, now)
			if got := err == nil; got != tt.wantReady {
				t.Errorf("readiness = %v, want ready %v", err, tt.wantReady)
			}
		})
	}
}

func TestGuardedRunsNeverOverlapAndSurvivePanics(t *testing.T) {
	var logs syncBuffer
	log := cronLogger{slog.New(slog.NewTextHandler(&logs, nil))}
	started, release := make(chan struct{}), make(chan struct{})
	runs := 0
	job := guarded(func() {
		runs++
		switch runs {
		case 1:
			panic("boom")
		case 2:
			close(started)
			<-release
		}
	}, log)

	job.Run() // panics inside, recovered
	done := make(chan struct{})
	go func() {
		job.Run() // the guard was released: this one runs, and blocks
		close(done)
	}()
	<-started
	job.Run() // skipped: the second run is still going
	close(release)
	<-done
	job.Run() // runs again

	if runs != 3 {
		t.Errorf("%d runs, want 3 (the skipped one does not run)", runs)
	}
	for _, want := range []string{`level=ERROR msg="cron: panic"`, `level=WARN msg="run skipped: the previous run is still going"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}
