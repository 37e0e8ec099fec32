package ec2sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file models the part of IAM policy evaluation the emulator needs to
// enforce a Deny: the policy grammar (IAM User Guide, "IAM JSON policy
// element reference") and the condition operators ("IAM JSON policy
// elements: Condition operators").
//
// The emulator stays allow-by-default: Allow statements are parsed and
// checked for shape but never evaluated, so a caller without any policy, or
// with policies that only allow, may do everything. Only Deny statements
// can refuse a call; an explicit Deny overrides any Allow in AWS too.

// policy is one parsed identity-based policy document.
type policy struct {
	statements []statement
}

type statement struct {
	sid         string
	deny        bool
	actions     []string // Action, or NotAction when notAction
	notAction   bool
	resources   []string // Resource, or NotResource when notResource
	notResource bool
	conditions  []condition
}

// condition is one operator applied to one key: {"StringEquals": {"k": [v…]}}.
type condition struct {
	op       string // the operator as written, for messages
	base     string // the operator without qualifier and IfExists, e.g. "StringLike"
	ifExists bool
	set      string // "", "ForAnyValue" or "ForAllValues"
	key      string
	values   []string
}

// parsePolicy reads a policy document and rejects what the emulator cannot
// evaluate faithfully, so a test never passes because a condition was
// silently ignored.
func parsePolicy(doc []byte) (*policy, error) {
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if raw.Version != "2012-10-17" && raw.Version != "2008-10-17" {
		return nil, fmt.Errorf("policy: Version %q: want 2012-10-17", raw.Version)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw.Statement, &list); err != nil {
		list = []json.RawMessage{raw.Statement}
	}
	if len(list) == 0 || len(raw.Statement) == 0 {
		return nil, errors.New("policy: no Statement")
	}
	p := &policy{}
	for i, r := range list {
		st, err := parseStatement(r)
		if err != nil {
			return nil, fmt.Errorf("policy: statement %d: %w", i+1, err)
		}
		p.statements = append(p.statements, st)
	}
	return p, nil
}

