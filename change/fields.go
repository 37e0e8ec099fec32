package change

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
)

// FieldChange is one key whose value differs between base and head.
type FieldChange struct {
	// Key is the TOML key path, e.g. "instance_type", "tags.team" or
	// "caps.max_vcpus".
	Key string `json:"key"`
	// Before and After are the values as people read them; "" on the side
	// where the key is absent.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Added and Removed are the entries gained and lost by a list compared
	// as a set (CIDRs, users, instance types).
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Lines is a line diff of multi-line text ("+ added", "- removed",
	// "  kept"), instead of Before and After.
	Lines []string `json:"lines,omitempty"`
	// Note says what the change does.
	Note string `json:"note,omitempty"`
	// AppliesTo names the projects whose effective values an admin change
	// alters.
	AppliesTo []string `json:"applies_to,omitempty"`
}

// rule says how a struct field is compared and explained. Every field of
// the structs the diff walks (projects.Template, projects.Project,
// projects.Caps, projects.Grant, projects.Safety) has one; a test fails
// when a new field has none, and until it gets one, the field is still
// compared under its snake_case name.
type rule struct {
	// key is the TOML key; "" derives it from the field name.
	key string
	// skip leaves the field out: another part of the diff covers it, or
	// it identifies the value rather than being one.
	skip bool
	// note says what a change of the field does; it may be empty.
	note string
	// format shows a value, instead of the generic rendering.
	format func(reflect.Value) string
}

// differ compares two values of the same type field by field and collects
// the changes.
type differ struct {
	out []FieldChange
	// rules apply to the fields of the top-level struct, by field name.
	rules map[string]rule
}

// compare collects the changes between a and b, which have the same struct
// type.
func compare(a, b any, rules map[string]rule) []FieldChange {
	d := differ{rules: rules}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || isPosition(f) {
			continue
		}
		r := rules[f.Name]
		if r.skip {
			continue
		}
		n := len(d.out)
		d.value(fieldKey("", f, r), va.Field(i), vb.Field(i), r.format)
		for j := n; j < len(d.out); j++ {
			d.out[j].Note = r.note
		}
	}
	return mergeSameKey(d.out)
}

// mergeSameKey makes one change of two whose fields share a key, such as
// a template's image id giving way to an image selector ([templates.image]):
// "image: ami-… → owners=… name=…", with the note of the value after.
func mergeSameKey(changes []FieldChange) []FieldChange {
	var out []FieldChange
	for _, c := range changes {
		i := slices.IndexFunc(out, func(o FieldChange) bool { return o.Key == c.Key })
		if i < 0 || c.Lines != nil || out[i].Lines != nil {
			out = append(out, c)
			continue
		}
		m := &out[i]
		if absent(m.Before) {
			m.Before = c.Before
		}
		if absent(m.After) || !absent(c.After) {
			m.After, m.Note = c.After, c.Note
		}
		m.Added, m.Removed = nil, nil
	}
	return out
}

// absent reports whether a shown value stands for no value.
func absent(s string) bool {
	return s == "" || s == "none" || s == "unset"
}

// fieldKey is the key path of field f under prefix.
func fieldKey(prefix string, f reflect.StructField, r rule) string {
	k := r.key
	if k == "" {
		k = snake(f.Name)
	}
	return joinKey(prefix, k)
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// value compares a and b at key. An invalid Value stands for an absent key
// (an entry only one of two maps has).
func (d *differ) value(key string, a, b reflect.Value, format func(reflect.Value) string) {
	if !a.IsValid() || !b.IsValid() {
		d.out = append(d.out, FieldChange{Key: key, Before: show(a, format), After: show(b, format)})
		return
	}
	if reflect.DeepEqual(a.Interface(), b.Interface()) {
		return
	}
	if format != nil || isLeaf(a.Type()) {
		d.leaf(key, a, b, format)
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			d.out = append(d.out, FieldChange{Key: key, Before: show(a, nil), After: show(b, nil)})
			return
		}
		d.value(key, a.Elem(), b.Elem(), nil)
	case reflect.Struct:
		t := a.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && !isPosition(f) {
				d.value(fieldKey(key, f, rule{}), a.Field(i), b.Field(i), nil)
			}
		}
	case reflect.Map:
		for _, k := range mapKeys(a, b) {
			d.value(joinKey(key, k.String()), a.MapIndex(k), b.MapIndex(k), nil)
		}
	case reflect.Slice, reflect.Array:
		if named(a.Type().Elem()) {
			d.namedList(key, a, b)
			return
		}
		d.list(key, a, b)
	default:
		d.leaf(key, a, b, nil)
	}
}

