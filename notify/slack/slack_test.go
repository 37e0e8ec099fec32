package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/launchwarden/launchwarden/notify"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

var now = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

const token = "xoxb-1234-5678-SECRETTOKENvalue"

// teamDigest is a realistic digest for one project's channel.
func teamDigest() notify.Digest {
	n := func(kind notify.Kind, id, tpl, typ, action string, in time.Duration, reason string) notify.Notice {
		nt := notify.Notice{Kind: kind, Channel: "packit-infra", Project: "packit", Account: "123456789012", Region: "us-east-1",
			InstanceID: id, Template: tpl, InstanceType: typ, Action: action, Reason: reason}
		if in != 0 {
			nt.Deadline = now.Add(in)
		}
		return nt
	}
	notices := []notify.Notice{
		n(notify.KindExpiring, "i-0a1b2c3d4e5f60718", "fedora-large", "m5.xlarge", "stop", 5*time.Hour, "TTL 3d reached"),
		n(notify.KindExpiring, "i-0b2c3d4e5f6071829", "centos-gpu", "g4dn.xlarge", "terminate", 26*time.Hour, "stopped for 7d"),
		n(notify.KindOverQuota, "i-0c3d4e5f607182930", "fedora-large", "m5.4xlarge", "stop", 24*time.Hour, "over vCPU quota"),
		n(notify.KindStopped, "i-0d1e2f3a4b5c6d7e8", "fedora-large", "m5.xlarge", "stop", 0, "TTL 3d reached"),
		{Kind: notify.KindTemplateChanged, Channel: "packit-infra", Project: "packit", Template: "fedora-large",
			Detail: "image ami-0123 → ami-0456 <new Fedora 43>"},
	}
	usage := map[string]notify.Usage{"packit": {Project: "packit", Instances: 9, MaxInstances: 10, VCPUs: 72, MaxVCPUs: 64}}
	return notify.Group("20261125T060000Z-7f3a", now, notices, usage)[0]
}

// fakeSlack is a slacktest server whose chat.postMessage answers with the
// responses in turn (the last one repeats) and records every form posted.
type fakeSlack struct {
	*slacktest.Server

	mu        sync.Mutex
	responses []response
	posts     []url.Values
}

type response struct {
	status     int
	retryAfter string
	body       string
}

var ok = response{status: http.StatusOK, body: `{"ok":true,"channel":"C1","ts":"1.2"}`}

func newFakeSlack(t *testing.T, responses ...response) *fakeSlack {
	t.Helper()
	f := &fakeSlack{responses: responses}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.postMessage)
	})
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.posts = append(f.posts, r.PostForm)
	resp := f.responses[min(len(f.posts), len(f.responses))-1]
	f.mu.Unlock()
	if resp.retryAfter != "" {
		w.Header().Set("Retry-After", resp.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	io.WriteString(w, resp.body)
}

func (f *fakeSlack) received() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.posts...)
}

// newSender returns a Sender for the fake API that retries without
// waiting, and logs into the returned buffer.
func newSender(o Options) (*Sender, *bytes.Buffer) {
	var logs bytes.Buffer
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(o)
	s.backoff = time.Millisecond
	return s, &logs
}

func TestPostMessageGolden(t *testing.T) {
	admin := notify.Group("20261125T060000Z-7f3a", now, []notify.Notice{
		{Kind: notify.KindOrphan, Channel: "lw-admin", Project: "oldproj", Account: "123456789012", Region: "eu-west-1",
			InstanceID: "i-0123456789abcdef0", Template: "legacy", InstanceType: "t3.large", Action: "terminate",
			Deadline: now.Add(72 * time.Hour), Reason: "project left the config"},
		{Kind: notify.KindSafety, Channel: "lw-admin", Reason: "cap of 20 stops held back 35 actions"},
		{Kind: notify.KindFrozen, Channel: "lw-admin", Project: "cockpit",
			Detail: "projects/cockpit.toml:12:3: unknown key \"ttl_days\""},
	}, nil)[0]
	tests := []struct {
		name string
		d    notify.Digest
	}{
		{"team", teamDigest()},
		{"team-linked", linked(teamDigest())},
		{"team-buttons", withButtons(teamDigest())},
		{"admin", admin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t, ok)
			s, _ := newSender(Options{Token: token, APIURL: f.GetAPIURL()})
			if err := s.Send(context.Background(), tt.d); err != nil {
				t.Fatalf("Send: %v", err)
			}
			posts := f.received()
			if len(posts) != 1 {
				t.Fatalf("Slack got %d posts, want 1", len(posts))
			}
			p := posts[0]
			got := map[string]string{"channel": p.Get("channel"), "token": p.Get("token"), "text": p.Get("text")}
			want := map[string]string{"channel": tt.d.Channel, "token": token, "text": FallbackText(tt.d)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("posted form (-want +got):\n%s", diff)
			}
			var blocks any
			if err := json.Unmarshal([]byte(p.Get("blocks")), &blocks); err != nil {
				t.Fatalf("posted blocks are not JSON: %v", err)
			}
			var pretty bytes.Buffer
			enc := json.NewEncoder(&pretty)
			enc.SetEscapeHTML(false) // keep Slack's own &lt; escapes readable
			enc.SetIndent("", "  ")
			if err := enc.Encode(blocks); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tt.name+".blocks.golden"), pretty.String())
		})
	}
}

