package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/notify"
	slacknotify "github.com/launchwarden/launchwarden/notify/slack"
	"github.com/launchwarden/launchwarden/projects"
)

// demoSigningSecret is the demo Slack app's signing secret. DEMO ONLY: it
// is public, in this source file; a real deployment names the Slack app's
// own in launchwarden.toml's [slack].
const (
	demoSigningSecretEnv = "LAUNCHWARDEN_DEMO_SLACK_SIGNING_SECRET"
	demoSigningSecret    = "demo-signing-secret-NOT-SECRET"
)

// demoClicks answers the Extend buttons of the demo's digests as serve does
// (clicks), with the demo's signing secret; the answers go to the local
// Slack server's /actions/.
func demoClicks(c *slackCapture, log *slog.Logger, now func() time.Time) *clicks {
	u, _ := url.Parse(c.GetAPIURL())
	k := &clicks{log: log, now: now, verify: &slacknotify.Verifier{}, replier: slacknotify.Replier{Hosts: []string{u.Host}},
		getenv: func(name string) string {
			if name == demoSigningSecretEnv {
				return demoSigningSecret
			}
			return ""
		}}
	k.setSecret(projects.SecretRef{Env: demoSigningSecretEnv})
	return k
}

// click is a team member clicking the Extend button of an instance in the
// newest digest that shows one: Slack signs the click and posts it to
// /slack/interactions, launchwarden checks it against EC2 and answers the
// clicker alone.
func (d *demoWorld) click(ctx context.Context, who, id string) ([]string, error) {
	var msg *slackMessage
	var value string
	for i := len(d.res.Messages) - 1; i >= 0 && msg == nil; i-- {
		for _, v := range d.res.Messages[i].Buttons {
			if strings.HasPrefix(v, id+" ") {
				msg, value = &d.res.Messages[i], v
				break
			}
		}
	}
	if msg == nil {
		return nil, fmt.Errorf("demo: no digest shows an Extend button for %s", id)
	}
	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "demo-" + id,
		"user":         map[string]string{"id": "U0DEMO" + strings.ToUpper(who[:3]), "name": who},
		"channel":      map[string]string{"id": "C0DEMOCHAN", "name": strings.TrimPrefix(msg.Channel, "#")},
		"response_url": strings.TrimSuffix(d.slack.GetAPIURL(), "/") + "/actions/T0DEMO/1/demo",
		"actions":      []map[string]string{{"type": "button", "block_id": "extend", "action_id": notify.ExtendAction + id, "value": value}},
	})
	if err != nil {
		return nil, err
	}
	body := "payload=" + url.QueryEscape(string(payload))
	ts := strconv.FormatInt(time.Now().Unix(), 10) // Slack's clock, which the verifier checks
	mac := hmac.New(sha256.New, []byte(demoSigningSecret))
	io.WriteString(mac, "v0:"+ts+":"+body)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/slack/interactions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	d.clicks.ServeHTTP(rec, req)
	d.clicks.pending.Wait()
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("demo: the click was answered %d: %s", rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	answers := d.slack.takeAnswers()
	if len(answers) != 1 {
		return nil, fmt.Errorf("demo: %d answers to the click, want 1", len(answers))
	}
	d.notes[id] += " (extended from Slack)"
	return []string{
		fmt.Sprintf("%s clicks Extend on %s in %s's digest; only %s sees the answer:", who, id, msg.Channel, who),
		"    " + answers[0],
	}, nil
}

// buttonValues returns the values of the buttons in Block Kit JSON.
func buttonValues(blocks []json.RawMessage) []string {
	var out []string
	for _, b := range blocks {
		var block struct {
			Type     string `json:"type"`
			Elements []struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"elements"`
		}
		if json.Unmarshal(b, &block) != nil || block.Type != "actions" {
			continue
		}
		for _, e := range block.Elements {
			if e.Type == "button" {
				out = append(out, e.Value)
			}
		}
	}
	return out
}

// actions takes the answers to clicks: ephemeral messages posted to a
// response_url.
func (c *slackCapture) actions(w http.ResponseWriter, r *http.Request) {
	var m struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.ResponseType != "ephemeral" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.answers = append(c.answers, m.Text)
	c.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// takeAnswers returns the answers to clicks received since the last take.
func (c *slackCapture) takeAnswers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := slices.Clone(c.answers)
	c.answers = nil
	return a
}
