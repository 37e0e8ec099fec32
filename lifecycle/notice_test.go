package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseNotice(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		tag     string
		want    Notice
		wantErr bool
	}{
		{name: "stop", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1", want: Notice{Stage: ActionStop, At: at, Project: "packit", Run: "run-1"}},
		{name: "terminate about one instance", tag: "terminate@2026-11-25T10:00:00Z p=packit r=run-1 i=i-0abc d=2026-11-26T10:00:00Z",
			want: Notice{Stage: ActionTerminate, At: at, Project: "packit", Run: "run-1", Instance: "i-0abc", Deadline: at.Add(24 * time.Hour)}},
		{name: "a demand's, with its scope", tag: "terminate@2026-11-25T10:00:00Z p=packit r=run-1 k=orphan:fedora",
			want: Notice{Stage: ActionTerminate, At: at, Project: "packit", Run: "run-1", Scope: "orphan:fedora"}},
		{name: "an over-quota demand's, with its cutoff", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1 k=over-vcpus c=7427954836854775807/i-0abc",
			want: Notice{Stage: ActionStop, At: at, Project: "packit", Run: "run-1", Scope: "over-vcpus", Cutoff: "7427954836854775807/i-0abc"}},
		{name: "a cutoff without a scope", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1 c=7427954836854775807/i-0abc", wantErr: true},
		{name: "a scope with an instance", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1 k=type:m5.large i=i-0abc d=2026-11-26T10:00:00Z", wantErr: true},
		{name: "a scope with a stop", tag: "terminate@2026-11-25T10:00:00Z p=packit r=run-1 k=orphan w=stop", wantErr: true},
		{name: "an empty scope", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1 k=", wantErr: true},
		{name: "an instance without a deadline", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1 i=i-0abc", wantErr: true},
		{name: "a deadline without an instance", tag: "stop@2026-11-25T10:00:00Z p=packit r=run-1 d=2026-11-26T10:00:00Z", wantErr: true},
		{name: "empty is no notice", tag: "", want: Notice{}},
		{name: "offset converted to UTC", tag: "stop@2026-11-25T11:00:00+01:00 p=packit r=run-1", want: Notice{Stage: ActionStop, At: at, Project: "packit", Run: "run-1"}},
		{name: "old format without project and run", tag: "stop@2026-11-25T10:00:00Z", wantErr: true},
		{name: "no run", tag: "stop@2026-11-25T10:00:00Z p=packit", wantErr: true},
		{name: "no separator", tag: "stop 2026-11-25T10:00:00Z p=packit r=1", wantErr: true},
		{name: "keep is not a stage", tag: "keep@2026-11-25T10:00:00Z p=packit r=1", wantErr: true},
		{name: "stage is case-sensitive", tag: "Stop@2026-11-25T10:00:00Z p=packit r=1", wantErr: true},
		{name: "date only", tag: "stop@2026-11-25 p=packit r=1", wantErr: true},
		{name: "fractional seconds", tag: "stop@2026-11-25T10:00:00.5Z p=packit r=1", wantErr: true},
		{name: "field twice", tag: "stop@2026-11-25T10:00:00Z p=packit p=cockpit r=1", wantErr: true},
		{name: "unknown field", tag: "stop@2026-11-25T10:00:00Z p=packit r=1 d=2030-01-01", wantErr: true},
		{name: "empty field", tag: "stop@2026-11-25T10:00:00Z p= r=1", wantErr: true},
		{name: "offset pushes past year 9999", tag: "stop@9999-12-31T23:59:59-23:59 p=packit r=1", wantErr: true},
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
		{Stage: ActionStop, At: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Project: "packit", Run: "20261125T100000-3fa2c1"},
		{Stage: ActionTerminate, At: time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC), Project: "a-b", Run: "demo-20270131T2359",
			Instance: "i-00000000000000001", Deadline: time.Date(2027, 2, 7, 23, 59, 59, 0, time.UTC)},
	} {
		t.Run(n.String(), func(t *testing.T) {
			got, err := ParseNotice(n.String())
			if err != nil {
				t.Fatalf("ParseNotice(%q): %v", n.String(), err)
			}
			if diff := cmp.Diff(n, got); diff != "" {
				t.Errorf("round trip of %q (-want +got):\n%s", n, diff)
			}
		})
	}
}

// FuzzParseNotice checks that whatever ParseNotice accepts is a real stage
// and prints back to a canonical tag that parses to the same notice.
func FuzzParseNotice(f *testing.F) {
	for _, s := range []string{
		"stop@2026-11-25T10:00:00Z p=packit r=1", "terminate@2026-12-02T10:00:00+05:30 p=a r=b i=i-1 d=2026-12-03T10:00:00Z", "", "keep@2026-11-25T10:00:00Z",
		"stop@2026-11-25T10:00:00.5Z p=a r=b", "stop@", "@", "stop@9999-12-31T23:59:59-23:59 p=a r=b", "stop@2026-11-25T10:00:00Z p=a r=b ",
		"terminate@2026-11-25T10:00:00Z p=a r=b k=orphan:fedora", "stop@2026-11-25T10:00:00Z p=a r=b k=over-vcpus c=1/i-1",
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