// leaf records a change of a value shown as a whole: a line diff for
// multi-line text, else before and after.
func (d *differ) leaf(key string, a, b reflect.Value, format func(reflect.Value) string) {
	if a.Kind() == reflect.String && format == nil && (strings.Contains(a.String(), "\n") || strings.Contains(b.String(), "\n")) {
		d.out = append(d.out, FieldChange{Key: key, Lines: lineDiff(a.String(), b.String())})
		return
	}
	d.out = append(d.out, FieldChange{Key: key, Before: show(a, format), After: show(b, format)})
}

// list records a change of a list of plain values: what it gained and lost,
// or only its order.
func (d *differ) list(key string, a, b reflect.Value) {
	as, bs := items(a), items(b)
	c := FieldChange{Key: key, Before: strings.Join(as, ", "), After: strings.Join(bs, ", ")}
	for _, s := range bs {
		if !slices.Contains(as, s) {
			c.Added = append(c.Added, s)
		}
	}
	for _, s := range as {
		if !slices.Contains(bs, s) {
			c.Removed = append(c.Removed, s)
		}
	}
	d.out = append(d.out, c)
}

// namedList compares lists of structs with a Name field entry by entry,
// matched by name: aws.accounts[ci].regions.
func (d *differ) namedList(key string, a, b reflect.Value) {
	byName := func(v reflect.Value) (map[string]reflect.Value, []string) {
		m := map[string]reflect.Value{}
		var order []string
		for i := range v.Len() {
			n := v.Index(i).FieldByName("Name").String()
			if _, dup := m[n]; !dup {
				order = append(order, n)
			}
			m[n] = v.Index(i)
		}
		return m, order
	}
	am, ao := byName(a)
	bm, bo := byName(b)
	for _, n := range bo {
		if !slices.Contains(ao, n) {
			ao = append(ao, n)
		}
	}
	for _, n := range ao {
		d.value(fmt.Sprintf("%s[%s]", key, n), am[n], bm[n], nil)
	}
}

// isPosition reports whether f records where something is written (a line
// number, or lines by key: VPCLine, Lines) rather than a config value.
// Positions move with every edit above them, so they are never compared.
func isPosition(f reflect.StructField) bool {
	if !strings.HasSuffix(f.Name, "Line") && !strings.HasSuffix(f.Name, "Lines") {
		return false
	}
	t := f.Type
	if k := t.Kind(); k == reflect.Map || k == reflect.Slice {
		t = t.Elem()
	}
	return t.Kind() == reflect.Int
}

// named reports whether t is a struct with a string Name field.
func named(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	f, ok := t.FieldByName("Name")
	return ok && f.Type.Kind() == reflect.String
}

var (
	stringerType = reflect.TypeFor[fmt.Stringer]()
	timeType     = reflect.TypeFor[time.Time]()
)

// isLeaf reports whether values of t are shown whole rather than walked:
// times and types with a String method (durations, secret references).
func isLeaf(t reflect.Type) bool {
	return t == timeType || t.Implements(stringerType)
}

// mapKeys returns the keys of both maps, sorted.
func mapKeys(a, b reflect.Value) []reflect.Value {
	seen := map[string]reflect.Value{}
	for _, m := range []reflect.Value{a, b} {
		for _, k := range m.MapKeys() {
			seen[k.String()] = k
		}
	}
	keys := make([]reflect.Value, 0, len(seen))
	for _, k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
	return keys
}

