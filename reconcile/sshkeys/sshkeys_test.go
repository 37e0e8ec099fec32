package sshkeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// dsaLine is a valid 1024-bit ssh-dss key (from x/crypto/ssh/knownhosts's
// tests): neither Go nor x/crypto/ssh handles DSA keys any more, but GitHub
// may still serve old ones.
const dsaLine = "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAPZwRh7RHMh3DL1qX3E2xOxvV8UMqqaw4u1z3G81b/6rkFbKjjQS/2zU1W0r3jSKt0P+xUjRZbpbBSHy6ZA8Xb2Ow/k1q0Z+RgjN0hXBpPMH1eD41i/QFsjj7b+Kg/ot8GlhFGH7X3kfQ/Vnh+BA3ieCbg2YkwBPqfABwg0Ow+wq"

// testKey is a public key generated for the tests.
type testKey struct {
	pub  ssh.PublicKey
	bits int
}

// line is the key as a user's authorized_keys line with their own comment.
func (k testKey) line(comment string) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.pub))) + " " + comment
}

// key is what Parse and Fetch should return for k published by user.
func (k testKey) key(user string) Key {
	return Key{
		User:        user,
		Type:        k.pub.Type(),
		Bits:        k.bits,
		Fingerprint: ssh.FingerprintSHA256(k.pub),
		Line:        k.line("github:" + user),
	}
}

var testKeys = sync.OnceValue(func() map[string]testKey {
	keys := make(map[string]testKey)
	add := func(name string, pub crypto.PublicKey, bits int) {
		sp, err := ssh.NewPublicKey(pub)
		if err != nil {
			panic(err)
		}
		keys[name] = testKey{pub: sp, bits: bits}
	}
	for _, name := range []string{"ed25519-a", "ed25519-b"} {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		add(name, pub, 256)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	add("ecdsa", &ec.PublicKey, 256)
	for _, bits := range []int{1024, 3072} {
		rk, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		add(fmt.Sprintf("rsa%d", bits), &rk.PublicKey, bits)
	}
	return keys
})

// normalizeWeak cuts the parser's own error text out of "malformed: ..."
// reasons, so tests pin our decision and not x/crypto's wording.
func normalizeWeak(weak []Weak) []Weak {
	for i, w := range weak {
		if strings.HasPrefix(w.Reason, "malformed: ") {
			weak[i].Reason = "malformed"
		}
	}
	return weak
}

func TestParse(t *testing.T) {
	k := testKeys()
	tests := []struct {
		name     string
		body     string
		wantKeys []Key
		wantWeak []Weak
		wantErr  bool
	}{
		{
			name:     "strong keys kept with the comment replaced",
			body:     k["ed25519-a"].line("laptop") + "\n" + k["ecdsa"].line("work") + "\n" + k["rsa3072"].line("old"),
			wantKeys: sortedKeys(k["ed25519-a"].key("alice"), k["ecdsa"].key("alice"), k["rsa3072"].key("alice")),
		},
		{
			name:     "weak RSA and DSA dropped",
			body:     k["rsa1024"].line("old") + "\n" + dsaLine + "\n" + k["ed25519-a"].line("new") + "\n",
			wantKeys: []Key{k["ed25519-a"].key("alice")},
			wantWeak: []Weak{
				{User: "alice", Type: "ssh-dss", Bits: 1024, Reason: "DSA keys are insecure (OpenSSH disabled them)"},
				{User: "alice", Type: "ssh-rsa", Bits: 1024, Reason: "RSA key of 1024 bits, under the 2048-bit minimum"},
			},
		},
		{
			name:     "blank and comment lines ignored, malformed line skipped",
			body:     "\n# a comment\r\n   \nssh-ed25519 AAAAnot-base64 x\n" + k["ed25519-a"].line("x") + "\r\n\n",
			wantKeys: []Key{k["ed25519-a"].key("alice")},
			wantWeak: []Weak{{User: "alice", Type: "ssh-ed25519", Reason: "malformed"}},
		},
		{
			name:     "duplicate key kept once",
			body:     k["ed25519-a"].line("one") + "\n" + k["ed25519-a"].line("two") + "\n",
			wantKeys: []Key{k["ed25519-a"].key("alice")},
		},
		{
			name:     "options dropped",
			body:     `no-pty,command="/bin/true" ` + k["ed25519-a"].line("x"),
			wantKeys: []Key{k["ed25519-a"].key("alice")},
		},
		{
			name: "no keys",
			body: "",
		},
		{
			name:    "not a key list",
			body:    "<!DOCTYPE html>\n<html><body>Sign in</body></html>\n",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, weak, err := Parse("alice", []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse() error = %v, want error: %t", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantKeys, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWeak, normalizeWeak(weak)); diff != "" {
				t.Errorf("weak (-want +got):\n%s", diff)
			}
		})
	}
}

