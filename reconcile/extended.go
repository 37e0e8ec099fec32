package reconcile

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
)

// Extended is an extension made with a digest's Extend button, as recorded
// in an instance's signed launchwarden:extended tag: the next run tells
// the admins who extended what, then marks it Reported, so that each is
// told once (and a restart of launchwarden forgets none). It also makes a
// button single-use: a second click on the same digest's button is
// refused (see Run).
type Extended struct {
	// At is when the click was handled; Until the expiry it set.
	At, Until time.Time
	// UserID and User are the Slack user who clicked: id and name.
	UserID, User string
	// Run is the run whose digest carried the button.
	Run string
	// Reported is set once an admin digest told of the extension.
	Reported bool
}

// String formats e as a tag value: "2026-11-25T10:00:00Z u=U0123 n=alice
// r=20261125T060000-7f3a e=2026-11-26T11:00:00Z", with " reported" once
// admins were told.
func (e Extended) String() string {
	s := fmt.Sprintf("%s u=%s n=%s r=%s e=%s", e.At.UTC().Format(time.RFC3339), tagField(e.UserID), tagField(e.User), tagField(e.Run), e.Until.UTC().Format(time.RFC3339))
	if e.Reported {
		s += " reported"
	}
	return s
}

// tagField keeps what tag values may hold (letters, digits and
// + - = . _ : / @), at most 64 of them; anything else becomes "_".
func tagField(s string) string {
	s = badTagChars.ReplaceAllString(s, "_")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "_"
	}
	return s
}

var (
	badTagChars    = regexp.MustCompile(`[^A-Za-z0-9._:/+@-]`)
	extendedFormat = regexp.MustCompile(`^(\S+) u=(\S+) n=(\S+) r=(\S+) e=(\S+)( reported)?$`)
)

// ParseExtended parses a verified launchwarden:extended value written by
// Extended.String.
func ParseExtended(v string) (Extended, error) {
	m := extendedFormat.FindStringSubmatch(v)
	if m == nil {
		return Extended{}, fmt.Errorf("%s value %q is not \"<time> u=<id> n=<name> r=<run> e=<expiry>\"", cloud.TagExtended, v)
	}
	at, err1 := time.Parse(time.RFC3339, m[1])
	until, err2 := time.Parse(time.RFC3339, m[5])
	if err1 != nil || err2 != nil {
		return Extended{}, fmt.Errorf("%s value %q: bad time", cloud.TagExtended, v)
	}
	return Extended{At: at.UTC(), UserID: m[2], User: m[3], Run: m[4], Until: until.UTC(), Reported: m[6] != ""}, nil
}

// ExtendedBy is the extension reason the button writes in
// launchwarden:extension, for people reading the instance's tags.
func ExtendedBy(user string) string {
	return "extended by @" + strings.TrimPrefix(tagField(user), "@") + " via Slack"
}

// planExtended tells admins of an extension made with the Extend button
// that no admin digest has told of yet, and returns the value that marks
// it reported, written once the admin digest was delivered.
func planExtended(plan *RunPlan, ev *evaluation) string {
	in := ev.in
	if in.Extended == "" {
		return ""
	}
	e, err := ParseExtended(in.Extended)
	if err != nil {
		// Signed by us, yet unreadable: an older or newer release wrote it.
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: ignoring unreadable %s", in.ID, err))
		return ""
	}
	if e.Reported {
		return ""
	}
	plan.Notices = append(plan.Notices, notify.Notice{
		Kind: notify.KindExtended, Channel: plan.AdminChannel, Project: in.Project, Account: in.Account, Region: in.Region,
		InstanceID: in.ID, Template: in.Template, InstanceType: in.Type,
		Reason: fmt.Sprintf("extended by @%s (%s) via Slack at %s, to %s", e.User, e.UserID, notify.FormatTime(e.At), notify.FormatTime(e.Until)),
	})
	e.Reported = true
	return e.String()
}
