package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExtend(t *testing.T) {
	born := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	p := Policy{TTL: 72 * time.Hour, MaxLifetime: 10 * 24 * time.Hour}
	at := func(h int) time.Time { return born.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name       string
		in         Instance
		by         time.Duration
		now        time.Time
		want       time.Time
		wantCapped bool
		wantErr    bool
	}{
		{"from the TTL expiry", Instance{BornAt: born}, 24 * time.Hour, at(10), at(96), false, false},
		{"from an explicit expiry", Instance{BornAt: born, ExpiresAt: at(100)}, 24 * time.Hour, at(10), at(124), false, false},
		{"already expired: from now", Instance{BornAt: born}, 24 * time.Hour, at(80), at(104), false, false},
		{"capped at max lifetime", Instance{BornAt: born}, 30 * 24 * time.Hour, at(10), at(240), true, false},
		{"nothing left under the cap", Instance{BornAt: born, ExpiresAt: at(240)}, time.Hour, at(10), time.Time{}, true, true},
		{"not positive", Instance{BornAt: born}, 0, at(10), time.Time{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, capped, err := Extend(tt.in, p, tt.by, tt.now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || capped != tt.wantCapped {
				t.Errorf("until (-want +got):\n%s capped = %v, want %v", diff, capped, tt.wantCapped)
			}
		})
	}
}