// withButtons is d with the Extend buttons on, as reconcile sets them on
// team digests.
func withButtons(d notify.Digest) notify.Digest {
	d.ExtendBy = map[string]time.Duration{"packit": 24 * time.Hour}
	d.RunID = "20261125T060000-7f3a" // as newRunID makes them
	return d
}

// linked is d with the status pages' base URL set, as [web] base_url does.
func linked(d notify.Digest) notify.Digest {
	d.StatusURL = "https://lw.example.org"
	return d
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestRateLimitIsHonoured(t *testing.T) {
	f := newFakeSlack(t,
		response{status: http.StatusTooManyRequests, retryAfter: "1", body: `{"ok":false,"error":"ratelimited"}`},
		ok)
	s, _ := newSender(Options{Token: token, APIURL: f.GetAPIURL()})
	s.backoff = time.Hour // only Retry-After may decide the wait

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Send(ctx, teamDigest()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(f.received()); n != 2 {
		t.Errorf("Slack got %d posts, want 2 (the rate-limited one and the retry)", n)
	}
}

func TestRateLimitBeyondLimits(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
		timeout time.Duration
	}{
		{"beyond MaxWait", time.Second, time.Hour},
		{"beyond the deadline", time.Hour, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t, response{status: http.StatusTooManyRequests, retryAfter: "120"})
			s, _ := newSender(Options{Token: token, APIURL: f.GetAPIURL(), MaxWait: tt.maxWait})
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()

			err := s.Send(ctx, teamDigest())
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || notify.IsPermanent(err) {
				t.Errorf("Send error = %v, want a retryable rate limit", err)
			}
			if n := len(f.received()); n != 1 {
				t.Errorf("Slack got %d posts, want 1: no retry it cannot wait for", n)
			}
		})
	}
}

func TestPostMessageClassification(t *testing.T) {
	apiError := func(code string) response {
		return response{status: http.StatusOK, body: fmt.Sprintf(`{"ok":false,"error":%q}`, code)}
	}
	tests := []struct {
		name      string
		responses []response
		wantErr   bool
		permanent bool
		posts     int
	}{
		{"delivered", []response{ok}, false, false, 1},
		{"500 then delivered", []response{{status: 500, body: "<html>oops</html>"}, ok}, false, false, 2},
		{"500 every time is retryable", []response{{status: 500}}, true, false, 3},
		{"503 is retryable", []response{{status: 503}}, true, false, 3},
		{"internal_error is retryable", []response{apiError("internal_error")}, true, false, 3},
		{"channel_not_found", []response{apiError("channel_not_found")}, true, true, 1},
		{"not_in_channel", []response{apiError("not_in_channel")}, true, true, 1},
		{"is_archived", []response{apiError("is_archived")}, true, true, 1},
		{"invalid_auth", []response{apiError("invalid_auth")}, true, true, 1},
		{"token_revoked", []response{apiError("token_revoked")}, true, true, 1},
		{"account_inactive", []response{apiError("account_inactive")}, true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t, tt.responses...)
			s, _ := newSender(Options{Token: token, APIURL: f.GetAPIURL()})
			err := s.Send(context.Background(), teamDigest())
			if (err != nil) != tt.wantErr || notify.IsPermanent(err) != tt.permanent {
				t.Errorf("Send error = %v (permanent %t), want error %t, permanent %t", err, notify.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			if n := len(f.received()); n != tt.posts {
				t.Errorf("Slack got %d posts, want %d", n, tt.posts)
			}
		})
	}
}

