package lifecycle

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Notice is the last notice delivered to an instance's team, as recorded in
// its launchwarden:notice tag once the digest naming it was delivered.
//
// A notice holds no deadline: it says which stage a run announced, when,
// for which project, and for a demand's stage, which demand (Scope).
// Decide recomputes the deadline from At and the instance's own rules,
// exactly as the announcing run did, so one value serves every instance of
// a project and stage (and demand scope) announced in a run (one tag write
// per 1000 of them), and a notice copied onto another instance gains
// nothing: it counts only for an instance whose stage was already in view
// at At, which that run's digest therefore named (see Decide).
type Notice struct {
	Stage Action
	// At is when the announcing run planned, rounded up to a whole second.
	At time.Time
	// Project is the project whose digest carried the notice.
	Project string
	// Run is the id of the announcing run.
	Run string
	// Scope is set when the notice announces a demand's stage: the demand's
	// Scope ("orphan:fedora", "type:m5.large"), which every instance of the
	// project under that demand at At shares, so that they all were in that
	// run's digest.
	Scope string
	// Cutoff is set with a Scope whose demand chooses some of the instances
	// sharing it (Demand.Cutoff): the Rank of the last instance chosen at At.
	Cutoff string
	// Instance is set when the notice is about that one instance: a demand
	// without a Scope, and the demands' notices of earlier releases, still
	// understood. Such a notice is written on that instance
	// alone, so it also carries the Deadline its digest gave.
	Instance string
	Deadline time.Time
	// WithStop marks the termination notice that went out with a stop: the
	// digest that said "stopping now" also said when the stopped instance
	// will be terminated. It counts for an instance stopped right after the
	// notice's time (see Decide).
	WithStop bool
}

// IsZero reports whether n records no notice.
func (n Notice) IsZero() bool {
	return n == Notice{}
}

// String formats n as a tag value, "stop@2026-11-25T10:00:00Z p=packit
// r=20261125T100000-3fa2c1", with " k=<scope>" (and " c=<cutoff>") for a
// demand's notice,
// " i=<instance> d=<deadline>" for a notice about one instance and
// " w=stop" for a termination announced with the stop. The zero Notice
// is "".
func (n Notice) String() string {
	if n.IsZero() {
		return ""
	}
	s := string(n.Stage) + "@" + n.At.UTC().Format(time.RFC3339) + " p=" + n.Project + " r=" + n.Run
	if n.Scope != "" {
		s += " k=" + n.Scope
	}
	if n.Cutoff != "" {
		s += " c=" + n.Cutoff
	}
	if n.Instance != "" {
		s += " i=" + n.Instance + " d=" + n.Deadline.UTC().Format(time.RFC3339)
	}
	if n.WithStop {
		s += " w=stop"
	}
	return s
}

// noticeField is what a notice's project, run, scope and instance may
// hold: tag values keep to letters, digits and + - = . _ : / @.
var noticeField = regexp.MustCompile(`^[A-Za-z0-9._:/+-]{1,64}$`)

// ValidScope reports whether s can be a demand's Scope in a notice.
func ValidScope(s string) bool { return noticeField.MatchString(s) }

// ParseNotice parses a launchwarden:notice value (its signature already
// checked and removed) as written by Notice.String. The empty string is the
// zero Notice. The stage must be stop or terminate; the time is RFC 3339
// with whole seconds, returned in UTC (years 1 to 9999).
func ParseNotice(tag string) (Notice, error) {
	if tag == "" {
		return Notice{}, nil
	}
	fields := strings.Split(tag, " ")
	stage, at, ok := strings.Cut(fields[0], "@")
	if !ok {
		return Notice{}, fmt.Errorf("notice %q: want stage@time p=project r=run", tag)
	}
	switch Action(stage) {
	case ActionStop, ActionTerminate:
	default:
		return Notice{}, fmt.Errorf("notice %q: stage %q is not stop or terminate", tag, stage)
	}
	t, err := parseNoticeTime(at)
	if err != nil {
		return Notice{}, fmt.Errorf("notice %q: time: %w", tag, err)
	}
	n := Notice{Stage: Action(stage), At: t}
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		if seen[k] || !noticeField.MatchString(v) {
			return Notice{}, fmt.Errorf("notice %q: bad field %q", tag, f)
		}
		seen[k] = true
		switch k {
		case "p":
			n.Project = v
		case "r":
			n.Run = v
		case "i":
			n.Instance = v
		case "k":
			n.Scope = v
		case "c":
			n.Cutoff = v
		case "w":
			if v != "stop" {
				return Notice{}, fmt.Errorf("notice %q: bad field %q", tag, f)
			}
			n.WithStop = true
		case "d":
			if n.Deadline, err = parseNoticeTime(v); err != nil {
				return Notice{}, fmt.Errorf("notice %q: deadline: %w", tag, err)
			}
		default:
			return Notice{}, fmt.Errorf("notice %q: unknown field %q", tag, f)
		}
	}
	if n.Project == "" || n.Run == "" {
		return Notice{}, fmt.Errorf("notice %q: want project and run", tag)
	}
	if (n.Instance == "") != n.Deadline.IsZero() {
		return Notice{}, fmt.Errorf("notice %q: an instance and a deadline go together", tag)
	}
	if n.Cutoff != "" && n.Scope == "" {
		return Notice{}, fmt.Errorf("notice %q: a cutoff goes with a demand's scope", tag)
	}
	if n.Scope != "" && (n.Instance != "" || n.WithStop) {
		return Notice{}, fmt.Errorf("notice %q: a demand's scope goes with neither an instance nor a stop", tag)
	}
	return n, nil
}

// parseNoticeTime parses RFC 3339 with whole seconds, in UTC, years 1 to 9999.
func parseNoticeTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Nanosecond() != 0 {
		return time.Time{}, fmt.Errorf("%q has fractional seconds", s)
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		// An offset can push a valid local time out of the four-digit years
		// that RFC 3339 in UTC can express.
		return time.Time{}, fmt.Errorf("%q is out of range", s)
	}
	return t, nil
}
