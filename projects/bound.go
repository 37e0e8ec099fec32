package projects

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on one config file, so that loading any input, however hostile,
// takes memory and time linear in its size (in fact bounded by a constant).
// BurntSushi/toml recurses once per nested array or inline table and builds
// the full dotted path of every key it sees, so a few KiB of brackets or of
// "a.a.a…" cost it gigabytes; scanBounds rejects such input before the
// parser runs.
const (
	// maxFileSize is the largest config file read.
	maxFileSize = 1 << 20
	// maxNesting bounds arrays and inline tables inside one another
	// (table headers count as one level). The schema needs three.
	maxNesting = 8
	// maxKeySpan bounds the bytes of one key (dotted, quotes included) and of
	// one table header. The longest key the schema knows is a 128-character
	// tag key.
	maxKeySpan = 160
	// maxItems bounds the keys, tables, arrays and array elements of a
	// file: ten times what a large project file holds.
	maxItems = 10000
	// maxProblemsPerFile bounds what one file can add to a report.
	maxProblemsPerFile = 100
)

// scanBounds checks src against the bounds above in one pass that follows
// TOML's lexical rules only as far as needed: what is inside a string or a
// comment is skipped, every other bracket, '=' and ',' counts. It never
// rejects a file the schema could accept and returns a problem (without
// file) for the first bound src exceeds, or nil.
func scanBounds(src string) *Problem {
	var (
		depth       int
		items       int
		header      = -1 // start of the table header being read, or -1
		keyStart    int  // where the current key (if any) may start
		atLineStart = true
	)
	// fail places the problem by its offset: the scan's own line count can
	// run past a bound's start (a table header broken by an unterminated
	// string ends on a later line than it began).
	fail := func(i int, format string, args ...any) *Problem {
		before := src[:min(i, len(src))]
		lineStart := strings.LastIndexByte(before, '\n') + 1
		return &Problem{
			Line:    strings.Count(before, "\n") + 1,
			Column:  utf8.RuneCountInString(before[lineStart:]) + 1,
			Message: fmt.Sprintf(format, args...),
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '\n':
			keyStart, atLineStart = i+1, true
			continue
		case ' ', '\t', '\r':
			continue
		case '#':
			for i+1 < len(src) && src[i+1] != '\n' {
				i++
			}
			continue
		case '"', '\'':
			i = skipString(src, i) - 1
		case '[', '{':
			if c == '[' && depth == 0 && atLineStart {
				header = i
			}
			items++
			depth++
			keyStart = i + 1
			if depth > maxNesting {
				return fail(i, "arrays and tables are nested more than %d deep", maxNesting)
			}
		case ']', '}':
			depth = max(depth-1, 0)
			keyStart = i + 1
			if header >= 0 && depth == 0 {
				if n := i - header + 1; n > maxKeySpan+4 {
					return fail(header, "table header is %d bytes long; at most %d are allowed", n, maxKeySpan)
				}
				header = -1
			}
		case '=':
			if n := len(strings.TrimSpace(src[keyStart:i])); n > maxKeySpan {
				return fail(keyStart, "key is %d bytes long; at most %d are allowed", n, maxKeySpan)
			}
			items++
			keyStart = i + 1
		case ',':
			items++
			keyStart = i + 1
		}
		atLineStart = false
		if items > maxItems {
			return fail(i, "more than %d keys, tables, arrays and array elements in one file", maxItems)
		}
	}
	return nil
}

// skipString returns the end of the string starting at src[i] (a basic or
// literal string, single- or multi-line). An unterminated single-line string
// ends at the line break, as the parser would stop there.
func skipString(src string, i int) int {
	q := src[i]
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(src[i:], triple) {
		j := i + 3
		for j < len(src) {
			switch {
			case src[j] == '\\' && q == '"':
				j += 2
				continue
			case strings.HasPrefix(src[j:], triple):
				j += 3
				// up to two more quotes belong to the content
				for k := 0; k < 2 && j < len(src) && src[j] == q; k++ {
					j++
				}
				return j
			}
			j++
		}
		return len(src)
	}
	j := i + 1
	for j < len(src) && src[j] != q && src[j] != '\n' {
		if q == '"' && src[j] == '\\' && j+1 < len(src) && src[j+1] != '\n' {
			j++
		}
		j++
	}
	if j < len(src) && src[j] == q {
		j++
	}
	return j
}
