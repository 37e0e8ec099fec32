package ec2sim

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ec2Namespace is the XML namespace of every EC2 response.
const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// params reads EC2 Query parameters below a prefix. EC2 flattens lists as
// Name.1, Name.2 and structures as Name.Member, so Filter.2.Value.1 is
// params{prefix: "Filter.2."}.list("Value").
type params struct {
	v      url.Values
	prefix string
}

func (p params) str(key string) string { return p.v.Get(p.prefix + key) }

func (p params) has(key string) bool {
	_, ok := p.v[p.prefix+key]
	return ok
}

// boolean reports whether key is "true" (case-insensitive), as botocore and
// the Go SDK both send.
func (p params) boolean(key string) bool { return strings.EqualFold(p.str(key), "true") }

// optBool returns nil when key is absent.
func (p params) optBool(key string) *bool {
	if !p.has(key) {
		return nil
	}
	b := p.boolean(key)
	return &b
}

// integer parses key; absent keys give def.
func (p params) integer(key string, def int) (int, error) {
	s := p.str(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errInvalidParameterValue("Invalid value '%s' for %s", s, key)
	}
	return n, nil
}

// indices returns the list positions present below key, sorted.
func (p params) indices(key string) []int {
	prefix := p.prefix + key + "."
	seen := map[int]bool{}
	for k := range p.v {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// list returns the scalar members key.1, key.2, … in order.
func (p params) list(key string) []string {
	var out []string
	for _, n := range p.indices(key) {
		if v, ok := p.v[p.prefix+key+"."+strconv.Itoa(n)]; ok && len(v) > 0 {
			out = append(out, v[0])
		}
	}
	return out
}

// sub returns the parameters of the structure at key.
func (p params) sub(key string) params { return params{v: p.v, prefix: p.prefix + key + "."} }

// items returns the structures key.1., key.2., … in order.
func (p params) items(key string) []params {
	var out []params
	for _, n := range p.indices(key) {
		out = append(out, p.sub(key+"."+strconv.Itoa(n)))
	}
	return out
}

// tags reads Tag.N.Key / Tag.N.Value pairs below key.
func (p params) tags(key string) ([]Tag, error) {
	var out []Tag
	for _, it := range p.items(key) {
		k := it.str("Key")
		if k == "" {
			return nil, errInvalidParameterValue("Tag key must not be empty")
		}
		out = append(out, Tag{Key: k, Value: it.str("Value")})
	}
	return out, nil
}

// apiError is an EC2 error as the Query protocol reports it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errInvalidParameterValue(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func errMissingParameter(name string) *apiError {
	return newError(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s", name)
}

// writeError writes EC2's error envelope.
func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		escape(e.Code), escape(e.Message), escape(requestID))
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// meta is embedded in every EC2 response body; encoding/xml inlines it.
type meta struct {
	RequestID string `xml:"requestId"`
}

func (m *meta) setRequestID(id string) { m.RequestID = id }

type response interface{ setRequestID(string) }

// writeResponse writes body as <ActionResponse xmlns="…">.
func writeResponse(w http.ResponseWriter, action, namespace string, body any) error {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	return encodeXML(w, action+"Response", namespace, body)
}

func encodeXML(w io.Writer, root, namespace string, body any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: root}}
	if namespace != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}
	}
	if err := enc.EncodeElement(body, start); err != nil {
		return fmt.Errorf("encode %s: %w", root, err)
	}
	return enc.Close()
}

// wireTime formats a timestamp the way EC2 does.
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// match reports whether s matches an EC2 filter pattern, where * matches
// any run of characters and ? any single character.
func match(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	p, t := []rune(pattern), []rune(s)
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(t) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == t[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// filter is one Filter.N of a Describe call: a match on any of the values.
type filter struct {
	name   string
	values []string
}

func parseFilters(p params) ([]filter, error) {
	var out []filter
	for _, it := range p.items("Filter") {
		f := filter{name: it.str("Name"), values: it.list("Value")}
		if f.name == "" {
			return nil, errMissingParameter("Filter.Name")
		}
		out = append(out, f)
	}
	return out, nil
}

// attrFunc returns a resource's values for a filter name; ok is false when
// the filter name is not supported for the resource.
type attrFunc[T any] func(name string, r T) (values []string, ok bool)

// checkFilters rejects filter names that attr does not know, using zero as a
// probe resource.
func checkFilters[T any](fs []filter, attr attrFunc[T], zero T) error {
	for _, f := range fs {
		if _, ok := attr(f.name, zero); !ok {
			return errInvalidParameterValue("The filter '%s' is invalid", f.name)
		}
	}
	return nil
}

// matches reports whether r passes every filter (AND across filters, OR
// within one filter's values).
func matches[T any](fs []filter, attr attrFunc[T], r T) bool {
	for _, f := range fs {
		vals, _ := attr(f.name, r)
		if !anyMatch(f.values, vals) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, vals []string) bool {
	for _, p := range patterns {
		for _, v := range vals {
			if match(p, v) {
				return true
			}
		}
	}
	return false
}

// tagAttr answers the tag filters shared by every taggable resource.
func tagAttr(name string, tags map[string]string) ([]string, bool) {
	switch {
	case strings.HasPrefix(name, "tag:"):
		v, ok := tags[strings.TrimPrefix(name, "tag:")]
		if !ok {
			return nil, true
		}
		return []string{v}, true
	case name == "tag-key":
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		return keys, true
	case name == "tag-value":
		vals := make([]string, 0, len(tags))
		for _, v := range tags {
			vals = append(vals, v)
		}
		return vals, true
	}
	return nil, false
}