func TestWebhook(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		wantErr   bool
		permanent bool
		posts     int
	}{
		{"delivered", http.StatusOK, false, false, 1},
		{"404 no_service is permanent", http.StatusNotFound, true, true, 1},
		{"410 channel_is_archived is permanent", http.StatusGone, true, true, 1},
		{"500 is retryable", http.StatusInternalServerError, true, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var bodies []slack.WebhookMessage
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m slack.WebhookMessage
				err := json.NewDecoder(r.Body).Decode(&m)
				mu.Lock()
				bodies = append(bodies, m)
				mu.Unlock()
				if err != nil {
					http.Error(w, "invalid_payload", http.StatusBadRequest)
					return
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			hook := srv.URL + "/services/T000/B000/WEBHOOKSECRET"
			// The token is set too: the webhook takes precedence.
			s, _ := newSender(Options{Token: token, APIURL: "http://127.0.0.1:1/", Webhooks: map[string]string{"packit-infra": hook}})

			d := withButtons(teamDigest())
			err := s.Send(context.Background(), d)
			d.ExtendBy = nil // webhooks carry no buttons: see TestWebhookHasNoButtons
			if (err != nil) != tt.wantErr || notify.IsPermanent(err) != tt.permanent {
				t.Errorf("Send error = %v (permanent %t), want error %t, permanent %t", err, notify.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			if err != nil && strings.Contains(err.Error(), "WEBHOOKSECRET") {
				t.Errorf("error shows the webhook URL: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != tt.posts {
				t.Fatalf("webhook got %d posts, want %d", len(bodies), tt.posts)
			}
			if got := bodies[0]; got.Text != FallbackText(d) || got.Blocks == nil || len(got.Blocks.BlockSet) != len(Blocks(d)) {
				t.Errorf("webhook message has text %q and %d blocks, want the fallback text and %d blocks",
					got.Text, len(got.Blocks.BlockSet), len(Blocks(d)))
			}
		})
	}
}

func TestNowhereToSend(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		d    notify.Digest
	}{
		{"no token and no webhook", Options{Webhooks: map[string]string{"other": "http://127.0.0.1:1/x"}}, notify.Digest{Channel: "packit-infra"}},
		{"empty webhook URL", Options{Token: token, Webhooks: map[string]string{"packit-infra": ""}}, notify.Digest{Channel: "packit-infra"}},
		{"no channel", Options{Token: token}, notify.Digest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSender(tt.o)
			if err := s.Send(context.Background(), tt.d); !notify.IsPermanent(err) {
				t.Errorf("Send error = %v, want a permanent error", err)
			}
		})
	}
}

func TestBlocksStayWithinLimits(t *testing.T) {
	longDetail := strings.Repeat("projects/big.toml:1:1: ünknown key <x> & more\n", 200)
	var many []notify.Notice
	for i := range 300 {
		many = append(many, notify.Notice{Kind: notify.Kinds[i%len(notify.Kinds)], Channel: "big", Project: "big", Account: "123456789012", Region: "eu-west-1",
			InstanceID: fmt.Sprintf("i-%017x", i), Template: "fedora", InstanceType: "t3.small", Action: "stop",
			Deadline: now.Add(time.Duration(i) * time.Minute), Reason: strings.Repeat("reason ", 20), Detail: longDetail})
	}
	var kinds []notify.Notice
	for i := range 300 {
		// More kinds than blocks: only the cap on blocks keeps this in bounds.
		kinds = append(kinds, notify.Notice{Kind: notify.Kind(fmt.Sprintf("custom-%03d", i%60)), Channel: "big", Project: "big",
			InstanceID: fmt.Sprintf("i-%017x", i)})
	}
	var expiring []notify.Notice
	for i := range 300 {
		expiring = append(expiring, notify.Notice{Kind: notify.KindExpiring, Channel: "big", Project: "big", Account: "123456789012", Region: "eu-west-1",
			InstanceID: fmt.Sprintf("i-%017x", i), Action: "stop", Deadline: now.Add(time.Duration(i) * time.Minute)})
	}
	tests := []struct {
		name    string
		notices []notify.Notice
	}{
		{"300 notices of every kind, long details", many},
		{"300 notices of 60 kinds", kinds},
		{"300 expiring, each with a button", expiring},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := notify.Group("20261125T060000-7f3a", now, tt.notices, nil)[0]
			d.ExtendBy = map[string]time.Duration{"big": 36 * time.Hour}
			blocks := Blocks(d)
			checkButtons(t, blocks)
			if len(blocks) > maxBlocks {
				t.Errorf("%d blocks, Slack allows %d", len(blocks), maxBlocks)
			}
			raw, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			collectTexts(t, raw, &texts)
			more := false
			for _, s := range texts {
				if n := utf8.RuneCountInString(s); n > maxText {
					t.Errorf("text of %d characters, Slack allows %d: %.80q…", n, maxText, s)
				}
				if !utf8.ValidString(s) {
					t.Errorf("text is not valid UTF-8: %.80q…", s)
				}
				more = more || strings.Contains(s, "… and ")
			}
			if !more {
				t.Error("no text says how many items were left out")
			}
			if len(FallbackText(d)) > maxFallback {
				t.Errorf("fallback text of %d bytes, want at most %d", len(FallbackText(d)), maxFallback)
			}
		})
	}
}

