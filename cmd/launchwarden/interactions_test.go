package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/notify"
	slacknotify "github.com/launchwarden/launchwarden/notify/slack"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// These tests click Extend buttons the way Slack delivers the clicks:
// form-encoded payloads signed with the signing secret (v0 HMAC-SHA256 of
// "v0:<timestamp>:<body>"), against the EC2 emulator through the real SDK,
// with the answers caught at a local response_url.

const (
	clickSecretEnv = "LW_TEST_SLACK_SIGNING_SECRET"
	clickSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	clickRun       = "20261125T060000-7f3a" // the digest's run: an hour before the clock
)

var clickStart = time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)

const clickAdminTOML = `[[aws.accounts]]
name = "test"
id = "123456789012"
regions = ["us-east-1"]
vpc_id = "vpc-0123456789abcdef0"

[slack]
admin_channel = "#lw-admins"
token_env = "LW_TEST_SLACK_TOKEN"
signing_secret_env = "` + clickSecretEnv + `"

[defaults.lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"

[caps]
allowed_instance_types = ["t3.*"]
min_notice = "2h"
max_ttl = "7d"
max_lifetime = "10d"
button_extend = "1d"

[safety]
enforce = true
` + testenv.StateTOML

const clickTemplateTOML = `
[[templates]]
name = "fedora"
image = "ami-0123456789abcdef0"
instance_type = "t3.micro"
volume_gib = 20
ssh_from = ["10.0.0.0/8"]
`

// clickEnv is an emulator with packit's and cockpit's instances, a clicks
// handler that has seen one run, and a response_url server.
type clickEnv struct {
	sim      *ec2sim.Sim
	endpoint string
	dir      string
	ids      map[string]string // what each instance is for → its id
	handler  *httptest.Server
	clicks   *clicks
	answers  chan string
	// responseURL is the response_url the clicks carry.
	responseURL string
	triggers    int
}

func newClickEnv(t *testing.T) *clickEnv {
	t.Helper()
	sim, endpoint, keysURL := startEmulator(t, clickStart)
	t.Setenv(clickSecretEnv, clickSecret)
	dir := testenv.WriteRepo(t, "", map[string]string{
		"launchwarden.toml":     clickAdminTOML,
		"projects/packit.toml":  "owners = [\"alice\"]\n\n[slack]\nchannel = \"#packit\"\n" + clickTemplateTOML,
		"projects/cockpit.toml": "owners = [\"bob\"]\n\n[slack]\nchannel = \"C0COCKPIT1\"\n" + clickTemplateTOML,
	})
	ce := &clickEnv{sim: sim, endpoint: endpoint, dir: dir, ids: map[string]string{}, answers: make(chan string, 16)}
	lt := templateID(t, sim, dir, endpoint, keysURL, serveAccount, serveRegion, "packit", "fedora")
	seed := func(what, id string, born time.Time, state string, tags map[string]string) {
		ce.ids[what] = id
		sim.Seed(ec2sim.SeedInstance{ID: id, ImageID: testenv.Image, InstanceType: "t3.micro", State: state,
			LaunchTime: born, AttachTime: born, Account: serveAccount, Region: serveRegion, Tags: tags})
	}
	warned := "stop@2026-11-25T06:00:01Z p=packit r=" + clickRun
	born := clickStart.Add(-20 * time.Hour) // ttl 1d: expires in 4h, warned by the digest of clickRun
	seed("valid", "i-00000000000000001", born, "running", testenv.Launched(lt, "i-00000000000000001", "packit", "fedora", map[string]string{cloud.TagNotice: warned}))
	seed("foreign", "i-00000000000000002", born, "running", map[string]string{cloud.TagProject: "packit", cloud.TagTemplate: "fedora"})
	seed("terminated", "i-00000000000000003", born, "terminated", testenv.Launched(lt, "i-00000000000000003", "packit", "fedora", nil))
	old := clickStart.Add(-10*24*time.Hour + time.Hour) // at its 10d max lifetime in an hour
	seed("capped", "i-00000000000000004", old, "running", testenv.Launched(lt, "i-00000000000000004", "packit", "fedora",
		map[string]string{cloud.TagExpiresAt: old.Add(10 * 24 * time.Hour).Format(time.RFC3339)}))
	seed("entry", "i-00000000000000005", born, "running", testenv.Launched(lt, "i-00000000000000005", "packit", "fedora", nil))
	newer := "stop@2026-11-25T06:30:00Z p=packit r=20261125T063000-0b1c"
	seed("stale", "i-00000000000000006", born, "running", testenv.Launched(lt, "i-00000000000000006", "packit", "fedora", map[string]string{cloud.TagNotice: newer}))
	if err := os.WriteFile(dir+"/projects/packit.toml", []byte("owners = [\"alice\"]\n\n[slack]\nchannel = \"#packit\"\n"+clickTemplateTOML+
		"\n[[extensions]]\ninstance = \"i-00000000000000005\"\nuntil = 2026-11-27T00:00:00Z\nreason = \"release testing\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The response_url: Slack's hooks, here a local server.
	var mu sync.Mutex
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ResponseType    string `json:"response_type"`
			ReplaceOriginal bool   `json:"replace_original"`
			Text            string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.ResponseType != "ephemeral" || m.ReplaceOriginal {
			t.Errorf("answer is not an ephemeral message leaving the digest alone: %+v (%v)", m, err)
		}
		mu.Lock()
		defer mu.Unlock()
		ce.answers <- m.Text
	}))
	t.Cleanup(hooks.Close)
	hooksURL, _ := url.Parse(hooks.URL)

	ce.clicks = &clicks{
		log: slog.New(slog.DiscardHandler), now: sim.Now, getenv: os.Getenv,
		verify:  &slacknotify.Verifier{},
		replier: slacknotify.Replier{Hosts: []string{hooksURL.Host}},
	}
	ce.clicks.setSecret(projects.SecretRef{Env: clickSecretEnv})
	ce.run(t) // the run whose config and templates clicks are checked against
	ce.handler = httptest.NewServer(ce.clicks)
	t.Cleanup(ce.handler.Close)
	t.Cleanup(ce.clicks.pending.Wait)
	ce.responseURL = hooks.URL + "/actions/T0/1/abc"
	return ce
}

