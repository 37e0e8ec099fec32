package notify

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/projects"
)

// ExtendAction is the action_id prefix of a digest's Extend buttons; the
// instance id follows it, so that the ids of one block differ.
const ExtendAction = "extend:"

// ExtendRequest is what an Extend button asks for, as its value carries it:
// which instance, where, and the run whose digest showed the button. The
// value is a claim until checked: whoever handles the click verifies Slack's
// signature and then re-reads the instance, its project and the caps; it
// trusts nothing of the value but which instance the click was about.
type ExtendRequest struct {
	Instance string
	Account  string
	Region   string
	// Run is the digest's run id, which starts with its UTC time
	// (20261125T101500-3fa2c1): a click on a message older than the
	// instance's latest notice is refused as stale.
	Run string
}

// String is the button's value: "<instance> <account>/<region> <run>", well
// within Slack's 2,000 characters.
func (r ExtendRequest) String() string {
	return r.Instance + " " + r.Account + "/" + r.Region + " " + r.Run
}

var (
	extendInstance = regexp.MustCompile(`^i-[0-9a-f]{8,32}$`)
	extendAccount  = regexp.MustCompile(`^[0-9]{12}$`)
	extendRegion   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	extendRun      = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}-[0-9a-z]{1,32}$`)
)

// ParseExtendRequest parses a button value made by String, strictly: any
// other text is an error, and so is a run id that does not start with a
// valid time.
func ParseExtendRequest(v string) (ExtendRequest, error) {
	f := strings.Split(v, " ")
	if len(f) != 3 {
		return ExtendRequest{}, fmt.Errorf("extend button value %q: want instance, account/region and run", v)
	}
	account, region, _ := strings.Cut(f[1], "/")
	r := ExtendRequest{Instance: f[0], Account: account, Region: region, Run: f[2]}
	switch {
	case !extendInstance.MatchString(r.Instance):
		return ExtendRequest{}, fmt.Errorf("extend button value %q: %q is not an instance id", v, r.Instance)
	case !extendAccount.MatchString(r.Account) || !extendRegion.MatchString(r.Region):
		return ExtendRequest{}, fmt.Errorf("extend button value %q: %q is not account/region", v, f[1])
	case !extendRun.MatchString(r.Run) || r.RunTime().IsZero():
		return ExtendRequest{}, fmt.Errorf("extend button value %q: %q is not a run id", v, r.Run)
	}
	return r, nil
}

// RunTime is when the run planned, from its id; zero if the id does not
// start with a time.
func (r ExtendRequest) RunTime() time.Time {
	stamp, _, _ := strings.Cut(r.Run, "-")
	t, err := time.ParseInLocation("20060102T150405", stamp, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

// extendable reports whether an item of kind k carries an Extend button:
// a warning of the stop or termination to come, and a stop (the instance
// can be started again, and the termination that the stop announces is
// postponed). A termination is final; quota, type and orphan demands do
// not depend on the expiry.
func extendable(k Kind) bool {
	return k == KindExpiring || k == KindStopped
}

// extendButton sets it.Extend and it.ExtendLabel for n when the digest offers the
// button for n's project.
func extendButton(d Digest, n Notice, it *Item) {
	project := n.Project
	if project == "" {
		project = d.Project
	}
	by := d.ExtendBy[project]
	if by <= 0 || !extendable(n.Kind) || n.InstanceID == "" || n.Account == "" || n.Region == "" {
		return
	}
	v := ExtendRequest{Instance: n.InstanceID, Account: n.Account, Region: n.Region, Run: d.RunID}.String()
	if _, err := ParseExtendRequest(v); err != nil {
		return // a button whose click could not be understood is worse than none
	}
	it.Extend, it.ExtendLabel = v, "Extend "+projects.Duration(by).String()
}
