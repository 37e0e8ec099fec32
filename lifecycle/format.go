package lifecycle

import (
	"strconv"
	"time"
)

// formatTime formats t as RFC 3339 UTC with whole seconds, as tags do.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// formatDuration formats d with days: 72h is "3d", 36h is "1d12h", 90m is "1h30m".
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	var b []byte
	for _, u := range []struct {
		unit time.Duration
		name byte
	}{{24 * time.Hour, 'd'}, {time.Hour, 'h'}, {time.Minute, 'm'}, {time.Second, 's'}} {
		if n := d / u.unit; n > 0 {
			b = append(strconv.AppendInt(b, int64(n), 10), u.name)
			d -= n * u.unit
		}
	}
	if len(b) == 0 {
		return d.String()
	}
	return string(b)
}
