package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// signed returns Slack's headers for body: v0 HMAC-SHA256 of
// "v0:<timestamp>:<body>" with the signing secret.
func signed(body, secret string, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":" + body))
	return http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {"v0=" + hex.EncodeToString(m.Sum(nil))}}
}

func form(payload string) string { return "payload=" + url.QueryEscape(payload) }

func TestVerifyClick(t *testing.T) {
	const secret = "signing-secret"
	click := form(`{"type":"block_actions","trigger_id":"t1","user":{"id":"U1","name":"alice"},"channel":{"id":"C1","name":"packit"},
		"response_url":"https://hooks.slack.com/actions/T/1/x",
		"actions":[{"type":"button","block_id":"b1","action_id":"extend:i-0123456789abcdef0","value":"i-0123456789abcdef0 123456789012/eu-west-1 20261125T060000-7f3a"}]}`)
	var v Verifier
	c, err := v.VerifyClick(signed(click, secret, time.Now()), []byte(click), secret)
	if err != nil || c == nil {
		t.Fatalf("VerifyClick = %+v, %v", c, err)
	}
	if c.Request.Instance != "i-0123456789abcdef0" || c.User != "alice" || c.ChannelName != "packit" || c.ResponseURL == "" {
		t.Errorf("click %+v", c)
	}
	if _, err := v.VerifyClick(signed(click, secret, time.Now()), []byte(click), secret); !errors.Is(err, ErrReplayed) {
		t.Errorf("same trigger again: %v, want ErrReplayed", err)
	}

	other := form(`{"type":"block_actions","trigger_id":"t2","actions":[{"type":"button","block_id":"b1","action_id":"something-else","value":"x"}]}`)
	if c, err := v.VerifyClick(signed(other, secret, time.Now()), []byte(other), secret); c != nil || err != nil {
		t.Errorf("another app action: %+v, %v; want nothing to do", c, err)
	}
	for name, h := range map[string]http.Header{
		"no headers":      {},
		"wrong secret":    signed(other, "another-secret", time.Now()),
		"stale":           signed(other, secret, time.Now().Add(-6*time.Minute)),
		"from the future": signed(other, secret, time.Now().Add(6*time.Minute)),
	} {
		if _, err := v.VerifyClick(h, []byte(other), secret); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The replay cache forgets what is older than the window, and refuses
// rather than forgets early when it is full.
func TestReplayCacheIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	v := Verifier{Now: func() time.Time { return now }, Max: 3}
	for _, k := range []string{"a", "b", "c"} {
		if err := v.first(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.first("a"); !errors.Is(err, ErrReplayed) {
		t.Errorf("a again: %v", err)
	}
	if err := v.first("d"); !errors.Is(err, ErrBusy) {
		t.Errorf("d while full: %v, want ErrBusy", err)
	}
	now = now.Add(replayWindow)
	if err := v.first("d"); err != nil {
		t.Errorf("d after the window: %v", err)
	}
	if len(v.seen) != 1 {
		t.Errorf("cache holds %d keys, want 1", len(v.seen))
	}
}

func TestReplyOnlyToSlack(t *testing.T) {
	for _, u := range []string{"http://hooks.slack.com/actions/x", "https://evil.example/actions/x", "https://hooks.slack.com.evil.example/x", "::"} {
		if err := (Replier{}).Reply(t.Context(), u, "hi"); err == nil {
			t.Errorf("replied to %q", u)
		}
	}
}
