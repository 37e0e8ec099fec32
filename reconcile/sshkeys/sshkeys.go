// Package sshkeys decides which SSH public keys of GitHub users go into a
// launch template. It fetches the keys GitHub publishes at
// https://github.com/<user>.keys, drops weak ones (DSA, RSA under 2048 bits)
// and skips malformed lines, reporting both so the plan can say why a key is
// missing.
//
// A Fetcher lives for one run: it asks GitHub about each user at most once,
// however many templates list that user, and forgets everything, failures
// included, when the run ends.
//
// The caller's rule when GitHub fails: if Result.Failed is not empty, the
// caller keeps the keys that the template's current version already holds
// (userdata.KeysFromUserData reads them back) and never publishes a version
// with fewer keys because GitHub was down or slow. A user who exists but has
// no keys is not a failure: that user contributes no keys.
package sshkeys

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	// DefaultBaseURL is where GitHub serves <user>.keys.
	DefaultBaseURL = "https://github.com"

	// MinRSABits is the smallest RSA modulus accepted; smaller keys are weak.
	MinRSABits = 2048

	// dsaType is the key type of DSA keys; x/crypto/ssh deprecated its own
	// name for it along with DSA support.
	dsaType = "ssh-dss"

	defaultTimeout = 10 * time.Second
	maxBodyBytes   = 1 << 20 // far above any real key list; bounds a misbehaving server
	maxConcurrent  = 8       // requests in flight per Fetcher
)

var (
	defaultClient = &http.Client{Timeout: defaultTimeout}
	discard       = slog.New(slog.DiscardHandler)
)

// ErrUserNotFound is wrapped by the error of a user GitHub does not know.
var ErrUserNotFound = errors.New("not found")

// Key is an accepted public key of a GitHub user.
type Key struct {
	User        string
	Type        string // SSH key type, e.g. "ssh-ed25519"
	Bits        int    // modulus or curve size
	Fingerprint string // SHA256:... as printed by ssh-keygen -l
	Line        string // authorized_keys line: type, base64 key and the comment "github:<user>"
}

// Weak is a key, or a line, that was dropped.
type Weak struct {
	User   string
	Type   string // SSH key type, or the line's first field if it did not parse
	Bits   int
	Reason string
}

// Result is what a Fetch learned about a set of users.
type Result struct {
	Keys   []Key            // accepted keys, sorted by user then line, each key at most once
	Weak   []Weak           // dropped keys and lines, sorted
	Failed map[string]error // user → why their keys could not be fetched; nil if none failed
}

// Fetcher fetches GitHub users' public keys. The zero value is ready to use
// and talks to github.com. A Fetcher is safe for concurrent use and is meant
// to live for one run: it remembers every answer, failures included, for as
// long as it lives.
type Fetcher struct {
	BaseURL string       // default DefaultBaseURL; keys live at <BaseURL>/<user>.keys
	Client  *http.Client // default: an http.Client with a 10s timeout
	Logger  *slog.Logger // default: discard

	mu    sync.Mutex
	calls map[string]*call // user → their one fetch in this run
	sem   chan struct{}    // bounds requests in flight
}

// call is the single fetch of one user's keys; done is closed once the
// other fields are set.
type call struct {
	done chan struct{}
	keys []Key
	weak []Weak
	err  error
}

// Fetch returns the keys of users, fetching users concurrently and each at
// most once per Fetcher. Failures are reported per user in Result.Failed; see
// the package comment for what the caller must do with them. A key that
// several users publish is kept once, under the first user in sort order.
func (f *Fetcher) Fetch(ctx context.Context, users []string) Result {
	users = slices.Clone(users)
	slices.Sort(users)
	users = slices.Compact(users)

	calls := make([]*call, len(users))
	var wg sync.WaitGroup
	for i, user := range users {
		c, sem, owner := f.claim(user)
		calls[i] = c
		if !owner {
			continue // another goroutine fetches this user; wait for it below
		}
		wg.Go(func() {
			defer close(c.done)
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				c.keys, c.weak, c.err = f.fetchUser(ctx, user)
			case <-ctx.Done():
				c.err = fmt.Errorf("fetching keys of GitHub user %q: %w", user, ctx.Err())
			}
		})
	}
	wg.Wait()

	var res Result
	seen := make(map[string]bool) // fingerprints
	for i, c := range calls {
		if err := c.wait(ctx); err != nil {
			addFailure(&res, users[i], fmt.Errorf("fetching keys of GitHub user %q: %w", users[i], err))
			continue
		}
		if c.err != nil {
			addFailure(&res, users[i], c.err)
			continue
		}
		// Users are sorted and each call's keys are sorted by line, so the
		// result is sorted without another pass.
		for _, k := range c.keys {
			if !seen[k.Fingerprint] {
				seen[k.Fingerprint] = true
				res.Keys = append(res.Keys, k)
			}
		}
		res.Weak = append(res.Weak, c.weak...)
	}
	return res
}