// sortedKeys returns keys in the order Parse gives them: by line.
func sortedKeys(keys ...Key) []Key {
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.Line, b.Line) })
	return keys
}

// response is what the fake GitHub serves for one user.
type response struct {
	status int
	body   string
}

// fakeGitHub serves /<user>.keys from responses and counts requests per
// user. Users it does not know get 404, as on GitHub.
type fakeGitHub struct {
	*httptest.Server
	responses map[string]response

	mu       sync.Mutex
	requests map[string]int
}

func newFakeGitHub(t *testing.T, responses map[string]response) *fakeGitHub {
	t.Helper()
	g := &fakeGitHub{responses: responses, requests: make(map[string]int)}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".keys")
		g.mu.Lock()
		g.requests[user]++
		g.mu.Unlock()
		resp, known := g.responses[user]
		if !ok || !known {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(resp.status)
		fmt.Fprint(w, resp.body)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *fakeGitHub) requestCounts() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.requests)
}

// failures turns Result.Failed into comparable messages.
func failures(res Result) map[string]string {
	if res.Failed == nil {
		return nil
	}
	out := make(map[string]string)
	for user, err := range res.Failed {
		out[user] = err.Error()
	}
	return out
}

func TestFetch(t *testing.T) {
	k := testKeys()
	gh := newFakeGitHub(t, map[string]response{
		"alice":  {http.StatusOK, k["ed25519-a"].line("laptop") + "\n" + k["rsa1024"].line("old") + "\n"},
		"bob":    {http.StatusOK, k["rsa3072"].line("x") + "\n" + dsaLine + "\nnot a key\n" + k["ecdsa"].line("y") + "\n"},
		"carol":  {http.StatusOK, ""},
		"dave":   {http.StatusOK, k["ed25519-a"].line("shared with alice") + "\n" + k["ed25519-b"].line("own") + "\n"},
		"broken": {http.StatusInternalServerError, "oops"},
		"sso":    {http.StatusOK, "<html>\n<body>Sign in to continue</body></html>\n"},
		"huge":   {http.StatusOK, strings.Repeat(k["ed25519-b"].line("x")+"\n", maxBodyBytes/64)},
	})
	f := &Fetcher{BaseURL: gh.URL}

	got := f.Fetch(context.Background(), []string{"dave", "bob", "ghost", "alice", "carol", "broken", "bob", "../admin", "sso", "huge"})

	want := Result{
		Keys: append(append(
			[]Key{k["ed25519-a"].key("alice")},
			sortedKeys(k["rsa3072"].key("bob"), k["ecdsa"].key("bob"))...),
			k["ed25519-b"].key("dave"), // dave's copy of alice's key is dropped
		),
		Weak: []Weak{
			{User: "alice", Type: "ssh-rsa", Bits: 1024, Reason: "RSA key of 1024 bits, under the 2048-bit minimum"},
			{User: "bob", Type: "not", Reason: "malformed"},
			{User: "bob", Type: "ssh-dss", Bits: 1024, Reason: "DSA keys are insecure (OpenSSH disabled them)"},
		},
	}
	if diff := cmp.Diff(want.Keys, got.Keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Weak, normalizeWeak(got.Weak)); diff != "" {
		t.Errorf("weak (-want +got):\n%s", diff)
	}
	wantFailed := map[string]string{
		"ghost":    `GitHub user "ghost" not found`,
		"broken":   fmt.Sprintf(`fetching keys of GitHub user "broken": %s/broken.keys answered 500 Internal Server Error`, gh.URL),
		"../admin": `invalid GitHub user name "../admin"`,
		"sso":      `fetching keys of GitHub user "sso": none of the 2 lines of the response is an SSH public key`,
		"huge":     fmt.Sprintf(`fetching keys of GitHub user "huge": %s/huge.keys sent more than 1048576 bytes`, gh.URL),
	}
	if diff := cmp.Diff(wantFailed, failures(got)); diff != "" {
		t.Errorf("failed (-want +got):\n%s", diff)
	}
	if !errors.Is(got.Failed["ghost"], ErrUserNotFound) {
		t.Errorf("Failed[ghost] = %v, want it to wrap ErrUserNotFound", got.Failed["ghost"])
	}
	wantRequests := map[string]int{"alice": 1, "bob": 1, "carol": 1, "dave": 1, "ghost": 1, "broken": 1, "sso": 1, "huge": 1}
	if diff := cmp.Diff(wantRequests, gh.requestCounts()); diff != "" {
		t.Errorf("requests per user (-want +got):\n%s", diff)
	}
}

func TestFetchTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; the client gives up
	}))
	t.Cleanup(srv.Close)
	f := &Fetcher{BaseURL: srv.URL, Client: &http.Client{Timeout: 200 * time.Millisecond}}

	got := f.Fetch(context.Background(), []string{"slow"})

	if len(got.Keys) != 0 || len(got.Failed) != 1 {
		t.Fatalf("Fetch() = %+v, want only a failure for slow", got)
	}
	if err := got.Failed["slow"]; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Failed[slow] = %v, want a timeout", err)
	}
}

func TestFetchCanceledContext(t *testing.T) {
	gh := newFakeGitHub(t, map[string]response{"alice": {http.StatusOK, testKeys()["ed25519-a"].line("x")}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	got := (&Fetcher{BaseURL: gh.URL}).Fetch(ctx, []string{"alice"})

	if err := got.Failed["alice"]; !errors.Is(err, context.Canceled) {
		t.Errorf("Failed[alice] = %v, want context.Canceled", err)
	}
	if len(got.Keys) != 0 {
		t.Errorf("Keys = %v, want none", got.Keys)
	}
}

// TestFetchOncePerUser checks that a Fetcher asks GitHub about each user once
// per run, failures included, however many Fetch calls overlap.
func TestFetchOncePerUser(t *testing.T) {
	k := testKeys()
	gh := newFakeGitHub(t, map[string]response{
		"alice":  {http.StatusOK, k["ed25519-a"].line("x")},
		"bob":    {http.StatusOK, k["ecdsa"].line("y")},
		"broken": {http.StatusBadGateway, ""},
	})
	f := &Fetcher{BaseURL: gh.URL}
	userLists := [][]string{
		{"alice", "bob"},
		{"bob", "broken"},
		{"alice", "broken", "ghost"},
		{"ghost", "alice"},
	}

	results := make([]Result, 2*len(userLists))
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = f.Fetch(context.Background(), userLists[i%len(userLists)]) })
	}
	wg.Wait()

	wantRequests := map[string]int{"alice": 1, "bob": 1, "broken": 1, "ghost": 1}
	if diff := cmp.Diff(wantRequests, gh.requestCounts()); diff != "" {
		t.Errorf("requests per user (-want +got):\n%s", diff)
	}
	for i := range userLists {
		a, b := results[i], results[i+len(userLists)]
		if diff := cmp.Diff(a.Keys, b.Keys); diff != "" {
			t.Errorf("two fetches of %v differ in keys (-first +second):\n%s", userLists[i], diff)
		}
		if diff := cmp.Diff(failures(a), failures(b)); diff != "" {
			t.Errorf("two fetches of %v differ in failures (-first +second):\n%s", userLists[i], diff)
		}
	}
}

func TestFetchDeterministic(t *testing.T) {
	k := testKeys()
	gh := newFakeGitHub(t, map[string]response{
		"alice": {http.StatusOK, k["rsa3072"].line("b") + "\n" + k["ed25519-a"].line("a") + "\n" + dsaLine},
		"bob":   {http.StatusOK, k["ecdsa"].line("y") + "\n" + k["ed25519-b"].line("z") + "\n" + k["rsa1024"].line("w")},
		"carol": {http.StatusOK, k["ed25519-a"].line("same as alice")},
	})
	users := []string{"carol", "bob", "alice"}
	reversed := []string{"alice", "bob", "carol"}

	first := (&Fetcher{BaseURL: gh.URL}).Fetch(context.Background(), users)
	second := (&Fetcher{BaseURL: gh.URL}).Fetch(context.Background(), reversed)

	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("results differ with the order of users (-first +second):\n%s", diff)
	}
	if len(first.Keys) != 4 || len(first.Weak) != 2 {
		t.Errorf("Fetch() = %d keys and %d weak, want 4 and 2", len(first.Keys), len(first.Weak))
	}
}

// TestFetchBoundsConcurrency checks that no more than maxConcurrent requests
// are in flight: every request waits until that many are, so a missing bound
// shows as more, and a lower one would never let the first requests finish.
func TestFetchBoundsConcurrency(t *testing.T) {
	var (
		mu       sync.Mutex
		inFlight int
		most     int
		full     = make(chan struct{})
		fill     sync.Once
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == maxConcurrent {
			fill.Do(func() { close(full) })
		}
		mu.Unlock()
		select {
		case <-full:
		case <-r.Context().Done():
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	var users []string
	for i := range 3 * maxConcurrent {
		users = append(users, fmt.Sprintf("user%d", i))
	}

	got := (&Fetcher{BaseURL: srv.URL}).Fetch(context.Background(), users)

	if len(got.Failed) != 0 {
		t.Errorf("Failed = %v, want none", got.Failed)
	}
	mu.Lock()
	defer mu.Unlock()
	if most != maxConcurrent {
		t.Errorf("at most %d requests were in flight, want %d", most, maxConcurrent)
	}
}
