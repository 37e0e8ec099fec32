package projects

import (
	"errors"
	"fmt"
	"os"
	"strings"
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

// Resolve reads the secret. getenv is os.Getenv outside tests. A trailing
// newline of a file is dropped.
func (r SecretRef) Resolve(getenv func(string) string) (string, error) {
	switch {
	case r.Env != "":
		v := getenv(r.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", r.Env)
		}
		return v, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return "", fmt.Errorf("read secret: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", r.File)
		}
		return v, nil
	}
	return "", errors.New("no secret configured")
}
