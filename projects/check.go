package projects

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"
)

// Formats of names and AWS ids.
var (
	nameRe          = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	imageRe         = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceIDRe    = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceTypeRe  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	slackChannelID  = regexp.MustCompile(`^[CG][A-Z0-9]{8,12}$`)
	slackChannelNam = regexp.MustCompile(`^#[a-z0-9][a-z0-9_-]{0,79}$`)
	accountIDRe     = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe        = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$`)
	azRe            = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9][a-z]$`)
	vpcIDRe         = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	subnetIDRe      = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
	roleARNRe       = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::([0-9]{12}):role/[\w+=,.@/-]{1,512}$`)
	envNameRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// nameProblem explains why s is not a valid project or template name, or
// returns "".
func nameProblem(s string) string {
	switch {
	case s == "":
		return "name is empty"
	case len(s) > 40:
		return fmt.Sprintf("name %q is longer than 40 characters", s)
	case !nameRe.MatchString(s):
		return fmt.Sprintf("name %q must start with a lowercase letter and use only a-z, 0-9 and -", s)
	}
	return ""
}

// suggestName turns s into a valid name if it can, for hints.
func suggestName(s string) string {
	s = strings.ToLower(strings.NewReplacer("_", "-", " ", "-", ".", "-").Replace(s))
	if len(s) > 40 {
		s = s[:40]
	}
	if nameRe.MatchString(s) {
		return s
	}
	return ""
}

// githubUserProblem applies GitHub's rules for user names: letters, digits
// and single hyphens, not at either end, at most 39 characters.
func githubUserProblem(u string) string {
	switch {
	case u == "":
		return "GitHub user name is empty"
	case strings.HasPrefix(u, "@"):
		return fmt.Sprintf("%q: write the GitHub user name without @", u)
	case len(u) > 39:
		return fmt.Sprintf("%q is not a GitHub user name: longer than 39 characters", u)
	case strings.HasPrefix(u, "-") || strings.HasSuffix(u, "-"):
		return fmt.Sprintf("%q is not a GitHub user name: it cannot start or end with a hyphen", u)
	case strings.Contains(u, "--"):
		return fmt.Sprintf("%q is not a GitHub user name: it cannot contain two hyphens in a row", u)
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("%q is not a GitHub user name: only letters, digits and hyphens are allowed", u)
		}
	}
	return ""
}

// slackChannelProblem accepts a channel id (C0123ABCD) or a name (#ci).
func slackChannelProblem(c string) (msg, hint string) {
	if slackChannelID.MatchString(c) || slackChannelNam.MatchString(c) {
		return "", ""
	}
	hint = `use the channel id (e.g. "C0123ABCD", shown in the channel's details) or its name with # (e.g. "#packit-ci")`
	if !strings.HasPrefix(c, "#") && slackChannelNam.MatchString("#"+c) {
		return fmt.Sprintf("%q is neither a Slack channel id nor a #name", c), fmt.Sprintf("did you mean %q?", "#"+c)
	}
	return fmt.Sprintf("%q is neither a Slack channel id nor a #name", c), hint
}

// globProblem checks an instance-type glob.
func globProblem(g string) string {
	if g == "" {
		return "empty instance type pattern"
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Sprintf("%q is not a valid pattern", g)
	}
	if strings.ContainsAny(g, "*?[") {
		return ""
	}
	if !instanceTypeRe.MatchString(g) {
		return fmt.Sprintf("%q is not an EC2 instance type", g)
	}
	return ""
}

// globCovered reports whether every type matched by g is matched by one of
// caps. It is conservative: g must match a caps glob when taken literally
// ("t3.*" is covered by "t3.*" and "*", not by "t3.micro").
func globCovered(caps []string, g string) bool {
	return MatchInstanceType(caps, g)
}

// cidrProblem checks an SSH source CIDR; world tells if it is 0.0.0.0/0 or
// ::/0.
func cidrProblem(s string) (msg, hint string, world bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, err := netip.ParseAddr(s); err == nil {
			return fmt.Sprintf("%q is an address, not a CIDR", s), fmt.Sprintf("did you mean %q?", fmt.Sprintf("%s/%d", a, a.BitLen())), false
		}
		return fmt.Sprintf("%q is not a CIDR", s), `write e.g. "192.0.2.0/24" or "2001:db8::/32"`, false
	}
	if p.Addr().Zone() != "" {
		return fmt.Sprintf("%q must not have a zone", s), "", false
	}
	if p != p.Masked() {
		return fmt.Sprintf("%q has host bits set", s), fmt.Sprintf("did you mean %q?", p.Masked().String()), false
	}
	return "", "", p.Bits() == 0
}

// reservedTagPrefixes are tag key prefixes owned by AWS or by launchwarden.
var reservedTagPrefixes = []string{"aws:", "launchwarden:"}