// run plans once as a serve run does, holding the fleet, and records what
// clicks are checked against. It applies nothing.
func (ce *clickEnv) run(t *testing.T) {
	t.Helper()
	var obs *reconcile.Observation
	w := worker{config: ce.dir, endpointURL: ce.endpoint, log: slog.New(slog.DiscardHandler), getenv: os.Getenv,
		observed: func(_ *projects.Config, o *reconcile.Observation) { obs = o }}
	ce.clicks.hold()
	_, clients, cfg, err := w.plan(context.Background(), ce.sim.Now(), "test-run")
	ce.clicks.release(cfg, clients, obs)
	if err != nil {
		t.Fatal(err)
	}
}

// payload is a block_actions interaction of a click on an Extend button.
type payload struct {
	instance, channelID, channelName, user, trigger string
	value                                           string // the button's value; default from instance and clickRun
}

func (ce *clickEnv) body(p payload) string {
	if p.value == "" {
		p.value = notify.ExtendRequest{Instance: p.instance, Account: serveAccount, Region: serveRegion, Run: clickRun}.String()
	}
	if p.channelID == "" && p.channelName == "" {
		p.channelID, p.channelName = "C0PACKIT01", "packit"
	}
	if p.user == "" {
		p.user = "alice"
	}
	if p.trigger == "" {
		ce.triggers++
		p.trigger = "trigger-" + strconv.Itoa(ce.triggers) // Slack's are unique per click
	}
	raw, _ := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]string{"id": "U0ALICE01", "name": p.user},
		"channel":      map[string]string{"id": p.channelID, "name": p.channelName},
		"trigger_id":   p.trigger,
		"response_url": ce.responseURL,
		"actions": []map[string]string{{"type": "button", "action_id": notify.ExtendAction + p.instance,
			"block_id": "b1", "value": p.value, "action_ts": "1764054000.000100"}},
	})
	return "payload=" + url.QueryEscape(string(raw))
}

