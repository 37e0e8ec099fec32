package projects

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30m", want: 30 * time.Minute},
		{in: "24h", want: 24 * time.Hour},
		{in: "7d", want: 7 * Day},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "90s", want: 90 * time.Second},
		{in: "1d2h3m4s", want: Day + 2*time.Hour + 3*time.Minute + 4*time.Second},
		{in: "0", want: 0},
		{in: "", wantErr: true},
		{in: "7", wantErr: true},
		{in: "1w", wantErr: true},
		{in: "1.5h", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "1h1d", wantErr: true},
		{in: "1h1h", wantErr: true},
		{in: "3 days", wantErr: true},
		{in: "99999999999999999999d", wantErr: true},
		{in: "106752d", wantErr: true}, // beyond time.Duration
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, time.Duration(got)); diff != "" {
				t.Errorf("ParseDuration(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{90 * time.Second, "1m30s"},
		{36 * time.Hour, "1d12h"},
		{7 * Day, "7d"},
		{Day + time.Second, "1d1s"},
		{-2 * time.Hour, "-2h"},
		{500 * time.Millisecond, "500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Duration(tt.in).String()); diff != "" {
				t.Errorf("String() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDurationTextRoundTrip(t *testing.T) {
	for _, s := range []string{"30m", "1d12h", "7d", "1m30s", "3d4h5m6s"} {
		var d Duration
		if err := d.UnmarshalText([]byte(s)); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", s, err)
		}
		b, err := d.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, string(b)); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", s, diff)
		}
	}
}
