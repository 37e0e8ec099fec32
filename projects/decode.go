package projects

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decoder turns the generic tree BurntSushi/toml parses into our types,
// reporting every problem instead of stopping at the first. Working on the
// generic tree (rather than toml.Decode into structs) is what lets one pass
// find all wrong types and unknown keys of a file.
type decoder struct {
	file  string
	ix    keyIndex
	probs Problems
	warns Problems // see warnings.go
	// homes maps a key to the table it belongs in, to explain keys written
	// in the wrong table.
	homes map[string]string
}

// parse parses src. On a syntax error it reports the error and returns nil.
func (d *decoder) parse(src string) map[string]any {
	if p := scanBounds(src); p != nil {
		p.File = d.file
		p.Hint = "a config file this deep or this big is a mistake; nothing of it was read"
		d.probs = append(d.probs, *p)
		return nil
	}
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		p := Problem{File: d.file, Message: "TOML syntax error: " + clip(err.Error(), maxQuote)}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line, p.Column = pe.Position.Line, pe.Position.Col
			p.Message = "TOML syntax error: " + clip(pe.Message, maxQuote)
			p.Key = clip(pe.LastKey, maxQuote)
			if pe.Usage != "" {
				p.Hint = firstSentence(pe.Usage)
			}
		}
		d.probs = append(d.probs, p)
		return nil
	}
	d.ix = indexKeys(src)
	d.findSecrets("", m)
	return m
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ":")
}

// report adds a problem at key path. String arguments are what the file
// says, so each is cut to a short excerpt.
func (d *decoder) report(path, hint, format string, args ...any) {
	pos := d.ix.lookup(path)
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s, maxQuote)
		}
	}
	d.probs = append(d.probs, Problem{
		File: d.file, Line: pos.line, Column: pos.col, Key: clip(path, maxQuote),
		Message: fmt.Sprintf(format, args...), Hint: hint,
	})
}

var (
	slackTokenRe   = regexp.MustCompile(`\bx(ox[abposr]|app)-[0-9A-Za-z-]{8,}`)
	slackWebhookRe = regexp.MustCompile(`hooks\.slack\.com/(services|workflows|triggers)/`)
)

// findSecrets reports string values that look like Slack credentials,
// wherever they are: secrets never live in the config repo.
func (d *decoder) findSecrets(path string, v any) {
	switch v := v.(type) {
	case string:
		if slackTokenRe.MatchString(v) {
			d.report(path, "put the token in an environment variable or a file and name it with token_env or token_file; then revoke this token, it is in the repo's history",
				"this looks like a Slack token; secrets must never be written in the config repo")
		} else if slackWebhookRe.MatchString(v) {
			d.report(path, "put the URL in an environment variable or a file and name it with url_env or url_file; then rotate the webhook, it is in the repo's history",
				"this looks like a Slack webhook URL, which is a secret; secrets must never be written in the config repo")
		}
	case map[string]any:
		for k, e := range v {
			d.findSecrets(joinKey(path, k), e)
		}
	case []map[string]any:
		for i, e := range v {
			d.findSecrets(indexPath(path, i), e)
		}
	case []any:
		for i, e := range v {
			d.findSecrets(indexPath(path, i), e)
		}
	}
}

// table is one TOML table being decoded.
type table struct {
	d    *decoder
	path string
	m    map[string]any
}

func (t table) keyPath(key string) string { return joinKey(t.path, key) }

func (t table) has(key string) bool {
	_, ok := t.m[key]
	return ok
}

// known reports every key of t not in keys, suggesting the closest known
// key or the table the key belongs in.
func (t table) known(keys ...string) {
	for k := range t.m {
		if slices.Contains(keys, k) {
			continue
		}
		hint := ""
		if s := closest(k, keys); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		} else if home, ok := t.d.homes[k]; ok && home != t.path {
			hint = fmt.Sprintf("%s belongs in the %s table", k, home)
		} else {
			hint = "known keys here: " + strings.Join(keys, ", ")
		}
		what := "key"
		if _, ok := t.m[k].(map[string]any); ok {
			what = "table"
		}
		t.d.report(t.keyPath(k), hint, "unknown %s %q", what, k)
	}
}

