package notify

import "testing"

// FuzzParseExtendRequest checks that whatever ParseExtendRequest accepts
// (a button value, from a click whose signature verified) is exactly what
// String prints for it: no second spelling of a request gets through.
func FuzzParseExtendRequest(f *testing.F) {
	for _, s := range []string{
		"i-0123456789abcdef0 123456789012/eu-west-1 20261125T101500-3fa2c1", "", " ", "i-0 1/ 2",
		"i-0123456789abcdef0 123456789012/us-gov-west-1 20261125T101500-3fa2c1",
		"i-0123456789abcdef0  123456789012/eu-west-1 20261125T101500-3fa2c1",
		"i-0123456789abcdef0 123456789012/eu-west-1/x 20261125T101500-3fa2c1",
		"i-0123456789abcdef0 123456789012/eu-west-1 20261325T101500-3fa2c1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, err := ParseExtendRequest(v)
		if err != nil {
			return
		}
		if r.String() != v {
			t.Fatalf("ParseExtendRequest(%q) = %+v, which prints as %q", v, r, r.String())
		}
		if r.RunTime().IsZero() {
			t.Fatalf("ParseExtendRequest(%q) accepted run %q, which dates nothing", v, r.Run)
		}
	})
}
