// Package limits decides a project's effective limits (what it requests, within
// what the admins allow) and which of its instances exceed them.
//
// It is pure: Check sees the limits and the instances and returns the usage
// and the violations; the caller turns violations into lifecycle demands, so
// that nothing is stopped or terminated for a quota without notice.
package limits

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"
)

// Limits are a project's limits. Zero ints mean unlimited.
type Limits struct {
	MaxInstances, MaxVCPUs int
	// AllowedTypes lists instance type patterns with path.Match syntax
	// ("t3.*", "m5.large"); a type is allowed if it matches one. Empty allows
	// any type. An entry may join patterns with "&" ("m5.*&*.large"): a type
	// must match all of them. Effective writes such entries where two
	// overlapping globs have no single-glob intersection.
	AllowedTypes []string
}

// Actions a Violation asks for.
const (
	ActionStop      = "stop"
	ActionTerminate = "terminate"
)

// Kind is the kind of a Violation.
type Kind string

// The kinds of violation, from most to least severe action.
const (
	OverCount      Kind = "over-count"      // more instances than MaxInstances
	DisallowedType Kind = "disallowed-type" // a running type that AllowedTypes does not allow
	OverVCPUs      Kind = "over-vcpus"      // more running vCPUs than MaxVCPUs
)

// Instance is what Check needs to know about one instance.
type Instance struct {
	ID, Type string
	// State is the EC2 state name.
	State string
	// BornAt orders instances: the newest are chosen first.
	BornAt time.Time
	// VCPUs is the type's vCPU count; 0 if unknown, and then counted as 0.
	VCPUs int
}

// Usage is what a project uses against its limits.
type Usage struct {
	// Instances counts the instances that are not terminated or on their way
	// there: pending, running, stopping and stopped.
	Instances int
	// VCPUs counts the vCPUs of pending and running instances.
	VCPUs int
	// Limits are the limits the usage was checked against.
	Limits Limits
}

// Violation is one instance that has to go for the project to fit its limits.
type Violation struct {
	InstanceID string
	Kind       Kind
	// Action is ActionStop or ActionTerminate.
	Action string
	// Reason says why, for the team: "project uses 18 of 16 vCPUs".
	Reason string
}

// Effective returns the limits a project gets: its request within the admins'
// caps (the caller folds any grant into caps). Each int is the smaller of the
// two, zero being unlimited. A type is allowed if both lists allow it; the
// result keeps glob patterns rather than expanding them, joining two with "&"
// where no single pattern says the same.
func Effective(request, caps Limits) Limits {
	return Limits{
		MaxInstances: minLimit(request.MaxInstances, caps.MaxInstances),
		MaxVCPUs:     minLimit(request.MaxVCPUs, caps.MaxVCPUs),
		AllowedTypes: intersect(request.AllowedTypes, caps.AllowedTypes),
	}
}

