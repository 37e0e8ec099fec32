package notify

import (
	"cmp"
	"slices"
	"time"
)

// Group turns a run's notices into one digest per channel, ordered by
// channel. Inside a digest, notices are ordered by kind (see Kinds), then
// deadline, then instance (then every other field), so the same notices in
// any order render the same message. Exact duplicates are dropped.
//
// A channel whose notices all belong to one project gets that project and
// its usage from usage (keyed by project); otherwise Project is "" and
// Usage nil. Notices with an empty Channel are grouped too, so that their
// undelivery is visible rather than silent.
func Group(runID string, now time.Time, notices []Notice, usage map[string]Usage) []Digest {
	byChannel := make(map[string][]Notice)
	for _, n := range notices {
		n.Deadline = n.Deadline.UTC()
		byChannel[n.Channel] = append(byChannel[n.Channel], n)
	}

	channels := make([]string, 0, len(byChannel))
	for c := range byChannel {
		channels = append(channels, c)
	}
	slices.Sort(channels)

	digests := make([]Digest, 0, len(channels))
	for _, c := range channels {
		ns := byChannel[c]
		slices.SortFunc(ns, compareNotices)
		// compareNotices weighs every field but the channel, which the digest
		// shares, so duplicates are neighbours
		// once sorted.
		ns = slices.CompactFunc(ns, func(a, b Notice) bool { return compareNotices(a, b) == 0 })
		d := Digest{Channel: c, Project: soleProject(ns), RunID: runID, Now: now.UTC(), Notices: ns}
		if u, ok := usage[d.Project]; ok && d.Project != "" {
			d.Usage = &u
		}
		digests = append(digests, d)
	}
	return digests
}

// kindRank is the position of a kind in Kinds; unknown kinds go last.
func kindRank(k Kind) int {
	if i, ok := kindRanks[k]; ok {
		return i
	}
	return len(Kinds)
}

var kindRanks = func() map[Kind]int {
	m := make(map[Kind]int, len(Kinds))
	for i, k := range Kinds {
		m[k] = i
	}
	return m
}()

func compareNotices(a, b Notice) int {
	// The common keys first, so most comparisons end early: cmp.Or
	// evaluates all its arguments.
	if c := cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)); c != 0 {
		return c
	}
	if c := a.Deadline.Compare(b.Deadline); c != 0 {
		return c
	}
	if c := cmp.Compare(a.InstanceID, b.InstanceID); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Project, b.Project),
		cmp.Compare(a.Template, b.Template),
		cmp.Compare(a.Account, b.Account),
		cmp.Compare(a.Region, b.Region),
		cmp.Compare(a.Action, b.Action),
		cmp.Compare(a.Reason, b.Reason),
		cmp.Compare(a.Detail, b.Detail),
		cmp.Compare(a.InstanceType, b.InstanceType),
		a.TerminateAt.Compare(b.TerminateAt),
	)
}

// soleProject is the project every notice names, or "" when they name
// several or none.
func soleProject(ns []Notice) string {
	p := ""
	for _, n := range ns {
		switch {
		case n.Project == "":
			return ""
		case p == "":
			p = n.Project
		case p != n.Project:
			return ""
		}
	}
	return p
}
