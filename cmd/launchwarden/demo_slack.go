package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/slack-go/slack/slacktest"
	"golang.org/x/crypto/ssh"

	"github.com/launchwarden/launchwarden/projects"
)

// The demo's local Slack server and GitHub keys.

// slackMessage is a message as the local Slack server received it.
type slackMessage struct {
	Channel string
	Via     string // chat.postMessage or webhook
	Text    string // the fallback text: what notifications and plain clients show
	Blocks  int
	// Buttons are the values of the message's buttons (Extend).
	Buttons []string
}

// slackCapture is a local Slack server (slack-go's slacktest) that accepts
// chat.postMessage and incoming webhooks and keeps what it received.
type slackCapture struct {
	*slacktest.Server
	webhooks map[string]string // URL path → channel

	mu      sync.Mutex
	msgs    []slackMessage
	answers []string // ephemeral answers to clicks, at /actions/
}

func newSlackCapture(webhookChannels []string) *slackCapture {
	c := &slackCapture{webhooks: map[string]string{}}
	for i, ch := range webhookChannels {
		c.webhooks[fmt.Sprintf("/services/T0DEMO/B%04d/demo", i)] = ch
	}
	c.Server = slacktest.NewTestServer(func(s slacktest.Customize) {
		s.Handle("/chat.postMessage", c.postMessage)
		s.Handle("/services/", c.webhook)
		s.Handle("/actions/", c.actions)
	})
	c.Start()
	return c
}

// demoStateKey signs the demo's state tags. DEMO ONLY: it is public, in
// this source file; a real deployment names its own secret key in
// launchwarden.toml's [state].
const demoStateKey = "launchwarden-demo-state-key-NOT-SECRET-do-not-use"

// getenv answers the admin file's secret variables: the fake Slack token,
// this server's webhook URLs and the demo state key. Nothing else is read
// from the environment.
func (c *slackCapture) getenv(s projects.Slack, state projects.State) func(string) string {
	vars := map[string]string{}
	if state.Key.Env != "" {
		vars[state.Key.Env] = demoStateKey
	}
	if s.Token.Env != "" {
		vars[s.Token.Env] = demoSlackToken
	}
	for p, ch := range c.webhooks {
		if ref := s.Webhooks[ch]; ref.Env != "" {
			vars[ref.Env] = strings.TrimSuffix(c.GetAPIURL(), "/") + p
		}
	}
	return func(name string) string { return vars[name] }
}

func (c *slackCapture) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("token") != demoSlackToken && r.Header.Get("Authorization") != "Bearer "+demoSlackToken {
		writeSlackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	var blocks []json.RawMessage
	_ = json.Unmarshal([]byte(r.PostForm.Get("blocks")), &blocks)
	channel := r.PostForm.Get("channel")
	c.add(slackMessage{Channel: channel, Via: "chat.postMessage", Text: r.PostForm.Get("text"), Blocks: len(blocks), Buttons: buttonValues(blocks)})
	writeSlackJSON(w, map[string]any{"ok": true, "channel": channel, "ts": "1700000000.000100"})
}

func (c *slackCapture) webhook(w http.ResponseWriter, r *http.Request) {
	channel, ok := c.webhooks[r.URL.Path]
	if !ok {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	c.add(slackMessage{Channel: channel, Via: "webhook", Text: msg.Text, Blocks: len(msg.Blocks)})
	_, _ = io.WriteString(w, "ok")
}

func writeSlackJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (c *slackCapture) add(m slackMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

// take returns the messages received since the last take.
func (c *slackCapture) take() []slackMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.msgs
	c.msgs = nil
	return m
}

// serveDemoKeys serves GitHub's /<user>.keys: one ed25519 key per user,
// derived from the name so that every run sees the same keys.
func serveDemoKeys(w http.ResponseWriter, r *http.Request) {
	user, ok := strings.CutSuffix(path.Base(r.URL.Path), ".keys")
	if !ok || user == "" {
		http.NotFound(w, r)
		return
	}
	seed := sha256.Sum256([]byte("launchwarden demo key of " + user))
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed[:]).Public())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(ssh.MarshalAuthorizedKey(pub))
}
