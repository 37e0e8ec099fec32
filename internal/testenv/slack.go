package testenv

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// Slack is slack-go's Slack test server with a chat.postMessage that
// records every message it accepts, and that can be down, rate limiting,
// or refusing a channel.
type Slack struct {
	*slacktest.Server
	clock func() time.Time
	// OnPost, if set before the first post, is called after each post is
	// answered.
	OnPost func()

	mu          sync.Mutex
	run         int
	down        bool
	rateLimited int
	refuse      map[string]string
	posts       []Post
	taken       int
}

// Post is one message Slack accepted.
type Post struct {
	// At is the Slack server's clock when it was posted.
	At time.Time
	// Run is the number the last StartRun gave.
	Run           int
	Channel, Text string
	// Form is the whole request (blocks, username…).
	Form url.Values
}

// NewSlack starts a Slack test server that stamps posts with clock (nil:
// time.Now); it stops when the test ends. Its GetAPIURL is the API URL for
// launchwarden's --slack-api-url or notify/slack's Options.APIURL.
func NewSlack(t testing.TB, clock func() time.Time) *Slack {
	if clock == nil {
		clock = time.Now
	}
	s := &Slack{clock: clock}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", s.postMessage)
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Slack) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.OnPost != nil {
		defer s.OnPost()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	channel := r.PostForm.Get("channel")
	switch {
	case s.down || s.refuse[channel] == "503":
		http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		return
	case s.refuse[channel] == "429":
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case s.refuse[channel] != "":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":false,"error":%q}`, s.refuse[channel])
		return
	case s.rateLimited > 0:
		s.rateLimited--
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.posts = append(s.posts, Post{At: s.clock(), Run: s.run, Channel: channel, Text: r.PostForm.Get("text"), Form: r.PostForm})
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
}

// Set takes Slack down (every post answered with a 503) or back up, and
// has it answer the next rateLimited posts with a 429 and Retry-After: 1.
func (s *Slack) Set(down bool, rateLimited int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down, s.rateLimited = down, rateLimited
}

// Refuse makes posts to channel fail with code ("" to accept them again):
// a Slack error code (channel_not_found…), "503" for HTTP 503, or "429"
// for a rate limit with Retry-After: 0 (a temporary failure that costs no
// wait).
func (s *Slack) Refuse(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse == nil {
		s.refuse = map[string]string{}
	}
	s.refuse[channel] = code
}

// StartRun numbers the posts that follow.
func (s *Slack) StartRun(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.run = n
}

// Posts returns every post so far.
func (s *Slack) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Take returns the posts since the last Take.
func (s *Slack) Take() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := append([]Post(nil), s.posts[s.taken:]...)
	s.taken = len(s.posts)
	return p
}

// Texts returns the text of every post to channel so far.
func (s *Slack) Texts(channel string) []string {
	var out []string
	for _, p := range s.Posts() {
		if p.Channel == channel {
			out = append(out, p.Text)
		}
	}
	return out
}
