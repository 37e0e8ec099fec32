package projects

import (
	"strings"
	"testing"
)

// TestScanBoundsPlacesProblemsByOffset: a table header broken by an
// unterminated string ends on a later line than it starts. The problem is
// placed where the header starts, and placing it does not panic (found by
// FuzzLoad; testdata/fuzz/FuzzLoad/b1300b11e1307048).
func TestScanBoundsPlacesProblemsByOffset(t *testing.T) {
	for _, tc := range []struct {
		name, src  string
		line, col  int
		wantInText string
	}{
		{"header broken by an unterminated string",
			"[" + strings.Repeat("0", 45) + `""` + strings.Repeat("0", 9) + `"` + strings.Repeat("0", 200) + "\n0]", 1, 1, "table header"},
		{"long header on a later line",
			"a = 1\n\n  [" + strings.Repeat("k", 200) + "]\n", 3, 3, "table header"},
		{"long key after a multi-line string",
			"a = \"\"\"\nx\ny\"\"\"\n é" + strings.Repeat("k", 200) + " = 1\n", 4, 1, "key is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := scanBounds(tc.src)
			if p == nil {
				t.Fatal("no problem")
			}
			if p.Line != tc.line || p.Column != tc.col || !strings.Contains(p.Message, tc.wantInText) {
				t.Errorf("got %d:%d %q, want %d:%d with %q", p.Line, p.Column, p.Message, tc.line, tc.col, tc.wantInText)
			}
		})
	}
}
