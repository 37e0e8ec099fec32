package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// Notice is the last notice delivered to an instance's team: the destructive
// stage it announced and when that stage will be carried out. launchwarden
// records it in the instance's launchwarden:notice tag once the notice has
// been delivered, so the next run knows what the team has been told.
type Notice struct {
	Stage    Action
	Deadline time.Time
}

// IsZero reports whether n records no notice.
func (n Notice) IsZero() bool {
	return n.Stage == "" && n.Deadline.IsZero()
}

// String formats n as a tag value, "stop@2026-11-25T10:00:00Z": the stage, then
// the deadline in RFC 3339 UTC with whole seconds. The zero Notice is "".
func (n Notice) String() string {
	if n.IsZero() {
		return ""
	}
	return string(n.Stage) + "@" + n.Deadline.UTC().Format(time.RFC3339)
}

// ParseNotice parses a launchwarden:notice tag value as written by
// Notice.String. The empty string is the zero Notice (no notice delivered).
// The stage must be stop or terminate; the deadline may carry any UTC offset
// but no fractional seconds, and is returned in UTC (years 1 to 9999).
func ParseNotice(tag string) (Notice, error) {
	if tag == "" {
		return Notice{}, nil
	}
	stage, deadline, ok := strings.Cut(tag, "@")
	if !ok {
		return Notice{}, fmt.Errorf("notice %q: want stage@deadline", tag)
	}
	switch Action(stage) {
	case ActionStop, ActionTerminate:
	default:
		return Notice{}, fmt.Errorf("notice %q: stage %q is not stop or terminate", tag, stage)
	}
	t, err := time.Parse(time.RFC3339, deadline)
	if err != nil {
		return Notice{}, fmt.Errorf("notice %q: deadline: %w", tag, err)
	}
	if t.Nanosecond() != 0 {
		return Notice{}, fmt.Errorf("notice %q: deadline has fractional seconds", tag)
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		// An offset can push a valid local time out of the four-digit years
		// that RFC 3339 in UTC can express.
		return Notice{}, fmt.Errorf("notice %q: deadline out of range", tag)
	}
	return Notice{Stage: Action(stage), Deadline: t}, nil
}