func parseStatement(b json.RawMessage) (statement, error) {
	var raw struct {
		Sid          string                                `json:"Sid"`
		Effect       string                                `json:"Effect"`
		Principal    json.RawMessage                       `json:"Principal"`
		NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
		Action       json.RawMessage                       `json:"Action"`
		NotAction    json.RawMessage                       `json:"NotAction"`
		Resource     json.RawMessage                       `json:"Resource"`
		NotResource  json.RawMessage                       `json:"NotResource"`
		Condition    map[string]map[string]json.RawMessage `json:"Condition"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return statement{}, err
	}
	st := statement{sid: raw.Sid}
	switch raw.Effect {
	case "Deny":
		st.deny = true
	case "Allow":
	default:
		return st, fmt.Errorf("Effect %q: want Allow or Deny", raw.Effect)
	}
	if raw.Principal != nil || raw.NotPrincipal != nil {
		return st, errors.New("Principal: an identity-based policy names no principal")
	}
	var err error
	if st.actions, st.notAction, err = either("Action", raw.Action, raw.NotAction); err != nil {
		return st, err
	}
	if st.resources, st.notResource, err = either("Resource", raw.Resource, raw.NotResource); err != nil {
		return st, err
	}
	ops := make([]string, 0, len(raw.Condition))
	for op := range raw.Condition {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		keys := make([]string, 0, len(raw.Condition[op]))
		for k := range raw.Condition[op] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, key := range keys {
			c, err := parseCondition(op, key, raw.Condition[op][key])
			if err != nil {
				return st, fmt.Errorf("Condition %s %s: %w", op, key, err)
			}
			st.conditions = append(st.conditions, c)
		}
	}
	return st, nil
}

// either returns the values of exactly one of name and Not<name>.
func either(name string, yes, no json.RawMessage) ([]string, bool, error) {
	switch {
	case yes != nil && no != nil:
		return nil, false, fmt.Errorf("both %s and Not%s", name, name)
	case yes != nil:
		v, err := stringList(yes)
		return v, false, err
	case no != nil:
		v, err := stringList(no)
		return v, true, err
	}
	return nil, false, fmt.Errorf("neither %s nor Not%s", name, name)
}

// stringList reads a policy value: one string or a list of them. Numbers
// and booleans are accepted as IAM does and kept as written.
func stringList(b json.RawMessage) ([]string, error) {
	var many []json.RawMessage
	if err := json.Unmarshal(b, &many); err != nil {
		many = []json.RawMessage{b}
	}
	out := make([]string, 0, len(many))
	for _, m := range many {
		var s string
		if err := json.Unmarshal(m, &s); err == nil {
			if strings.Contains(s, "${") {
				return nil, fmt.Errorf("%q: policy variables are not modelled", s)
			}
			out = append(out, s)
			continue
		}
		var n json.Number
		var bl bool
		switch {
		case json.Unmarshal(m, &n) == nil:
			out = append(out, n.String())
		case json.Unmarshal(m, &bl) == nil:
			out = append(out, strconv.FormatBool(bl))
		default:
			return nil, fmt.Errorf("want a string or a list of strings, got %s", m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// operators are the condition operators the emulator evaluates, mapped to
// whether they are negated ("Not" operators match when no value matches,
// and when the key is absent).
var operators = map[string]bool{
	"StringEquals": false, "StringNotEquals": true,
	"StringEqualsIgnoreCase": false, "StringNotEqualsIgnoreCase": true,
	"StringLike": false, "StringNotLike": true,
	"NumericEquals": false, "NumericNotEquals": true,
	"NumericLessThan": false, "NumericLessThanEquals": false,
	"NumericGreaterThan": false, "NumericGreaterThanEquals": false,
	"Bool":      false,
	"ArnEquals": false, "ArnLike": false, "ArnNotEquals": true, "ArnNotLike": true,
	"Null": false,
}

func parseCondition(op, key string, b json.RawMessage) (condition, error) {
	c := condition{op: op, key: key}
	base := op
	if q, rest, ok := strings.Cut(base, ":"); ok {
		if q != "ForAnyValue" && q != "ForAllValues" {
			return c, fmt.Errorf("unknown set operator %q", q)
		}
		c.set, base = q, rest
	}
	if b, ok := strings.CutSuffix(base, "IfExists"); ok && b != "Null" {
		c.ifExists, base = true, b
	}
	if _, ok := operators[base]; !ok {
		return c, fmt.Errorf("operator %q is not modelled by the emulator", base)
	}
	if base == "Null" && (c.set != "" || c.ifExists) {
		return c, errors.New("Null takes no qualifier")
	}
	c.base = base
	var err error
	if c.values, err = stringList(b); err != nil {
		return c, err
	}
	if base == "Null" || base == "Bool" {
		for _, v := range c.values {
			if v != "true" && v != "false" {
				return c, fmt.Errorf("value %q: want true or false", v)
			}
		}
	}
	if strings.HasPrefix(base, "Numeric") {
		for _, v := range c.values {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return c, fmt.Errorf("value %q is not a number", v)
			}
		}
	}
	return c, nil
}

// requestContext holds the condition keys of one request (or of one
// resource of it). A key that is absent is not in the map; multivalued keys
// such as aws:TagKeys hold several values.
type requestContext map[string][]string

// lookup finds key case-insensitively, as IAM matches condition key names.
// Tag keys inside aws:ResourceTag/… and aws:RequestTag/… stay
// case-sensitive, as EC2 tag keys are.
func (rc requestContext) lookup(key string) ([]string, bool) {
	if v, ok := rc[key]; ok {
		return v, true
	}
	prefix, rest, hasSlash := strings.Cut(key, "/")
	for k, v := range rc {
		kp, kr, kSlash := strings.Cut(k, "/")
		if kSlash == hasSlash && strings.EqualFold(kp, prefix) && kr == rest {
			return v, true
		}
	}
	return nil, false
}

// holds reports whether the condition is true in rc, following "Condition
// operators": a missing key makes a condition false, except for negated
// operators (true), …IfExists (true) and Null; ForAllValues over an empty
// set is true and ForAnyValue false ("Set operators for multivalued context
// keys").
func (c condition) holds(rc requestContext) bool {
	vals, ok := rc.lookup(c.key)
	if c.base == "Null" {
		want := slices.Contains(c.values, "true")
		wantPresent := slices.Contains(c.values, "false")
		return (!ok && want) || (ok && wantPresent)
	}
	negated := operators[c.base]
	switch c.set {
	case "ForAllValues":
		for _, v := range vals {
			if !c.single(v, negated) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, v := range vals {
			if c.single(v, negated) {
				return true
			}
		}
		return false
	}
	if !ok {
		return c.ifExists || negated
	}
	if negated {
		// A negated operator with several values is their logical AND: true
		// only when the key matches none of them.
		for _, v := range vals {
			if !c.single(v, true) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.single(v, false) {
			return true
		}
	}
	return false
}

// single evaluates the operator for one context value against every policy
// value: any match for a positive operator, no match for a negated one.
func (c condition) single(v string, negated bool) bool {
	found := false
	for _, p := range c.values {
		if c.match(v, p) {
			found = true
			break
		}
	}
	return found != negated
}

// match is the positive form of the operator for one context value v and
// one policy value p.
func (c condition) match(v, p string) bool {
	switch c.base {
	case "StringEquals", "StringNotEquals":
		return v == p
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold(v, p)
	case "StringLike", "StringNotLike":
		return wildcard(p, v, false)
	case "Bool":
		return strings.EqualFold(v, p)
	case "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike":
		return arnMatch(p, v)
	}
	// Numeric operators: an unparsable context value matches nothing.
	x, err1 := strconv.ParseFloat(v, 64)
	y, err2 := strconv.ParseFloat(p, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch c.base {
	case "NumericEquals", "NumericNotEquals":
		return x == y
	case "NumericLessThan":
		return x < y
	case "NumericLessThanEquals":
		return x <= y
	case "NumericGreaterThan":
		return x > y
	case "NumericGreaterThanEquals":
		return x >= y
	}
	return false
}

// arnMatch compares an ARN with a pattern component by component: each of
// the six colon-separated parts may hold * and ? wildcards (ArnEquals and
// ArnLike behave the same, per "Amazon Resource Name (ARN) condition
// operators"). The last part keeps any further colons.
func arnMatch(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !wildcard(pp[i], ap[i], false) {
			return false
		}
	}
	return true
}

// wildcard matches s against a pattern where * is any run of characters
// and ? one character, as Action, Resource and StringLike do.
func wildcard(pattern, s string, foldCase bool) bool {
	if foldCase {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// Iterative glob with backtracking to the last star.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// appliesTo reports whether the statement covers action ("ec2:RunInstances";
// matched case-insensitively) and resource ARN (case-sensitive).
func (st statement) appliesTo(action, resource string) bool {
	hit := false
	for _, a := range st.actions {
		if wildcard(a, action, true) {
			hit = true
			break
		}
	}
	if hit == st.notAction {
		return false
	}
	hit = false
	for _, r := range st.resources {
		if wildcard(r, resource, false) {
			hit = true
			break
		}
	}
	return hit != st.notResource
}

// conditionsHold reports whether every condition of the statement holds:
// operators, keys within an operator, all AND; values within a key OR.
func (st statement) conditionsHold(rc requestContext) bool {
	for _, c := range st.conditions {
		if !c.holds(rc) {
			return false
		}
	}
	return true
}