// typeName names a decoded TOML value's type for messages.
func typeName(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		switch v.Location().String() {
		case "date-local":
			return "a date"
		case "time-local":
			return "a time"
		}
		return "a date-time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

func (t table) wrongType(key, want, example string, v any) {
	hint := ""
	if example != "" {
		hint = "e.g. " + example
	}
	t.d.report(t.keyPath(key), hint, "must be %s, not %s", want, typeName(v))
}

// str returns the string at key; ok is false if absent or invalid.
func (t table) str(key string) (string, bool) {
	v, ok := t.m[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		t.wrongType(key, "a string", fmt.Sprintf("%s = \"…\"", key), v)
		return "", false
	}
	return s, true
}

// required reports key as missing unless present. A missing top-level key
// is reported at line 1.
func (t table) required(key, example string) bool {
	if t.has(key) {
		return true
	}
	hint := ""
	if example != "" {
		hint = "add " + example
	}
	if t.path == "" {
		t.d.probs = append(t.d.probs, Problem{File: t.d.file, Line: 1, Message: fmt.Sprintf("missing required key %q", key), Hint: hint})
		return false
	}
	t.d.report(t.path, hint, "missing required key %q", key)
	return false
}

// hasProblem reports whether path already has a problem.
func (d *decoder) hasProblem(path string) bool {
	return slices.ContainsFunc(d.probs, func(p Problem) bool { return p.Key == path })
}

// posInt returns the positive integer at key.
func (t table) posInt(key string) (int, bool) {
	v, ok := t.m[key]
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		t.wrongType(key, "an integer", key+" = 4", v)
		return 0, false
	}
	if n < 1 || n > 1<<31 {
		t.d.report(t.keyPath(key), "", "must be a positive whole number, not %d", n)
		return 0, false
	}
	return int(n), true
}

// prefixLen returns the CIDR prefix length (0 to bits) at key.
func (t table) prefixLen(key string, bits int) (int, bool) {
	v, ok := t.m[key]
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		t.wrongType(key, "an integer", key+" = 16", v)
		return 0, false
	}
	if n < 0 || n > int64(bits) {
		t.d.report(t.keyPath(key), "", "must be a prefix length from 0 to %d, not %d", bits, n)
		return 0, false
	}
	return int(n), true
}

func (t table) boolean(key string) (bool, bool) {
	v, ok := t.m[key]
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		t.wrongType(key, "true or false", key+" = false", v)
		return false, false
	}
	return b, true
}

// strs returns the array of strings at key.
func (t table) strs(key string) ([]string, bool) {
	v, ok := t.m[key]
	if !ok {
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok {
		t.wrongType(key, "an array of strings", key+` = ["…"]`, v)
		return nil, false
	}
	out := make([]string, 0, len(arr))
	good := true
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			t.d.report(indexPath(t.keyPath(key), i), "", "must be a string, not %s", typeName(e))
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

// duration returns the positive Duration at key.
func (t table) duration(key string) (Duration, bool) {
	v, ok := t.m[key]
	if !ok {
		return 0, false
	}
	s, ok := v.(string)
	if !ok {
		t.wrongType(key, `a duration string such as "3d", "12h" or "1d12h"`, "", v)
		return 0, false
	}
	if strings.HasPrefix(s, "-") {
		t.d.report(t.keyPath(key), `use a positive duration such as "3d"`, "duration %q is negative", s)
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		t.d.report(t.keyPath(key), `write a duration with units d, h, m, s, largest first, such as "7d", "36h" or "1d12h"`, "invalid duration: %v", err)
		return 0, false
	}
	if d <= 0 {
		t.d.report(t.keyPath(key), `use a positive duration such as "3d"`, "duration must be positive, not %q", s)
		return 0, false
	}
	return d, true
}

// timestamp returns the date-time at key, which must carry Z or an offset.
// A quoted RFC 3339 string is accepted too.
func (t table) timestamp(key string) (time.Time, bool) {
	v, ok := t.m[key]
	if !ok {
		return time.Time{}, false
	}
	const hint = "write a date-time with Z or an offset, e.g. 2026-12-01T18:00:00Z"
	switch v := v.(type) {
	case time.Time:
		switch v.Location().String() {
		case "datetime-local", "date-local", "time-local":
			t.d.report(t.keyPath(key), hint, "%s has no time zone", strings.TrimPrefix(typeName(v), "a "))
			return time.Time{}, false
		}
		return v, true
	case string:
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.d.report(t.keyPath(key), hint, "invalid date-time %q", v)
			return time.Time{}, false
		}
		return ts, true
	default:
		t.wrongType(key, "a date-time", "", v)
		return time.Time{}, false
	}
}

// sub returns the table at key.
func (t table) sub(key string) (table, bool) {
	v, ok := t.m[key]
	if !ok {
		return table{}, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.wrongType(key, "a table", "["+t.keyPath(key)+"]", v)
		return table{}, false
	}
	return table{d: t.d, path: t.keyPath(key), m: m}, true
}

// list returns the array of tables at key ([[key]] or key = [{…}]).
func (t table) list(key string) ([]table, bool) {
	v, ok := t.m[key]
	if !ok {
		return nil, false
	}
	var out []table
	switch v := v.(type) {
	case []map[string]any:
		for i, m := range v {
			out = append(out, table{d: t.d, path: indexPath(t.keyPath(key), i), m: m})
		}
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				t.d.report(indexPath(t.keyPath(key), i), "use [["+t.keyPath(key)+"]] sections", "must be a table, not %s", typeName(e))
				continue
			}
			out = append(out, table{d: t.d, path: indexPath(t.keyPath(key), i), m: m})
		}
	default:
		t.wrongType(key, "an array of tables", "[["+t.keyPath(key)+"]]", v)
		return nil, false
	}
	return out, true
}

// closest returns the known key nearest to k, if near enough to be a typo.
func closest(k string, known []string) string {
	best, bestDist := "", max(2, len(k)/3)+1
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
