package projects

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// SecretRef says where a secret lives: in an environment variable or a
// file. The secret itself never appears in the config.
type SecretRef struct {
	Env  string
	File string
}

// IsZero reports whether r refers to nothing.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" }

// String describes the reference, never the secret: "env:NAME" or
// "file:/path".
func (r SecretRef) String() string {
	switch {
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	}
	return "<none>"
}

// Resolve reads the secret. getenv is os.Getenv outside tests. Surrounding
// whitespace (a file's trailing newline, a stray space in an env file) is
// dropped; a secret holding any other control character is refused, with an
// error that says where but never echoes the value.
func (r SecretRef) Resolve(getenv func(string) string) (string, error) {
	var v string
	switch {
	case r.Env != "":
		v = strings.TrimSpace(getenv(r.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", r.Env)
		}
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return "", fmt.Errorf("read secret: %w", err)
		}
		v = strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", r.File)
		}
	default:
		return "", errors.New("no secret configured")
	}
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		return "", fmt.Errorf("the secret in %s holds a control character at byte %d of %d; write it on one line without control characters", r, i+1, len(v))
	}
	return v, nil
}
