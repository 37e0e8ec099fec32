package projects

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours; config durations count days without calendar rules.
const Day = 24 * time.Hour

// Duration is a time span written with the units d, h, m and s, largest
// first, e.g. "30m", "24h", "7d", "1d12h", "90s". Days are 24 hours.
type Duration time.Duration

// ParseDuration parses s as a Duration. Fractions and negative values are
// not accepted.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if strings.ContainsAny(s, " \t") {
		return 0, fmt.Errorf("%q: remove the spaces", s)
	}
	if s == "0" {
		return 0, nil
	}
	var total time.Duration
	rest := s
	lastUnit := -1
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%q: expected a number at %q", s, rest)
		}
		if i == len(rest) {
			return 0, fmt.Errorf("%q: missing unit after %s (use d, h, m or s)", s, rest)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: number too large", s)
		}
		unitIdx := strings.IndexByte("dhms", rest[i])
		if unitIdx < 0 {
			return 0, fmt.Errorf("%q: unknown unit %q (use d, h, m or s)", s, rest[i:i+1])
		}
		if unitIdx <= lastUnit {
			return 0, fmt.Errorf("%q: units must go from largest to smallest, each once (d, h, m, s)", s)
		}
		lastUnit = unitIdx
		unit := [...]time.Duration{Day, time.Hour, time.Minute, time.Second}[unitIdx]
		if n > int64(math.MaxInt64/unit) || total > time.Duration(math.MaxInt64)-time.Duration(n)*unit {
			return 0, fmt.Errorf("%q: duration too large", s)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return Duration(total), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// String formats d with the units d, h, m and s, e.g. "1d12h"; sub-second
// parts are dropped. Zero is "0s".
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{Day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := v / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			v -= n * u.unit
		}
	}
	if b.Len() == 0 || b.String() == "-" {
		return time.Duration(d).String()
	}
	return b.String()
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
