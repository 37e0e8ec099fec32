package lifecycle

import (
	"errors"
	"fmt"
	"time"
)

// Extend returns the expiry that extending in by d gives: d past the later
// of its current expiry and now, capped at BornAt+MaxLifetime. capped
// reports whether the cap cut the extension short. It fails when d is not
// positive or the cap leaves nothing to extend.
func Extend(in Instance, p Policy, d time.Duration, now time.Time) (until time.Time, capped bool, err error) {
	if d <= 0 {
		return time.Time{}, false, errors.New("an extension must be positive")
	}
	current := Expiry(in, p)
	until = later(current, now).Add(d).UTC().Truncate(time.Second)
	if p.MaxLifetime > 0 {
		if limit := in.BornAt.Add(p.MaxLifetime).UTC().Truncate(time.Second); until.After(limit) {
			until, capped = limit, true
		}
	}
	if !until.After(current) {
		return time.Time{}, capped, fmt.Errorf("already at the max lifetime %s (expires %s)", formatDuration(p.MaxLifetime), formatTime(current))
	}
	return until, capped, nil
}
