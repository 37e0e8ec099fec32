package projects

import "fmt"

// Warnings are not problems: the config is valid and runs as written, but
// it does something its reader may not expect. validate prints them; they
// change no exit code and freeze nothing.

// warn adds a warning at key path, or at line 1 if the path is not in the
// file.
func (d *decoder) warn(path, hint, format string, args ...any) {
	pos := d.ix.lookup(path)
	if pos.line == 0 {
		pos, path = position{line: 1}, ""
	}
	d.warns = append(d.warns, Problem{File: d.file, Line: pos.line, Column: pos.col, Key: path,
		Message: fmt.Sprintf(format, args...), Hint: hint})
}

// lifetimeWarnings says when instances will live longer than the ttl
// suggests: a notice gives at least min_notice, so when min_notice
// outweighs warn_before, an instance warned at ttl − warn_before is stopped
// only at ttl − warn_before + min_notice.
func (r resolver) lifetimeWarnings(l Lifecycle) {
	if l.WarnBefore >= r.caps.MinNotice || l.Mode == ModeNotifyOnly {
		return
	}
	life := l.TTL - l.WarnBefore + r.caps.MinNotice
	action := "stopped"
	if l.OnExpiry == OnExpiryTerminate {
		action = "terminated"
	}
	r.d.warn("lifecycle.warn_before",
		fmt.Sprintf("a notice gives at least caps.min_notice; set warn_before to %s or more to have instances %s at their ttl", r.caps.MinNotice, action),
		"instances live about ttl − warn_before + min_notice = %s − %s + %s = %s, not %s",
		l.TTL, l.WarnBefore, r.caps.MinNotice, life, l.TTL)
}
