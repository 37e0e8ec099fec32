package projects

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Checks that close the gaps issue 12 found between what a project file may
// ask for and what only admins should decide: a lifecycle mode that stops
// nothing, a stopped instance kept forever, SSH from the world in halves,
// and notices sent to a channel the project does not own.

// lifecycleCaps checks the project's own mode and terminate_stopped_after.
// A mode other than enforce (or the admin's default) needs a grant:
// notify-only leaves instances running forever and quotas unenforced, and
// stop-only keeps stopped volumes forever.
func (r resolver) lifecycleCaps(raw Lifecycle) {
	if !r.checkCaps {
		return
	}
	if m := raw.Mode; m != "" && m != ModeEnforce && m != r.defaults.Lifecycle.Mode && !slices.Contains(r.caps.AllowedModes, m) {
		r.d.report("lifecycle.mode", r.grantHint("allowed_modes", fmt.Sprintf("[%q]", m)),
			"mode %q needs an admin grant (caps.allowed_modes is %s)", m, quoteList(r.caps.AllowedModes))
	}
	if raw.TerminateStoppedAfter > r.caps.MaxTerminateStoppedAfter {
		r.d.report("lifecycle.terminate_stopped_after", r.grantHint("max_terminate_stopped_after", fmt.Sprintf("%q", raw.TerminateStoppedAfter)),
			"terminate_stopped_after %s is above the cap of %s (caps.max_terminate_stopped_after)", raw.TerminateStoppedAfter, r.caps.MaxTerminateStoppedAfter)
	}
}

// sshPrefixCap reports an ssh_from prefix shorter than the caps allow: with
// /1 allowed, two entries are the whole internet. Private ranges (RFC 1918,
// RFC 4193) are exempt: however many, they never add up to the internet.
func (r resolver) sshPrefixCap(path, cidr string) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return // reported when decoding
	}
	min, key := r.caps.MinSSHPrefixIPv4, "min_ssh_prefix_ipv4"
	if p.Addr().Is6() && !p.Addr().Is4In6() {
		min, key = r.caps.MinSSHPrefixIPv6, "min_ssh_prefix_ipv6"
	}
	if p.Bits() < min && !private(p) {
		r.d.report(path, fmt.Sprintf("list the networks you connect from, at most /%d each, or %s", min, r.grantHint(key, fmt.Sprint(p.Bits()))),
			"%s is wider than /%d (caps.%s): wide prefixes add up to the whole internet", cidr, min, key)
	}
}

// ChannelKey is how Slack tells channels apart: a name is the same with or
// without '#' and in any case; an id is itself. (A name and an id cannot be
// matched without asking Slack, so admins should write each channel one
// way.)
func ChannelKey(c string) string {
	if slackChannelID.MatchString(c) {
		return c
	}
	return "#" + strings.ToLower(strings.TrimPrefix(c, "#"))
}

// channelHint is said with every channel claimed by two projects.
const channelHint = "use the team's own channel, or ask an admin for a grant in launchwarden.toml: [grants.%s] shared_channels = [%q]; " +
	"a run freezes only the newcomer where launchwarden recorded which project owns the channel, else both"

// checkChannels reports every project whose channel is the admin channel or
// another project's, unless its grant lists the channel in
// shared_channels. Sharing would send a team's notices, with their Extend
// buttons, where they do not belong, and use webhooks the admins set up for
// someone else. When two projects share a channel, each needs the grant:
// which one owns it cannot be told from the repo, so both are reported and
// frozen here. A run can tell: Config.Settle unfreezes the project that the
// last runs recorded as the channel's owner, so that a file claiming another
// team's channel freezes only itself. Each such problem is kept in
// pf.claims.
func checkChannels(parsed []*projectFile, a *Admin) {
	users := map[string][]*projectFile{}
	for _, pf := range parsed {
		if c := pf.raw.SlackChannel; c != "" {
			users[ChannelKey(c)] = append(users[ChannelKey(c)], pf)
		}
	}
	admin := ChannelKey(a.Slack.AdminChannel)
	for _, pf := range parsed {
		c := pf.raw.SlackChannel
		if c == "" || slices.ContainsFunc(a.Grants[pf.name].SharedChannels, func(g string) bool { return ChannelKey(g) == ChannelKey(c) }) {
			continue
		}
		if ChannelKey(c) == admin {
			pf.d.report("slack.channel", fmt.Sprintf("use the team's own channel, or ask an admin for a grant in launchwarden.toml: [grants.%s] shared_channels = [%q]", pf.name, c),
				"%s is the admin channel", c)
			continue
		}
		var others []string
		for _, o := range users[ChannelKey(c)] {
			if o != pf {
				others = append(others, o.d.file)
			}
		}
		if len(others) > 0 {
			pf.d.report("slack.channel", fmt.Sprintf(channelHint, pf.name, c), "%s is also the channel of %s", c, strings.Join(others, ", "))
			pf.claims = append(pf.claims, claim{channel: c, problem: pf.d.probs[len(pf.d.probs)-1]})
		}
	}
}

// privateRanges are RFC 1918's and RFC 4193's address blocks.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// private reports whether all of p is private address space.
func private(p netip.Prefix) bool {
	return slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return r.Bits() <= p.Bits() && r.Contains(p.Addr()) })
}
