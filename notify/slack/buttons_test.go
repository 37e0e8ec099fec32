package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/launchwarden/launchwarden/notify"
)

// checkButtons checks every actions block against Block Kit's limits and
// every Extend button's value against what the interaction handler parses.
func checkButtons(t *testing.T, blocks []slack.Block) {
	t.Helper()
	for _, b := range blocks {
		a, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		if n := len(a.Elements.ElementSet); n == 0 || n > maxActionElements {
			t.Errorf("actions block with %d elements, Slack allows 1 to %d", n, maxActionElements)
		}
		for _, e := range a.Elements.ElementSet {
			btn := e.(*slack.ButtonBlockElement)
			if n := utf8.RuneCountInString(btn.Text.Text); n > maxButtonText {
				t.Errorf("button text of %d characters, Slack allows %d: %q", n, maxButtonText, btn.Text.Text)
			}
			req, err := notify.ParseExtendRequest(btn.Value)
			if err != nil {
				t.Errorf("button value: %v", err)
				continue
			}
			if btn.ActionID != notify.ExtendAction+req.Instance || !strings.Contains(btn.Text.Text, req.Instance) {
				t.Errorf("button %q (action %q) does not name the instance of its value %q", btn.Text.Text, btn.ActionID, btn.Value)
			}
		}
	}
}

func TestExtendButtons(t *testing.T) {
	d := withButtons(teamDigest())
	blocks := Blocks(d)
	checkButtons(t, blocks)
	var got []string
	for _, b := range blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				got = append(got, e.(*slack.ButtonBlockElement).Value)
			}
		}
	}
	// The two warnings and the stop; not the over-quota instance, whose
	// fate does not depend on its expiry.
	want := []string{
		"i-0a1b2c3d4e5f60718 123456789012/us-east-1 20261125T060000-7f3a",
		"i-0b2c3d4e5f6071829 123456789012/us-east-1 20261125T060000-7f3a",
		"i-0d1e2f3a4b5c6d7e8 123456789012/us-east-1 20261125T060000-7f3a",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("button values:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(Blocks(teamDigest())); len(blocks) != n+2 {
		t.Errorf("%d blocks with buttons, want %d: one actions block per section with buttons", len(blocks), n+2)
	}
	// A run id that is not a run's (no time to tell a stale message by)
	// gets no button rather than one whose click cannot be understood.
	d.RunID = "demo-run"
	for _, b := range Blocks(d) {
		if _, ok := b.(*slack.ActionBlock); ok {
			t.Error("button with a run id that is not a run's")
		}
	}
}

// Webhook messages carry no buttons: a click would go to whichever app
// owns the webhook, which need not be launchwarden's.
func TestWebhookHasNoButtons(t *testing.T) {
	var got slack.WebhookMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	s, _ := newSender(Options{Webhooks: map[string]string{"packit-infra": srv.URL + "/services/T0/B0/SECRET"}})
	d := withButtons(teamDigest())
	if err := s.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(got.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"actions"`) || strings.Contains(string(raw), "Extend adds") {
		t.Errorf("webhook message offers the Extend button:\n%s", raw)
	}
	if !strings.Contains(got.Text, "in a pull request") {
		t.Errorf("webhook message does not say how to extend by pull request:\n%s", got.Text)
	}
}

func TestExtendRequestRoundTrip(t *testing.T) {
	r := notify.ExtendRequest{Instance: "i-0123456789abcdef0", Account: "123456789012", Region: "eu-west-1", Run: "20261125T101500-3fa2c1"}
	got, err := notify.ParseExtendRequest(r.String())
	if err != nil || got != r {
		t.Fatalf("ParseExtendRequest(%q) = %+v, %v; want %+v", r.String(), got, err, r)
	}
	if at := got.RunTime(); !at.Equal(time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)) {
		t.Errorf("RunTime = %v", at)
	}
	for _, bad := range []string{
		"", "i-0123456789abcdef0", "i-0123456789abcdef0 123456789012/eu-west-1 20261125T101500-3fa2c1 extra",
		"sg-0123 123456789012/eu-west-1 20261125T101500-3fa2c1",
		"i-0123456789abcdef0 12345/eu-west-1 20261125T101500-3fa2c1",
		"i-0123456789abcdef0 123456789012/eu west 20261125T101500-3fa2c1",
		"i-0123456789abcdef0 123456789012/eu-west-1 yesterday",
	} {
		if _, err := notify.ParseExtendRequest(bad); err == nil {
			t.Errorf("ParseExtendRequest(%q) accepted", bad)
		}
	}
}
