package projects

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Contested channels.
//
// Two project files naming the same channel (without a grant) are both
// frozen by Load: the repo cannot tell which team the channel belongs to,
// and someone who can write one project file could otherwise take another
// team's channel — its notices, its Extend buttons, the webhook admins set
// up for it. But freezing both lets that someone freeze any other project
// at will (its notices then go to admins and its lifecycle pauses). So a
// run settles the contest with what such a writer cannot forge: the channel
// launchwarden recorded for each project on that project's own templates,
// in a signed marker (see reconcile.TagChannel). The project recorded as a
// contested channel's owner keeps working — unfrozen when the contest was
// its file's only problem — and the newcomers stay frozen, their problem
// naming the owner. With no record, or more than one project recorded for
// the channel (e.g. on a first run, or after a grant to share it was
// withdrawn), nobody can be told apart and every claimant stays frozen.
//
// Someone who can also delete tags could delete the owner's markers: then
// both claimants freeze, as with no record, and never only the owner.

// claim is one channel problem of a project file.
type claim struct {
	channel string  // as the file writes it
	problem Problem // as reported; its place (file, line, column, key) finds it
}

// contest is a frozen project that claims a contested channel.
type contest struct {
	proj   *Project // the file resolved; used only if it was the only problem
	claims []claim
	only   bool // the claims are all of the file's problems
	warns  Problems
}

// contest records a frozen project file's channel claims, if it has any.
func (c *Config) contest(pf *projectFile, proj *Project) {
	if len(pf.claims) == 0 {
		return
	}
	if c.contests == nil {
		c.contests = map[string]*contest{}
	}
	c.contests[pf.name] = &contest{proj: proj, claims: pf.claims, only: len(pf.claims) == len(pf.d.probs), warns: pf.d.warns}
}

// Contested returns the frozen projects that Settle would unfreeze if the
// record named them as the owner of every channel they claim: their
// lookups belong in the observation that settles the contest.
func (c *Config) Contested() []*Project {
	var out []*Project
	for _, name := range slices.Sorted(maps.Keys(c.contests)) {
		if ct := c.contests[name]; ct.only && ct.proj != nil {
			out = append(out, ct.proj)
		}
	}
	return out
}

// Settle decides the contested channels with owner, which returns the one
// project launchwarden recorded as a channel's owner (by ChannelKey), or ""
// when there is no such record or more than one. A contested project loses
// the problems of the channels it is recorded as owning, and is no longer
// frozen when no problem is left; another claimant's problem then names the
// owner. It returns the projects unfrozen. Settling again changes nothing.
func (c *Config) Settle(owner func(channel string) string) []string {
	var unfrozen []string
	for _, name := range slices.Sorted(maps.Keys(c.contests)) {
		ct := c.contests[name]
		probs := c.Frozen[name]
		for _, cl := range ct.claims {
			j := slices.IndexFunc(probs, func(p Problem) bool {
				return p.File == cl.problem.File && p.Line == cl.problem.Line && p.Column == cl.problem.Column && p.Key == cl.problem.Key
			})
			if j < 0 {
				continue // cut by the bound on problems, or settled already
			}
			switch o := owner(ChannelKey(cl.channel)); {
			case o == name:
				probs = slices.Delete(probs, j, j+1)
			case o != "":
				probs[j].Message = fmt.Sprintf("%s is the channel of project %s, as launchwarden recorded it: this file's claim is refused", cl.channel, o)
			}
		}
		c.Frozen[name] = probs
		if len(probs) > 0 || ct.proj == nil {
			continue
		}
		delete(c.Frozen, name)
		delete(c.FrozenParts, name)
		delete(c.contests, name)
		c.Projects = append(c.Projects, ct.proj)
		slices.SortFunc(c.Projects, func(a, b *Project) int { return strings.Compare(a.Name, b.Name) })
		c.Warnings = append(c.Warnings, ct.warns...)
		unfrozen = append(unfrozen, name)
	}
	return unfrozen
}