// sign returns Slack's signature headers for body, made at ts with secret.
func sign(body, secret string, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, "v0:"+stamp+":"+body)
	return http.Header{
		"Content-Type":              {"application/x-www-form-urlencoded"},
		"X-Slack-Request-Timestamp": {stamp},
		"X-Slack-Signature":         {"v0=" + hex.EncodeToString(mac.Sum(nil))},
	}
}

// post sends a request as Slack would and returns the status.
func (ce *clickEnv) post(t *testing.T, body string, h http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ce.handler.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// answer waits for the ephemeral answer to a click.
func (ce *clickEnv) answer(t *testing.T) string {
	t.Helper()
	select {
	case a := <-ce.answers:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no answer at the response_url")
		return ""
	}
}

// tag returns an instance's tag as launchwarden reads it: state tags
// verified ("forged: …" if not), others as they are.
func (ce *clickEnv) tag(t *testing.T, id, key string) string {
	t.Helper()
	for _, in := range ce.sim.Instances(serveAccount, serveRegion) {
		if in.ID != id {
			continue
		}
		v, ok := in.Tags[key]
		if !ok || !cloud.IsStateTag(key) {
			return v
		}
		if s, ok := testenv.State.Verify(id, key, v); ok {
			return s
		}
		return "forged: " + v
	}
	return "no instance"
}

func TestExtendButtonClick(t *testing.T) {
	ce := newClickEnv(t)
	id := ce.ids["valid"]
	body := ce.body(payload{instance: id})
	h := sign(body, clickSecret, time.Now())
	ce.sim.ResetCalls()
	if code := ce.post(t, body, h); code != http.StatusOK {
		t.Fatalf("click answered %d, want 200", code)
	}
	answer := ce.answer(t)
	// One DescribeInstances to check, one CreateTags to write.
	if diff := cmp.Diff(map[string]int{"DescribeInstances": 1, "CreateTags": 1}, ce.sim.CallCounts()); diff != "" {
		t.Errorf("EC2 calls of a click (-want +got):\n%s", diff)
	}
	// Born 2026-11-24 11:00 with a ttl of 1d, it expires 2026-11-25 11:00:
	// a day later now.
	if got, want := answer, "Extended "+id+" (packit/fedora): it now expires 2026-11-26 11:00 UTC (was 2026-11-25 11:00 UTC)."; !strings.HasPrefix(got, want) {
		t.Errorf("answer %q, want it to start with %q", got, want)
	}
	if got := ce.tag(t, id, cloud.TagExpiresAt); got != "2026-11-26T11:00:00Z" {
		t.Errorf("expires-at = %q", got)
	}
	if got := ce.tag(t, id, TagExtension); got != "extended by @alice via Slack" {
		t.Errorf("extension reason = %q", got)
	}
	if got := ce.tag(t, id, cloud.TagExtended); got != "2026-11-25T07:00:00Z u=U0ALICE01 n=alice r="+clickRun+" e=2026-11-26T11:00:00Z" {
		t.Errorf("extended record = %q", got)
	}

	// The same request again: refused before anything is read.
	if code := ce.post(t, body, h); code != http.StatusUnauthorized {
		t.Errorf("replayed click answered %d, want 401", code)
	}
	// A second click on the same message (a new request): once is all.
	again := ce.body(payload{instance: id, trigger: "another"})
	if code := ce.post(t, again, sign(again, clickSecret, time.Now())); code != http.StatusOK {
		t.Fatalf("second click answered %d", code)
	}
	if got := ce.answer(t); !strings.Contains(got, "already extended "+id+" from this message") {
		t.Errorf("second click answer %q", got)
	}
	if got := ce.tag(t, id, cloud.TagExpiresAt); got != "2026-11-26T11:00:00Z" {
		t.Errorf("expires-at after the second click = %q", got)
	}

	// The next run plans with the new expiry and tells the admins who extended it.
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: os.Getenv}
	err := runOnce(context.Background(), e, []string{"--config", ce.dir, "--endpoint-url", ce.endpoint, "--notify", "log",
		"--now", clickStart.Add(time.Hour).Format(time.RFC3339)}, true)
	if err != nil {
		t.Logf("run: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "Extended from Slack (1)") || !strings.Contains(out.String(), "extended by @alice (U0ALICE01) via Slack at 2026-11-25 07:00 UTC, to 2026-11-26 11:00 UTC") {
		t.Errorf("the admin digest does not name the extender:\n%s", out.String())
	}
	if got := ce.tag(t, id, cloud.TagExtended); !strings.HasSuffix(got, " reported") {
		t.Errorf("record after the admin digest = %q, want it marked reported", got)
	}
	out.Reset()
	if err := runStatus(context.Background(), e, []string{"--config", ce.dir, "--endpoint-url", ce.endpoint, "--now", clickStart.Add(time.Hour).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	// The expiry the plan counts from: the button's, and the next step is
	// a fresh warning before it.
	if !regexp.MustCompile(id + `\s.*2026-11-26 11:00\s+warn\s`).MatchString(out.String()) {
		t.Errorf("status does not plan with the new expiry:\n%s", out.String())
	}
}

// Every click that must not extend is refused, and nothing changes on the
// instance.
func TestExtendButtonRefusals(t *testing.T) {
	ce := newClickEnv(t)
	valid := ce.ids["valid"]
	tests := []struct {
		name   string
		p      payload
		signAt time.Time
		secret string
		code   int    // HTTP status
		answer string // part of the ephemeral answer, for 200
	}{
		{name: "forged signature", p: payload{instance: valid}, secret: "not-the-signing-secret", code: http.StatusUnauthorized},
		{name: "timestamp older than five minutes", p: payload{instance: valid}, signAt: time.Now().Add(-6 * time.Minute), code: http.StatusUnauthorized},
		{name: "wrong channel (name)", p: payload{instance: valid, channelID: "C0OTHER001", channelName: "random"}, answer: "works only there"},
		{name: "another project's channel (id)", p: payload{instance: valid, channelID: "C0COCKPIT1", channelName: "cockpit"}, answer: "works only there"},
		{name: "not ours", p: payload{instance: ce.ids["foreign"]}, answer: "is not launchwarden's"},
		{name: "terminated", p: payload{instance: ce.ids["terminated"]}, answer: "is gone"},
		{name: "unknown instance", p: payload{instance: "i-0000000000000ffff"}, answer: "is gone"},
		{name: "past the cap", p: payload{instance: ce.ids["capped"]}, answer: "already at the max lifetime 10d"},
		{name: "governed by [[extensions]]", p: payload{instance: ce.ids["entry"]}, answer: "[[extensions]] entry in projects/packit.toml"},
		{name: "stale message", p: payload{instance: ce.ids["stale"]}, answer: "older than the latest notice"},
		{name: "account not configured", p: payload{instance: valid, value: valid + " 999999999999/us-east-1 " + clickRun}, answer: "does not look after 999999999999/us-east-1"},
		{name: "not a button value", p: payload{instance: valid, value: "rm -rf /"}, code: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ce.sim.Instances(serveAccount, serveRegion)
			body := ce.body(tt.p)
			at, secret := tt.signAt, tt.secret
			if at.IsZero() {
				at = time.Now()
			}
			if secret == "" {
				secret = clickSecret
			}
			code := ce.post(t, body, sign(body, secret, at))
			want := tt.code
			if want == 0 {
				want = http.StatusOK
			}
			if code != want {
				t.Fatalf("answered %d, want %d", code, want)
			}
			if tt.answer != "" {
				if got := ce.answer(t); !strings.Contains(got, tt.answer) || !strings.Contains(got, "xtend") {
					t.Errorf("answer %q, want it to say %q", got, tt.answer)
				}
			}
			ce.clicks.pending.Wait()
			if after := ce.sim.Instances(serveAccount, serveRegion); !sameTags(before, after) {
				t.Errorf("a refused click changed tags")
			}
		})
	}
}

func sameTags(a, b []ec2sim.Instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i].Tags) != len(b[i].Tags) {
			return false
		}
		for k, v := range a[i].Tags {
			if b[i].Tags[k] != v {
				return false
			}
		}
	}
	return true
}