// collectTexts gathers every "text" string in Block Kit JSON.
func collectTexts(t *testing.T, raw []byte, texts *[]string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "text" {
					*texts = append(*texts, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
}

func TestSecretsNeverShow(t *testing.T) {
	// A webhook on a closed port: net/http's error names the URL.
	closed := httptest.NewServer(http.NotFoundHandler())
	deadHook := closed.URL + "/services/T000/B000/DEADHOOKSECRET"
	closed.Close()
	// A webhook that fails with 500 so the sender logs its retries.
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer failing.Close()
	failingHook := failing.URL + "/services/T000/B001/FAILHOOKSECRET"
	f := newFakeSlack(t, response{status: http.StatusOK, body: `{"ok":false,"error":"invalid_auth"}`})

	o := Options{
		Token:    token,
		APIURL:   f.GetAPIURL(),
		Webhooks: map[string]string{"dead": deadHook, "failing": failingHook},
	}
	s, logs := newSender(o)
	var out strings.Builder
	for _, ch := range []string{"dead", "failing", "bot"} {
		err := s.Send(context.Background(), notify.Digest{Channel: ch, Now: now})
		if err == nil {
			t.Errorf("Send to %s succeeded, want an error", ch)
			continue
		}
		fmt.Fprintf(&out, "%v\n%+v\n%#v\n", err, err, err)
		for e := err; e != nil; e = errors.Unwrap(e) {
			fmt.Fprintln(&out, e.Error())
		}
	}
	fmt.Fprintf(&out, "%v %+v %#v %s\n", o, o, o, s)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "slack", o)

	all := out.String() + logs.String()
	for _, secret := range []string{token, "SECRETTOKEN", deadHook, failingHook, "DEADHOOKSECRET", "FAILHOOKSECRET"} {
		if strings.Contains(all, secret) {
			t.Errorf("output shows secret %q:\n%s", secret, all)
		}
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("logs do not show the retries they were meant to expose:\n%s", logs)
	}
	if !strings.Contains(fmt.Sprint(o), "<secret>") {
		t.Errorf("Options print as %v, want <secret> in place of the secrets", o)
	}
}

// BenchmarkBlocks lays out a 300-notice digest in Block Kit.
func BenchmarkBlocks(b *testing.B) {
	notices := make([]notify.Notice, 300)
	for i := range notices {
		notices[i] = notify.Notice{Kind: notify.Kinds[i%len(notify.Kinds)], Channel: "c", Project: "p", InstanceID: fmt.Sprintf("i-%017x", i),
			Template: "fedora", InstanceType: "t3.small", Action: "stop", Deadline: now.Add(time.Hour), Reason: "TTL 3d reached"}
	}
	d := notify.Group("r", now, notices, nil)[0]
	for b.Loop() {
		Blocks(d)
	}
}

// TestSecretsNeverShowInAnyForm: a webhook URL with a trailing newline or
// space (as an env file leaves it) fails to parse or is sent escaped, and
// net/url, slog and %q print it quoted or percent-encoded: no form of it,
// nor of its secret path, may show in an error or a log line.
func TestSecretsNeverShowInAnyForm(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer failing.Close()
	hooks := map[string]string{
		"newline": failing.URL + "/services/T000/B002/NEWLINESECRET\n",
		"space":   failing.URL + "/services/T000/B003/SPACESECRET ",
		"odd":     failing.URL + "/services/T000/B004/ODD SECRET+/?",
	}
	s, logs := newSender(Options{Webhooks: hooks})
	var out strings.Builder
	for ch := range hooks {
		err := s.Send(context.Background(), notify.Digest{Channel: ch, Now: now})
		if err == nil {
			t.Errorf("Send to %s succeeded, want an error", ch)
			continue
		}
		fmt.Fprintf(&out, "%v\n%q\n", err, err.Error())
	}
	slog.New(slog.NewJSONHandler(&out, nil)).Info("logged", "hooks", s)
	all := out.String() + logs.String()
	for _, secret := range []string{"NEWLINESECRET", "SPACESECRET", "ODD SECRET", "ODD%20SECRET", "ODD+SECRET", "B002", "B003", "B004"} {
		if strings.Contains(all, secret) {
			t.Errorf("output shows %q:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "<secret>") {
		t.Errorf("nothing was redacted; the check above is vacuous:\n%s", all)
	}
}
