package projects

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// position is a 1-based line and column (in characters).
type position struct{ line, col int }

// keyIndex maps key paths such as "templates[1].image" or `tags."a b"` to
// where the key (or array element) starts in the file. BurntSushi/toml's
// MetaData keeps positions private and merges the elements of arrays of
// tables, so we index the text ourselves. indexKeys runs only on text that
// parsed, so it may assume valid TOML; on anything else it still returns
// without panicking, just with fewer entries.
type keyIndex map[string]position

// lookup returns the position of path, or of its nearest indexed ancestor.
func (ix keyIndex) lookup(path string) position {
	for path != "" {
		if p, ok := ix[path]; ok {
			return p
		}
		path = parentPath(path)
	}
	return position{}
}

// parentPath drops the last segment of a key path: "a.b[2]" → "a.b",
// `a."x.y"` → "a".
func parentPath(path string) string {
	inQuote := false
	cut := 0
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case (c == '.' || c == '[') && !inQuote:
			cut = i
		}
	}
	return path[:cut]
}

// joinKey appends a key segment to a path, quoting it when it is not a bare
// TOML key.
func joinKey(path, seg string) string {
	if !isBareKey(seg) {
		seg = strconv.Quote(seg)
	}
	if path == "" {
		return seg
	}
	return path + "." + seg
}

// indexPath appends an array index to a path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

type keyScanner struct {
	src       string
	i         int
	line      int
	lineStart int
	ix        keyIndex
	arrays    map[string]int // array-of-tables path → elements seen
	colLine   int            // lineStart of the line col was counted on
	colAt     int            // where col was last counted to
	col       int
}

func indexKeys(src string) keyIndex {
	s := &keyScanner{src: src, line: 1, ix: keyIndex{}, arrays: map[string]int{}}
	table := ""
	for s.i < len(s.src) {
		s.skipSpaceAndComments(true)
		if s.i >= len(s.src) {
			break
		}
		start := s.i
		if s.peek() == '[' {
			table = s.header()
		} else {
			pos := s.pos()
			path, ok := s.key(table, pos)
			if ok && s.peek() == '=' {
				s.i++
				s.skipSpace()
				s.value(path)
			}
		}
		s.skipLine()
		if s.i == start { // never loop without progress on odd input
			s.advance()
		}
	}
	return s.ix
}

func (s *keyScanner) peek() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

// pos counts the column on from the last position asked for on the same
// line, so that a long line of many elements costs linear time.
func (s *keyScanner) pos() position {
	end := min(s.i, len(s.src))
	if s.colLine != s.lineStart || s.colAt > end || s.col == 0 {
		s.colLine, s.colAt, s.col = s.lineStart, s.lineStart, 1
	}
	s.col += utf8.RuneCountInString(s.src[s.colAt:end])
	s.colAt = end
	return position{line: s.line, col: s.col}
}

func (s *keyScanner) advance() {
	if s.i >= len(s.src) {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
		s.lineStart = s.i + 1
	}
	s.i++
}