// items shows each element of a list.
func items(v reflect.Value) []string {
	out := make([]string, v.Len())
	for i := range out {
		out[i] = show(v.Index(i), nil)
	}
	return out
}

// show renders a value for people: "" for an absent one, durations and
// secret references by their String method, times in RFC 3339, lists
// comma-separated, structs and maps as their set keys.
func show(v reflect.Value, format func(reflect.Value) string) string {
	if !v.IsValid() {
		return ""
	}
	if format != nil {
		return format(v)
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return "none"
		}
		return t.UTC().Format(time.RFC3339)
	}
	if v.Type().Implements(stringerType) {
		return v.Interface().(fmt.Stringer).String()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "unset"
		}
		return show(v.Elem(), nil)
	case reflect.String:
		if v.String() == "" {
			return "none"
		}
		return v.String()
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return "none"
		}
		return strings.Join(items(v), ", ")
	case reflect.Map:
		var parts []string
		for _, k := range mapKeys(v, v) {
			parts = append(parts, k.String()+"="+show(v.MapIndex(k), nil))
		}
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, " ")
	case reflect.Struct:
		var parts []string
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && !v.Field(i).IsZero() {
				parts = append(parts, snake(f.Name)+"="+show(v.Field(i), nil))
			}
		}
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(v.Interface())
}

// words are runs of capitals that make one word of a snake_case key.
var words = []string{"GitHub", "VCPUs", "GiB", "SSH", "IDs", "ID", "ARN", "URL", "VPC", "TTL", "AWS", "AZ", "IPv4", "IPv6"}

// snake turns a Go field name into the TOML key launchwarden uses for it:
// MaxVCPUs → max_vcpus, VolumeGiB → volume_gib, SSHKeysFromGitHub →
// ssh_keys_from_github.
func snake(name string) string {
	var parts []string
	for rest := name; rest != ""; {
		w := ""
		for _, cand := range words {
			if strings.HasPrefix(rest, cand) && (len(rest) == len(cand) || !unicode.IsLower(rune(rest[len(cand)]))) {
				w = cand
				break
			}
		}
		if w == "" {
			i := 1
			for i < len(rest) && !unicode.IsUpper(rune(rest[i])) {
				i++
			}
			w = rest[:i]
		}
		parts = append(parts, strings.ToLower(w))
		rest = rest[len(w):]
	}
	return strings.Join(parts, "_")
}

// lineDiff returns a line diff of a and b: each line prefixed with "+ ",
// "- " or "  " (kept). Common leading and trailing lines are matched first;
// the rest by longest common subsequence, unless it is too large for that
// (a hostile file), when it shows as all removed and all added.
func lineDiff(a, b string) []string {
	x, y := splitLines(a), splitLines(b)
	var head, tail []string
	for len(x) > 0 && len(y) > 0 && x[0] == y[0] {
		head = append(head, "  "+x[0])
		x, y = x[1:], y[1:]
	}
	for len(x) > 0 && len(y) > 0 && x[len(x)-1] == y[len(y)-1] {
		tail = append([]string{"  " + x[len(x)-1]}, tail...)
		x, y = x[:len(x)-1], y[:len(y)-1]
	}
	out := head
	if len(x)*len(y) > maxLCSCells {
		for _, l := range x {
			out = append(out, "- "+l)
		}
		for _, l := range y {
			out = append(out, "+ "+l)
		}
		return append(out, tail...)
	}
	// lcs[i][j] is the length of the longest common subsequence of x[i:]
	// and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, "  "+x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+x[i])
			i++
		default:
			out = append(out, "+ "+y[j])
			j++
		}
	}
	return append(out, tail...)
}

// maxLCSCells bounds the table lineDiff builds: 250,000 ints, 2 MB.
const maxLCSCells = 250_000

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