// minLimit returns the smaller of two limits where zero is unlimited.
func minLimit(a, b int) int {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// intersect returns a pattern list that allows exactly the types both a and b
// allow (an empty list allows any). Each pair of entries contributes its
// intersection: the entry itself when both are equal or one is "*", the
// literal type when one entry has no wildcard and the other matches it,
// nothing when they cannot overlap, else both joined with "&".
func intersect(a, b []string) []string {
	if len(a) == 0 {
		return slices.Clone(b)
	}
	if len(b) == 0 {
		return slices.Clone(a)
	}
	var out, clashes []string
	for _, x := range a {
		for _, y := range b {
			p, ok := intersectPattern(x, y)
			switch {
			case !ok:
				clashes = append(clashes, p)
			case !slices.Contains(out, p):
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		// No type is allowed by both, but an empty list would allow any: keep
		// the clashing pairs, which match nothing and show what clashed.
		return clashes
	}
	return out
}

// intersectPattern returns one entry allowing what both x and y allow, and
// false when no type can match both (the entry is then x&y, matching nothing).
func intersectPattern(x, y string) (string, bool) {
	switch {
	// "*" allows anything but a "/" (path.Match), which no instance type has.
	case x == y || y == "*" && !strings.Contains(x, "/"):
		return x, true
	case x == "*" && !strings.Contains(y, "/"):
		return y, true
	case isLiteral(x) && matchAll(y, x):
		return x, true
	case isLiteral(y) && matchAll(x, y):
		return y, true
	case isLiteral(x) || isLiteral(y) || disjoint(x, y):
		return x + "&" + y, false
	}
	return x + "&" + y, true
}

// disjoint reports whether no type can match both globs, judging by their
// literal prefixes and suffixes: "t3.*" and "c6i.*" cannot overlap.
func disjoint(x, y string) bool {
	px, py := literalPrefix(x), literalPrefix(y)
	sx, sy := literalSuffix(x), literalSuffix(y)
	return !strings.HasPrefix(px, py) && !strings.HasPrefix(py, px) ||
		!strings.HasSuffix(sx, sy) && !strings.HasSuffix(sy, sx)
}

// literalPrefix returns the part of a pattern before its first special
// character, which every match starts with.
func literalPrefix(p string) string {
	if i := strings.IndexAny(p, `*?[\&`); i >= 0 {
		return p[:i]
	}
	return p
}

// literalSuffix returns the part of a pattern after its last "*" if that part
// is plain text, which every match then ends with; else "".
func literalSuffix(p string) string {
	s := p[strings.LastIndex(p, "*")+1:]
	if strings.ContainsAny(s, `*?[]\&`) {
		return ""
	}
	return s
}

// isLiteral reports whether an entry names one type: no wildcards, no "&".
func isLiteral(p string) bool {
	return !strings.ContainsAny(p, `*?[\&`)
}

// matchAll reports whether name matches every "&"-joined pattern of entry.
// A malformed pattern matches nothing.
func matchAll(entry, name string) bool {
	for p := range strings.SplitSeq(entry, "&") {
		if ok, err := path.Match(p, name); err != nil || !ok {
			return false
		}
	}
	return true
}

// Allows reports whether l allows instances of type instanceType.
func (l Limits) Allows(instanceType string) bool {
	if len(l.AllowedTypes) == 0 {
		return true
	}
	for _, entry := range l.AllowedTypes {
		if matchAll(entry, instanceType) {
			return true
		}
	}
	return false
}

// Check returns what instances use against l and which instances violate it.
//
// Instances are chosen newest first (BornAt descending, then ID), so that
// whoever launched last, over the limit, is the one asked to give way, and
// the choice is the same on every run. Each instance appears in at most one
// violation, the most severe, chosen in this order:
//
//  1. Over count: while there are more instances than MaxInstances, the
//     newest are terminated; stopping would not lower the count.
//  2. Disallowed type: every pending or running instance of a type l does
//     not allow is stopped (a stopped one only counts against the limits).
//  3. Over vCPUs: while the vCPUs of pending and running instances, less
//     those chosen above, exceed MaxVCPUs, the newest running instances are
//     stopped. Pending instances cannot be stopped yet: the next run sees
//     them running. An instance of unknown size (VCPUs 0) counts as 0 vCPUs
//     and is never chosen for this, as stopping it would not help by this
//     count; the caller warns about unknown sizes.
//
// Violations are returned in that order, newest first within each kind.
func Check(l Limits, instances []Instance) (Usage, []Violation) {
	live := make([]Instance, 0, len(instances))
	for _, in := range instances {
		if counts(in.State) {
			live = append(live, in)
		}
	}
	slices.SortFunc(live, func(a, b Instance) int {
		if c := b.BornAt.Compare(a.BornAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})

	u := Usage{Instances: len(live), Limits: l}
	for _, in := range live {
		if usesCPU(in.State) {
			u.VCPUs += in.VCPUs
		}
	}

	var out []Violation
	chosen := make(map[string]bool)
	if excess := u.Instances - l.MaxInstances; l.MaxInstances > 0 && excess > 0 {
		reason := fmt.Sprintf("project has %d of %d instances", u.Instances, l.MaxInstances)
		for _, in := range live[:excess] {
			chosen[in.ID] = true
			out = append(out, Violation{InstanceID: in.ID, Kind: OverCount, Action: ActionTerminate, Reason: reason})
		}
	}

	allowed := strings.Join(l.AllowedTypes, ", ")
	for _, in := range live {
		if chosen[in.ID] || !usesCPU(in.State) || l.Allows(in.Type) {
			continue
		}
		chosen[in.ID] = true
		out = append(out, Violation{
			InstanceID: in.ID, Kind: DisallowedType, Action: ActionStop,
			Reason: fmt.Sprintf("type %s is not allowed (allowed: %s)", in.Type, allowed),
		})
	}

	if l.MaxVCPUs > 0 && u.VCPUs > l.MaxVCPUs {
		reason := fmt.Sprintf("project uses %d of %d vCPUs", u.VCPUs, l.MaxVCPUs)
		remaining := u.VCPUs
		for _, in := range live {
			if chosen[in.ID] && usesCPU(in.State) {
				remaining -= in.VCPUs
			}
		}
		for _, in := range live {
			if remaining <= l.MaxVCPUs {
				break
			}
			if chosen[in.ID] || in.State != "running" || in.VCPUs <= 0 {
				continue
			}
			chosen[in.ID] = true
			remaining -= in.VCPUs
			out = append(out, Violation{InstanceID: in.ID, Kind: OverVCPUs, Action: ActionStop, Reason: reason})
		}
	}
	return u, out
}

// Rank is in's place in the order Check chooses instances in, as a string
// that sorts the same way (first chosen first): the newest first, then by
// ID. It holds digits, "/" and the ID, so a tag value can carry it.
func Rank(in Instance) string {
	var ns int64
	switch {
	case in.BornAt.Before(time.Unix(0, 0)):
	case in.BornAt.After(time.Unix(0, math.MaxInt64)):
		ns = math.MaxInt64
	default:
		ns = in.BornAt.UnixNano()
	}
	return fmt.Sprintf("%019d/%s", math.MaxInt64-ns, in.ID)
}

// counts reports whether an instance in state counts against MaxInstances.
// shutting-down does not: it is already on its way to terminated.
func counts(state string) bool {
	switch state {
	case "pending", "running", "stopping", "stopped":
		return true
	}
	return false
}

// usesCPU reports whether an instance in state counts against MaxVCPUs.
func usesCPU(state string) bool {
	return state == "pending" || state == "running"
}