func (s *keyScanner) skipSpace() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipSpaceAndComments skips blanks, comments and (if newlines) line breaks.
func (s *keyScanner) skipSpaceAndComments(newlines bool) {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			if !newlines {
				return
			}
			s.advance()
		case '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

// skipLine skips the rest of the current line (a trailing comment).
func (s *keyScanner) skipLine() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

// header reads [a.b] or [[a.b]] and returns the resolved table path.
func (s *keyScanner) header() string {
	pos := s.pos()
	s.i++
	array := s.peek() == '['
	if array {
		s.i++
	}
	segs := s.keySegments()
	path := s.resolve(segs[:max(len(segs)-1, 0)])
	// [foo.bar] also places foo, so that a problem with foo has a line.
	for p := path; p != ""; p = parentPath(p) {
		if _, ok := s.ix[p]; !ok {
			s.ix[p] = pos
		}
	}
	if len(segs) > 0 {
		path = joinKey(path, segs[len(segs)-1])
	}
	if array {
		n := s.arrays[path]
		s.arrays[path] = n + 1
		if _, ok := s.ix[path]; !ok {
			s.ix[path] = pos
		}
		path = indexPath(path, n)
	}
	s.ix[path] = pos
	return path
}

// resolve turns header segments into a path, pointing into the latest
// element of every array of tables on the way.
func (s *keyScanner) resolve(segs []string) string {
	path := ""
	for _, seg := range segs {
		path = joinKey(path, seg)
		if n, ok := s.arrays[path]; ok && n > 0 {
			path = indexPath(path, n-1)
		}
	}
	return path
}

// key reads a (dotted) key of a key/value pair and records it.
func (s *keyScanner) key(table string, pos position) (string, bool) {
	segs := s.keySegments()
	if len(segs) == 0 {
		return "", false
	}
	path := table
	for _, seg := range segs {
		path = joinKey(path, seg)
		if _, ok := s.ix[path]; !ok {
			s.ix[path] = pos
		}
	}
	s.ix[path] = pos
	return path, true
}

// keySegments reads a dotted key, stopping at '=', ']' or the line end.
func (s *keyScanner) keySegments() []string {
	var segs []string
	for s.i < len(s.src) {
		s.skipSpace()
		switch c := s.peek(); c {
		case '"', '\'':
			segs = append(segs, s.quotedKey(c))
		default:
			start := s.i
			for s.i < len(s.src) && isBareKeyByte(s.src[s.i]) {
				s.i++
			}
			if s.i == start {
				return segs
			}
			segs = append(segs, s.src[start:s.i])
		}
		s.skipSpace()
		if s.peek() != '.' {
			break
		}
		s.i++
	}
	return segs
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (s *keyScanner) quotedKey(q byte) string {
	start := s.i
	s.i++
	for s.i < len(s.src) && s.src[s.i] != q && s.src[s.i] != '\n' {
		if q == '"' && s.src[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	raw := s.src[start:min(s.i, len(s.src))]
	if s.peek() == q {
		s.i++
	}
	if q == '\'' {
		return raw[1:]
	}
	if v, err := strconv.Unquote(raw + `"`); err == nil {
		return v
	}
	return raw[1:]
}

// value skips one value, indexing array elements and inline-table keys.
func (s *keyScanner) value(path string) {
	switch c := s.peek(); c {
	case '"', '\'':
		s.str(c)
	case '[':
		s.i++
		for n := 0; s.i < len(s.src); n++ {
			s.skipSpaceAndComments(true)
			if s.peek() == ']' || s.i >= len(s.src) {
				break
			}
			start := s.i
			elem := indexPath(path, n)
			s.ix[elem] = s.pos()
			s.value(elem)
			s.skipSpaceAndComments(true)
			if s.peek() == ',' {
				s.i++
			} else if s.i == start {
				s.advance()
			}
		}
		s.i = min(s.i+1, len(s.src))
	case '{':
		s.i++
		for s.i < len(s.src) {
			s.skipSpaceAndComments(true)
			if s.peek() == '}' {
				break
			}
			start := s.i
			k, ok := s.key(path, s.pos())
			if ok && s.peek() == '=' {
				s.i++
				s.skipSpace()
				s.value(k)
			}
			s.skipSpaceAndComments(true)
			if s.peek() == ',' {
				s.i++
			} else if s.i == start {
				s.advance()
			}
		}
		s.i = min(s.i+1, len(s.src))
	default:
		for s.i < len(s.src) && !strings.ContainsRune(",]}\n#", rune(s.src[s.i])) {
			s.i++
		}
	}
}

// str skips a basic, literal or multi-line string.
func (s *keyScanner) str(q byte) {
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(s.src[s.i:], triple) {
		s.i += 3
		for s.i < len(s.src) {
			if q == '"' && s.src[s.i] == '\\' {
				s.advance()
				s.advance()
				continue
			}
			if strings.HasPrefix(s.src[s.i:], triple) {
				s.i += 3
				// up to two more quotes may belong to the content
				for k := 0; k < 2 && s.peek() == q; k++ {
					s.i++
				}
				return
			}
			s.advance()
		}
		return
	}
	s.i++
	for s.i < len(s.src) && s.src[s.i] != q && s.src[s.i] != '\n' {
		if q == '"' && s.src[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	if s.peek() == q {
		s.i++
	}
}
