package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseNotice(t *testing.T) {
	tests := []struct {
		name    string
		tag     string
		want    Notice
		wantErr bool
	}{
		{name: "stop", tag: "stop@2026-11-25T10:00:00Z", want: notice(ActionStop, "2026-11-25T10:00:00Z")},
		{name: "terminate", tag: "terminate@2026-12-02T10:00:00Z", want: notice(ActionTerminate, "2026-12-02T10:00:00Z")},
		{name: "empty is no notice", tag: "", want: Notice{}},
		{name: "offset converted to UTC", tag: "stop@2026-11-25T11:00:00+01:00", want: notice(ActionStop, "2026-11-25T10:00:00Z")},
		{name: "no separator", tag: "stop 2026-11-25T10:00:00Z", wantErr: true},
		{name: "keep is not a stage", tag: "keep@2026-11-25T10:00:00Z", wantErr: true},
		{name: "notify is not a stage", tag: "notify@2026-11-25T10:00:00Z", wantErr: true},
		{name: "stage is case-sensitive", tag: "Stop@2026-11-25T10:00:00Z", wantErr: true},
		{name: "no deadline", tag: "stop@", wantErr: true},
		{name: "date only", tag: "stop@2026-11-25", wantErr: true},
		{name: "no zone", tag: "stop@2026-11-25T10:00:00", wantErr: true},
		{name: "fractional seconds", tag: "stop@2026-11-25T10:00:00.5Z", wantErr: true},
		{name: "two separators", tag: "stop@2026-11-25T10:00:00Z@x", wantErr: true},
		{name: "offset pushes past year 9999", tag: "stop@9999-12-31T23:59:59-23:59", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNotice(tt.tag)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseNotice(%q) error = %v, want error: %v", tt.tag, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseNotice(%q) mismatch (-want +got):\n%s", tt.tag, diff)
			}
		})
	}
}

func TestNoticeRoundTrip(t *testing.T) {
	for _, n := range []Notice{
		{},
		notice(ActionStop, "2026-11-25T10:00:00Z"),
		notice(ActionTerminate, "2027-01-31T23:59:59Z"),
		{Stage: ActionStop, Deadline: time.Date(2026, 11, 25, 11, 0, 0, 0, time.FixedZone("CET", 3600))},
	} {
		t.Run(n.String(), func(t *testing.T) {
			got, err := ParseNotice(n.String())
			if err != nil {
				t.Fatalf("ParseNotice(%q): %v", n.String(), err)
			}
			if !got.Deadline.Equal(n.Deadline) || got.Stage != n.Stage {
				t.Errorf("round trip of %q = %q", n, got)
			}
		})
	}
}

func TestNoticeString(t *testing.T) {
	n := Notice{Stage: ActionStop, Deadline: time.Date(2026, 11, 25, 11, 0, 0, 0, time.FixedZone("CET", 3600))}
	if diff := cmp.Diff("stop@2026-11-25T10:00:00Z", n.String()); diff != "" {
		t.Errorf("String() mismatch (-want +got):\n%s", diff)
	}
}

// FuzzParseNotice checks that whatever ParseNotice accepts is a real stage
// and prints back to a canonical tag that parses to the same notice.
func FuzzParseNotice(f *testing.F) {
	for _, s := range []string{
		"stop@2026-11-25T10:00:00Z", "terminate@2026-12-02T10:00:00+05:30", "", "keep@2026-11-25T10:00:00Z",
		"stop@2026-11-25T10:00:00.5Z", "stop@", "@", "stop@9999-12-31T23:59:59-23:59",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		n, err := ParseNotice(tag)
		if err != nil {
			return
		}
		if !n.IsZero() && n.Stage != ActionStop && n.Stage != ActionTerminate {
			t.Fatalf("ParseNotice(%q) stage %q", tag, n.Stage)
		}
		canonical := n.String()
		again, err := ParseNotice(canonical)
		if err != nil {
			t.Fatalf("ParseNotice(%q) = %v, but its String %q does not parse: %v", tag, n, canonical, err)
		}
		if diff := cmp.Diff(n, again); diff != "" {
			t.Fatalf("%q -> %q: round trip mismatch (-first +second):\n%s", tag, canonical, diff)
		}
		if again.String() != canonical {
			t.Fatalf("String not canonical: %q then %q", canonical, again.String())
		}
	})
}
