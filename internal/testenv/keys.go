package testenv

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

var keyLines sync.Map

// KeyLine is the deterministic ed25519 public key line (authorized_keys
// form, without comment) the keys server gives a GitHub user.
func KeyLine(t testing.TB, user string) string {
	if v, ok := keyLines.Load(user); ok {
		return v.(string)
	}
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, user)
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	if err != nil {
		t.Error(err)
		return ""
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	keyLines.Store(user, line)
	return line
}

// KeysHandler serves GitHub's /<user>.keys with KeyLine for every user,
// but users named "ghost" do not exist (404), and under
// /broken-for-<user>/ that user's keys fail with a 503.
func KeysHandler(t testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := strings.TrimSuffix(path.Base(r.URL.Path), ".keys")
		if user == "ghost" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/broken-for-"+user+"/"+user+".keys" {
			http.Error(w, "unicorn", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, KeyLine(t, user))
	})
}