// wait waits for c to finish, or for ctx to end if c belongs to another
// Fetch that is still running.
func (c *call) wait(ctx context.Context) error {
	select {
	case <-c.done: // checked first so a finished call never looks canceled
		return nil
	default:
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func addFailure(res *Result, user string, err error) {
	if res.Failed == nil {
		res.Failed = make(map[string]error)
	}
	res.Failed[user] = err
}

// claim returns the call for user, creating it if this is the first time the
// user is asked for; owner reports whether the caller must run it.
func (f *Fetcher) claim(user string) (c *call, sem chan struct{}, owner bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = make(map[string]*call)
		f.sem = make(chan struct{}, maxConcurrent)
	}
	if c, ok := f.calls[user]; ok {
		return c, f.sem, false
	}
	c = &call{done: make(chan struct{})}
	f.calls[user] = c
	return c, f.sem, true
}

func (f *Fetcher) fetchUser(ctx context.Context, user string) ([]Key, []Weak, error) {
	if !validUser(user) {
		return nil, nil, fmt.Errorf("invalid GitHub user name %q", user)
	}
	base := cmp.Or(f.BaseURL, DefaultBaseURL)
	url := strings.TrimSuffix(base, "/") + "/" + user + ".keys"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching keys of GitHub user %q: %w", user, err)
	}
	client := f.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching keys of GitHub user %q: %w", user, err)
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil, fmt.Errorf("GitHub user %q %w", user, ErrUserNotFound)
	default:
		return nil, nil, fmt.Errorf("fetching keys of GitHub user %q: %s answered %s", user, url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("fetching keys of GitHub user %q: reading %s: %w", user, url, err)
	}
	if len(body) > maxBodyBytes {
		return nil, nil, fmt.Errorf("fetching keys of GitHub user %q: %s sent more than %d bytes", user, url, maxBodyBytes)
	}
	keys, weak, err := Parse(user, body)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching keys of GitHub user %q: %w", user, err)
	}
	log := cmp.Or(f.Logger, discard)
	for _, w := range weak {
		log.Warn("dropped github ssh key", "user", user, "type", w.Type, "bits", w.Bits, "reason", w.Reason)
	}
	log.Debug("fetched github ssh keys", "user", user, "keys", len(keys), "dropped", len(weak))
	return keys, weak, nil
}

// validUser reports whether name can be a GitHub login: ASCII letters, digits
// and single inner hyphens, at most 39 characters. It keeps a bad config value
// from turning into another path on the server.
func validUser(name string) bool {
	if name == "" || len(name) > 39 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Parse reads an authorized_keys body as GitHub serves it for user. Blank
// and comment lines are ignored; DSA keys, RSA keys under MinRSABits and
// certificates are dropped as weak; a line that does not parse is skipped
// and reported as weak with the parse error. Keys are returned sorted by
// line, each once, with the comment replaced by "github:<user>" (options,
// which GitHub never serves, are dropped).
//
// Parse fails only if the body has lines but none of them is a key: that is
// not a key list (an HTML error page from a proxy, say), and treating it as
// "this user has no keys" would remove keys from templates.
func Parse(user string, body []byte) ([]Key, []Weak, error) {
	var keys []Key
	var weak []Weak
	var malformed int
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil && firstField(line) == dsaType {
			// x/crypto/ssh no longer parses DSA keys; they are weak, not malformed.
			weak = append(weak, Weak{User: user, Type: dsaType, Bits: dsaBits(line), Reason: "DSA keys are insecure (OpenSSH disabled them)"})
			continue
		}
		if err != nil {
			malformed++
			weak = append(weak, Weak{User: user, Type: firstField(line), Reason: "malformed: " + err.Error()})
			continue
		}
		typ, bits := pub.Type(), keyBits(pub)
		if reason := weakness(pub, bits); reason != "" {
			weak = append(weak, Weak{User: user, Type: typ, Bits: bits, Reason: reason})
			continue
		}
		keys = append(keys, Key{
			User:        user,
			Type:        typ,
			Bits:        bits,
			Fingerprint: ssh.FingerprintSHA256(pub),
			Line:        strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n") + " github:" + user,
		})
	}
	if malformed > 0 && len(keys) == 0 && len(weak) == malformed {
		return nil, nil, fmt.Errorf("none of the %d lines of the response is an SSH public key", malformed)
	}
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.Line, b.Line) })
	keys = slices.CompactFunc(keys, func(a, b Key) bool { return a.Line == b.Line })
	slices.SortFunc(weak, compareWeak)
	return keys, weak, nil
}

func compareWeak(a, b Weak) int {
	return cmp.Or(
		strings.Compare(a.User, b.User),
		strings.Compare(a.Type, b.Type),
		cmp.Compare(a.Bits, b.Bits),
		strings.Compare(a.Reason, b.Reason),
	)
}

// weakness says why pub must not be installed, or "" if it may.
func weakness(pub ssh.PublicKey, bits int) string {
	if _, ok := pub.(*ssh.Certificate); ok {
		return "certificates are not accepted as keys"
	}
	if pub.Type() == ssh.KeyAlgoRSA && bits < MinRSABits {
		return fmt.Sprintf("RSA key of %d bits, under the %d-bit minimum", bits, MinRSABits)
	}
	return ""
}

// keyBits returns the size of pub's key: the RSA modulus or the elliptic
// curve; 0 if unknown.
func keyBits(pub ssh.PublicKey) int {
	cpk, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return 0
	}
	switch k := cpk.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	}
	return 0
}

// dsaBits returns the size of the prime of the ssh-dss key on line, 0 if the
// line does not hold one. It reads the wire format (RFC 4253 section 6.6:
// string "ssh-dss", mpint p, q, g, y) since x/crypto/ssh no longer does.
func dsaBits(line []byte) int {
	fields := strings.Fields(string(line))
	if len(fields) < 2 {
		return 0
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return 0
	}
	var w struct {
		Name       string
		P, Q, G, Y *big.Int
		Rest       []byte `ssh:"rest"`
	}
	if ssh.Unmarshal(blob, &w) != nil || w.Name != dsaType {
		return 0
	}
	return w.P.BitLen()
}

// firstField returns the first whitespace-separated field of line, cut short
// so a garbage line does not flood the plan.
func firstField(line []byte) string {
	f := string(line)
	if i := strings.IndexAny(f, " \t"); i >= 0 {
		f = f[:i]
	}
	if len(f) > 40 {
		f = f[:40] + "…"
	}
	return f
}