// serve answers clicks at /slack/interactions once a run has been, and
// without a signing secret it answers 404 and says so once at start.
func TestServeAnswersExtendClicks(t *testing.T) {
	se := newServeEnv(t)
	t.Setenv(clickSecretEnv, clickSecret)
	se.writeAdmin(t, strings.Replace(serveAdminTOML, `token_env = "LW_TEST_SLACK_TOKEN"`,
		`token_env = "LW_TEST_SLACK_TOKEN"`+"\nsigning_secret_env = \""+clickSecretEnv+"\"", 1))
	now := time.Now().UTC()
	born := now.Add(-20 * time.Hour)
	id := se.sim.Seed(ec2sim.SeedInstance{InstanceType: "t3.micro", LaunchTime: born, AttachTime: born,
		Tags: testenv.Launched(se.templateID(t), "", "packit", "fedora", nil)})

	answers := make(chan string, 1)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		json.NewDecoder(r.Body).Decode(&m)
		answers <- m.Text
	}))
	defer hooks.Close()
	s := startServe(t, se, "--run-now", "--slack-api-url", hooks.URL+"/api/")
	waitFor(t, "the first run", s.stderr, func() bool { return strings.Contains(s.stderr.String(), "run finished") })

	ce := &clickEnv{responseURL: hooks.URL + "/actions/T0/1/abc"}
	// The button of the digest the run sent (printed: --notify log).
	run := regexp.MustCompile(`run=(\d{8}T\d{6}-[0-9a-f]+)`).FindStringSubmatch(s.stderr.String())
	if run == nil {
		t.Fatalf("no run id in the log:\n%s", s.stderr)
	}
	p := payload{instance: id, value: notify.ExtendRequest{Instance: id, Account: serveAccount, Region: serveRegion, Run: run[1]}.String()}
	body := ce.body(p)
	req, _ := http.NewRequest(http.MethodPost, s.url+"/slack/interactions", strings.NewReader(body))
	req.Header = sign(body, clickSecret, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	select {
	case a := <-answers:
		if !strings.HasPrefix(a, "Extended "+id) {
			t.Errorf("answer %q", a)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no answer; log:\n%s", s.stderr)
	}
	// A forged click is counted, and changes nothing.
	forged := ce.body(payload{instance: id, value: p.value})
	req, _ = http.NewRequest(http.MethodPost, s.url+"/slack/interactions", strings.NewReader(forged))
	req.Header = sign(forged, "not-the-secret", time.Now())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged click: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	got := pick(s.metrics(t), `launchwarden_extend_clicks_total{outcome="extended"}`, `launchwarden_extend_clicks_total{outcome="refused"}`, `launchwarden_extend_clicks_total{outcome="rejected"}`)
	want := map[string]float64{`launchwarden_extend_clicks_total{outcome="extended"}`: 1, `launchwarden_extend_clicks_total{outcome="refused"}`: 0, `launchwarden_extend_clicks_total{outcome="rejected"}`: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("click metrics (-want +got):\n%s", diff)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	var tags map[string]string
	for _, in := range se.sim.Instances(serveAccount, serveRegion) {
		if in.ID == id {
			tags = in.Tags
		}
	}
	wantAt := born.Add(48 * time.Hour).Truncate(time.Second).Format(time.RFC3339) // ttl 1d, plus the button's 1d
	if v, ok := testenv.State.Verify(id, cloud.TagExpiresAt, tags[cloud.TagExpiresAt]); !ok || v != wantAt {
		t.Errorf("expires-at %q (verified %t), want %s", tags[cloud.TagExpiresAt], ok, wantAt)
	}
}

func TestServeWithoutSigningSecret(t *testing.T) {
	se := newServeEnv(t)
	s := startServe(t, se)
	body := "payload=%7B%7D"
	req, _ := http.NewRequest(http.MethodPost, s.url+"/slack/interactions", strings.NewReader(body))
	req.Header = sign(body, clickSecret, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /slack/interactions without a signing secret: %d, want 404", resp.StatusCode)
	}
	if n := strings.Count(s.stderr.String(), "no Slack signing secret"); n != 1 {
		t.Errorf("said %d times that there is no signing secret, want once; log:\n%s", n, s.stderr)
	}
}
