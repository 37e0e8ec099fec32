package projects

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Size limits of what a template puts into EC2 user data, which EC2 caps at
// 16 KiB. The keys are fetched at run time, so the check estimates them.
const (
	userDataLimit    = 16 << 10
	cloudInitLimit   = 12 << 10
	keysPerUserGuess = 512 // bytes of authorized_keys lines per GitHub user, a generous guess
	maxTagKeyLen     = 128
	maxTagValueLen   = 256
	maxTemplates     = 100
	maxExtensions    = 1000
)

// projectHomes says which table a project key belongs in, for hints about
// keys written in the wrong place.
var projectHomes = map[string]string{
	"owners": "top-level (before any [table])", "name": "top-level (before any [table])",
	"channel":       "[slack]",
	"max_instances": "[limits]", "max_vcpus": "[limits]", "allowed_instance_types": "[limits]",
	"ttl": "[lifecycle]", "warn_before": "[lifecycle]", "on_expiry": "[lifecycle]",
	"terminate_stopped_after": "[lifecycle]", "mode": "[lifecycle]",
	"image": "[[templates]]", "images": "[[templates]]", "availability_zone": "[[templates]]", "instance_type": "[[templates]]", "volume_gib": "[[templates]]",
	"ssh_from": "[[templates]]", "ssh_keys_from_github": "[[templates]]", "cloud_init": "[[templates]]",
	"tags": "[[templates]]", "shutdown_behavior": "[[templates]]",
	"instance": "[[extensions]]", "until": "[[extensions]]", "reason": "[[extensions]]",
}

// projectFile is a project file as written: zero values are "not set". It
// keeps its decoder so that checks against the admin file can report
// problems with positions.
type projectFile struct {
	d        *decoder
	name     string
	raw      Project
	parsedOK bool // the file is valid TOML
	// claims are the file's channel problems that a run may settle (see
	// checkChannels).
	claims []claim
}

// parseProject decodes and checks one project file on its own.
func parseProject(name, file, src string) *projectFile {
	d := &decoder{file: file, homes: projectHomes}
	pf := &projectFile{d: d, name: name}
	pf.raw.Name, pf.raw.File = name, file
	if msg := nameProblem(name); msg != "" {
		hint := "rename the file; the file name is the project name"
		if s := suggestName(name); s != "" {
			hint = fmt.Sprintf("rename it to projects/%s.toml", s)
		}
		d.probs = append(d.probs, Problem{File: file, Message: "bad project file name: " + msg, Hint: hint})
	}
	m := d.parse(src)
	if m == nil {
		return pf
	}
	pf.parsedOK = true
	root := table{d: d, m: m}
	root.known("name", "owners", "slack", "limits", "lifecycle", "templates", "extensions")
	p := &pf.raw

	if n, ok := root.str("name"); ok && n != name {
		d.report("name", fmt.Sprintf("rename the file to projects/%s.toml or remove the name key", n),
			"name %q does not match the file name %q", n, name)
	}
	if root.required("owners", `owners = ["your-github-user"]`) {
		if owners, ok := root.strs("owners"); ok {
			if len(owners) == 0 {
				d.report("owners", "list at least one GitHub user who answers for this project", "owners is empty")
			}
			p.Owners = checkUsers(d, "owners", owners)
		}
	}
	if root.required("slack", "[slack] with channel = \"#your-channel\"") {
		if s, ok := root.sub("slack"); ok {
			s.known("channel")
			if s.required("channel", `channel = "#your-channel"`) {
				if c, ok := s.str("channel"); ok {
					if msg, hint := slackChannelProblem(c); msg != "" {
						d.report("slack.channel", hint, "%s", msg)
					} else {
						p.SlackChannel = c
					}
				}
			}
		}
	}
	if t, ok := root.sub("limits"); ok {
		p.Limits = decodeLimits(t)
	}
	if t, ok := root.sub("lifecycle"); ok {
		p.Lifecycle = decodeLifecycle(t)
	}
	if list, ok := root.list("templates"); ok && len(list) > maxTemplates {
		d.report("templates", "split the project, or ask the admins", "%d templates; a project may have at most %d", len(list), maxTemplates)
	} else if ok {
		seen := map[string]string{}
		for _, t := range list {
			tpl := decodeTemplate(t)
			if tpl.Name != "" {
				if first, dup := seen[tpl.Name]; dup {
					d.report(joinKey(t.path, "name"), "give every template its own name", "duplicate template name %q (first used in %s)", tpl.Name, first)
				}
				seen[tpl.Name] = t.path
			}
			p.Templates = append(p.Templates, tpl)
		}
	}
	if list, ok := root.list("extensions"); ok && len(list) > maxExtensions {
		d.report("extensions", "remove extensions of instances that are gone", "%d extensions; a project may have at most %d", len(list), maxExtensions)
	} else if ok {
		seen := map[string]string{}
		for _, t := range list {
			e := decodeExtension(t)
			if e.Instance != "" {
				if first, dup := seen[e.Instance]; dup {
					d.report(joinKey(t.path, "instance"), "keep one extension per instance and edit its until", "duplicate extension for %s (first in %s)", e.Instance, first)
				}
				seen[e.Instance] = t.path
			}
			p.Extensions = append(p.Extensions, e)
		}
	}
	return pf
}

// checkUsers reports invalid or repeated GitHub user names and returns the
// valid ones.
func checkUsers(d *decoder, path string, users []string) []string {
	var out []string
	seen := map[string]bool{}
	for i, u := range users {
		if msg := githubUserProblem(u); msg != "" {
			d.report(indexPath(path, i), "", "%s", msg)
			continue
		}
		if seen[strings.ToLower(u)] {
			d.report(indexPath(path, i), "list each user once", "%q is listed twice", u)
			continue
		}
		seen[strings.ToLower(u)] = true
		out = append(out, u)
	}
	return out
}

func decodeLimits(t table) Limits {
	t.known("max_instances", "max_vcpus", "allowed_instance_types")
	var l Limits
	l.MaxInstances, _ = t.posInt("max_instances")
	l.MaxVCPUs, _ = t.posInt("max_vcpus")
	if globs, ok := t.strs("allowed_instance_types"); ok {
		if len(globs) == 0 {
			t.d.report(t.keyPath("allowed_instance_types"), "remove the key to allow every type the caps allow", "allowed_instance_types is empty, so no instance type is allowed")
		}
		l.AllowedInstanceTypes = []string{}
		for i, g := range globs {
			if msg := globProblem(g); msg != "" {
				t.d.report(indexPath(t.keyPath("allowed_instance_types"), i), `write an instance type or a glob, e.g. "m6i.large" or "t3.*"`, "%s", msg)
				continue
			}
			l.AllowedInstanceTypes = append(l.AllowedInstanceTypes, g)
		}
	}
	return l
}

func decodeLifecycle(t table) Lifecycle {
	t.known("ttl", "warn_before", "on_expiry", "terminate_stopped_after", "mode")
	var l Lifecycle
	l.TTL, _ = t.duration("ttl")
	l.WarnBefore, _ = t.duration("warn_before")
	l.TerminateStoppedAfter, _ = t.duration("terminate_stopped_after")
	if l.TTL > 0 && l.WarnBefore >= l.TTL {
		t.d.report(t.keyPath("warn_before"), "make warn_before shorter than ttl, e.g. a quarter of it", "warn_before (%s) is not shorter than ttl (%s), so the warning would be due before the instance is even launched", l.WarnBefore, l.TTL)
	}
	if s, ok := t.str("on_expiry"); ok {
		if s == OnExpiryStop || s == OnExpiryTerminate {
			l.OnExpiry = s
		} else {
			t.d.report(t.keyPath("on_expiry"), `use "stop" or "terminate"`, "unknown on_expiry %q", s)
		}
	}
	if s, ok := t.str("mode"); ok {
		if s == ModeEnforce || s == ModeStopOnly || s == ModeNotifyOnly {
			l.Mode = s
		} else {
			t.d.report(t.keyPath("mode"), `use "enforce", "stop-only" or "notify-only"`, "unknown mode %q", s)
		}
	}
	return l
}

// decodeTemplate decodes one [[templates]] entry.
func decodeTemplate(t table) Template {
	var tpl Template
	t.known("name", "image", "images", "instance_type", "volume_gib", "availability_zone", "ssh_from", "ssh_keys_from_github", "cloud_init", "tags", "shutdown_behavior")
	d := t.d
	tpl.Lines = map[string]int{"": d.ix.lookup(t.path).line}
	for k := range t.m {
		tpl.Lines[k] = d.ix.lookup(t.keyPath(k)).line
	}
	if t.required("name", `name = "fedora-large"`) {
		if s, ok := t.str("name"); ok {
			if msg := nameProblem(s); msg != "" {
				d.report(t.keyPath("name"), "", "template %s", msg)
			} else {
				tpl.Name = s
			}
		}
	}
	decodeImage(t, &tpl)
	if t.required("instance_type", `instance_type = "t3.large"`) {
		if s, ok := t.str("instance_type"); ok {
			if !instanceTypeRe.MatchString(s) {
				d.report(t.keyPath("instance_type"), `write an EC2 instance type such as "m6i.large"; globs belong in allowed_instance_types`, "%q is not an EC2 instance type", s)
			} else {
				tpl.InstanceType = s
			}
		}
	}
	if n, ok := t.posInt("volume_gib"); ok {
		if n > 16384 {
			d.report(t.keyPath("volume_gib"), "", "volume_gib %d is above EC2's 16384 GiB limit for a volume", n)
		} else {
			tpl.VolumeGiB = n
		}
	}
	if s, ok := t.str("availability_zone"); ok {
		if azRe.MatchString(s) {
			tpl.AvailabilityZone = s
		} else {
			d.report(t.keyPath("availability_zone"), `an availability zone is its region and a letter, e.g. "us-east-1a"`, "%q is not an availability zone", s)
		}
	}
	if cidrs, ok := t.strs("ssh_from"); ok {
		tpl.SSHFrom = []string{}
		for i, c := range cidrs {
			if msg, hint, _ := cidrProblem(c); msg != "" {
				d.report(indexPath(t.keyPath("ssh_from"), i), hint, "%s", msg)
				continue
			}
			tpl.SSHFrom = append(tpl.SSHFrom, c)
		}
	}
	if users, ok := t.strs("ssh_keys_from_github"); ok {
		if len(users) == 0 {
			d.report(t.keyPath("ssh_keys_from_github"), "remove the key to install the owners' keys", "ssh_keys_from_github is empty")
		}
		tpl.SSHKeysFromGitHub = checkUsers(d, t.keyPath("ssh_keys_from_github"), users)
	}
	if s, ok := t.str("cloud_init"); ok {
		if len(s) > cloudInitLimit {
			d.report(t.keyPath("cloud_init"), "move the bulk into the image or fetch it from a URL at boot", "cloud_init is %d bytes; more than %d KiB leaves no room in EC2's 16 KiB user data", len(s), cloudInitLimit>>10)
		}
		tpl.CloudInit = s
	}
	if tags, ok := t.sub("tags"); ok {
		tpl.Tags = decodeTags(tags)
	}
	if s, ok := t.str("shutdown_behavior"); ok {
		if s == "stop" || s == "terminate" {
			tpl.ShutdownBehavior = s
		} else {
			d.report(t.keyPath("shutdown_behavior"), `use "stop" or "terminate"`, "unknown shutdown_behavior %q", s)
		}
	}
	return tpl
}

func decodeTags(t table) map[string]string {
	tags := make(map[string]string, len(t.m))
	for k, v := range t.m {
		s, ok := v.(string)
		if !ok {
			t.wrongType(k, "a string", "", v)
			continue
		}
		path := t.keyPath(k)
		bad := false
		for _, prefix := range reservedTagPrefixes {
			if strings.HasPrefix(strings.ToLower(k), prefix) {
				t.d.report(path, "choose a key without that prefix", "tag key %q uses the reserved prefix %q", k, prefix)
				bad = true
			}
		}
		if k == "" || len(k) > maxTagKeyLen {
			t.d.report(path, "", "tag key must be 1 to %d characters, not %d", maxTagKeyLen, len(k))
			bad = true
		}
		if len(s) > maxTagValueLen {
			t.d.report(path, "", "tag value must be at most %d characters, not %d", maxTagValueLen, len(s))
			bad = true
		}
		if !bad {
			tags[k] = s
		}
	}
	return tags
}

func decodeExtension(t table) Extension {
	t.known("instance", "until", "reason")
	var e Extension
	if t.required("instance", `instance = "i-0123456789abcdef0"`) {
		if s, ok := t.str("instance"); ok {
			if instanceIDRe.MatchString(s) {
				e.Instance = s
			} else {
				t.d.report(t.keyPath("instance"), `an instance id is "i-" and 8 or 17 hex digits, e.g. "i-0123456789abcdef0"`, "%q is not an instance id", s)
			}
		}
	}
	if t.required("until", "until = 2026-12-01T18:00:00Z") {
		e.Until, _ = t.timestamp("until")
	}
	if t.required("reason", `reason = "release testing until the 1st"`) {
		if s, ok := t.str("reason"); ok {
			if strings.TrimSpace(s) == "" {
				t.d.report(t.keyPath("reason"), "say why the instance must live longer", "reason is empty")
			}
			e.Reason = s
		}
	}
	return e
}

// resolve applies defaults and checks the project against the admin file
// (nil when it is broken: then only built-in defaults apply and nothing is
// checked against caps). It returns the effective project.
func (pf *projectFile) resolve(a *Admin, now time.Time) *Project {
	r := resolver{pf: pf, d: pf.d, defaults: BuiltinDefaults(), caps: BuiltinCaps()}
	if a != nil {
		r.defaults = a.Defaults
		r.caps = a.EffectiveCaps(pf.name)
		r.checkCaps = pf.parsedOK
		r.regions = a.Regions()
	}
	p := pf.raw
	p.Owners = slices.Clone(pf.raw.Owners)
	p.Limits = r.limits(pf.raw.Limits)
	p.RequestedLimits = pf.raw.Limits
	p.RequestedLimits.AllowedInstanceTypes = slices.Clone(pf.raw.Limits.AllowedInstanceTypes)
	p.Lifecycle = r.lifecycle(pf.raw.Lifecycle)
	r.lifecycleCaps(pf.raw.Lifecycle)
	if r.checkCaps {
		r.lifetimeWarnings(p.Lifecycle)
	}
	p.Templates = r.templates(pf.raw.Templates, p.Owners, p.Limits)
	p.Extensions = r.extensions(pf.raw.Extensions, now)
	return &p
}

// resolver merges one project with its defaults and checks it against its
// caps.
type resolver struct {
	pf        *projectFile
	d         *decoder
	defaults  Defaults
	caps      Caps // with the project's grant applied
	checkCaps bool // the admin file is valid and so is the project's TOML
	regions   []string
}

// grantHint tells how an admin would allow a value above a cap.
func (r resolver) grantHint(key, value string) string {
	return fmt.Sprintf("ask an admin for a grant in launchwarden.toml, e.g. [grants.%s] %s = %s", r.pf.name, key, value)
}

func (r resolver) limits(raw Limits) Limits {
	l := Limits{
		MaxInstances: pick(raw.MaxInstances, min(r.defaults.Limits.MaxInstances, r.caps.MaxInstances)),
		MaxVCPUs:     pick(raw.MaxVCPUs, min(r.defaults.Limits.MaxVCPUs, r.caps.MaxVCPUs)),
	}
	if r.checkCaps && raw.MaxInstances > r.caps.MaxInstances {
		r.d.report("limits.max_instances", r.grantHint("max_instances", fmt.Sprint(raw.MaxInstances)),
			"max_instances %d is above the cap of %d (caps.max_instances)", raw.MaxInstances, r.caps.MaxInstances)
	}
	if r.checkCaps && raw.MaxVCPUs > r.caps.MaxVCPUs {
		r.d.report("limits.max_vcpus", r.grantHint("max_vcpus", fmt.Sprint(raw.MaxVCPUs)),
			"max_vcpus %d is above the cap of %d (caps.max_vcpus)", raw.MaxVCPUs, r.caps.MaxVCPUs)
	}
	switch {
	case raw.AllowedInstanceTypes != nil:
		l.AllowedInstanceTypes = raw.AllowedInstanceTypes
		for i, g := range raw.AllowedInstanceTypes {
			if r.checkCaps && !globCovered(r.caps.AllowedInstanceTypes, g) {
				r.d.report(indexPath("limits.allowed_instance_types", i), r.grantHint("allowed_instance_types", fmt.Sprintf("[%q]", g)),
					"%q is not within caps.allowed_instance_types %s", g, quoteList(r.caps.AllowedInstanceTypes))
			}
		}
	case r.defaults.Limits.AllowedInstanceTypes != nil:
		l.AllowedInstanceTypes = r.defaults.Limits.AllowedInstanceTypes
	default:
		l.AllowedInstanceTypes = r.caps.AllowedInstanceTypes
	}
	l.AllowedInstanceTypes = slices.Clone(l.AllowedInstanceTypes)
	return l
}

func (r resolver) lifecycle(raw Lifecycle) Lifecycle {
	def := r.defaults.Lifecycle
	l := Lifecycle{
		TTL:                   pick(raw.TTL, min(def.TTL, r.caps.MaxTTL)),
		WarnBefore:            raw.WarnBefore,
		OnExpiry:              pick(raw.OnExpiry, def.OnExpiry),
		TerminateStoppedAfter: pick(raw.TerminateStoppedAfter, def.TerminateStoppedAfter),
		Mode:                  pick(raw.Mode, def.Mode),
	}
	if r.checkCaps && raw.TTL > r.caps.MaxTTL {
		r.d.report("lifecycle.ttl", r.grantHint("max_ttl", fmt.Sprintf("%q", raw.TTL)),
			"ttl %s is above the cap of %s (caps.max_ttl)", raw.TTL, r.caps.MaxTTL)
	}
	switch {
	case l.WarnBefore == 0:
		l.WarnBefore = min(def.WarnBefore, l.TTL/2)
	case raw.TTL == 0 && l.WarnBefore >= l.TTL: // both set: checked when decoding
		r.d.report("lifecycle.warn_before", "set a longer ttl in [lifecycle] or a shorter warn_before",
			"warn_before (%s) is not shorter than the default ttl (%s)", l.WarnBefore, l.TTL)
	}
	if l.Mode == ModeStopOnly && l.OnExpiry == OnExpiryTerminate {
		if raw.OnExpiry != "" {
			r.d.report("lifecycle.on_expiry", `use on_expiry = "stop", or mode = "enforce" to allow terminating`,
				`on_expiry = "terminate" contradicts mode = "stop-only"`)
		}
		l.OnExpiry = OnExpiryStop // stop-only never terminates
	}
	return l
}

func (r resolver) templates(raw []Template, owners []string, limits Limits) []Template {
	out := make([]Template, len(raw))
	for i, t := range raw {
		path := indexPath("templates", i)
		t.ShutdownBehavior = pick(t.ShutdownBehavior, "stop")
		if t.SSHKeysFromGitHub == nil {
			t.SSHKeysFromGitHub = slices.Clone(owners)
		}
		if t.Tags == nil {
			t.Tags = map[string]string{}
		}
		if t.SSHFrom == nil {
			t.SSHFrom = []string{}
		}
		out[i] = t
		if !r.pf.parsedOK {
			continue
		}
		if n := len(t.CloudInit) + keysPerUserGuess*len(t.SSHKeysFromGitHub); len(t.CloudInit) <= cloudInitLimit && n > userDataLimit {
			r.d.report(joinKey(path, "ssh_keys_from_github"), "list fewer users, or shorten cloud_init",
				"cloud_init (%d bytes) plus the SSH keys of %d users would likely exceed EC2's 16 KiB user data", len(t.CloudInit), len(t.SSHKeysFromGitHub))
		}
		if r.checkCaps {
			r.checkTemplate(path, t, limits)
			r.checkImage(path, t, r.regions)
		}
	}
	return out
}

func (r resolver) checkTemplate(path string, t Template, limits Limits) {
	if t.InstanceType != "" {
		switch {
		case !MatchInstanceType(r.caps.AllowedInstanceTypes, t.InstanceType):
			r.d.report(joinKey(path, "instance_type"), r.grantHint("allowed_instance_types", fmt.Sprintf("[%q]", t.InstanceType)),
				"%q is not allowed by caps.allowed_instance_types %s", t.InstanceType, quoteList(r.caps.AllowedInstanceTypes))
		case !MatchInstanceType(limits.AllowedInstanceTypes, t.InstanceType):
			r.d.report(joinKey(path, "instance_type"), "add it to allowed_instance_types in [limits]",
				"%q is not in limits.allowed_instance_types %s", t.InstanceType, quoteList(limits.AllowedInstanceTypes))
		}
	}
	if t.VolumeGiB > r.caps.MaxVolumeGiB {
		r.d.report(joinKey(path, "volume_gib"), r.grantHint("max_volume_gib", fmt.Sprint(t.VolumeGiB)),
			"volume_gib %d is above the cap of %d (caps.max_volume_gib)", t.VolumeGiB, r.caps.MaxVolumeGiB)
	}
	if r.caps.AllowWorldSSH {
		return
	}
	for j, c := range t.SSHFrom {
		if _, _, world := cidrProblem(c); world {
			r.d.report(indexPath(joinKey(path, "ssh_from"), j), "list the networks you connect from, or "+r.grantHint("allow_world_ssh", "true"),
				"SSH from the whole internet (%s) is not allowed (caps.allow_world_ssh = false)", c)
			continue
		}
		r.sshPrefixCap(indexPath(joinKey(path, "ssh_from"), j), c)
	}
}

// extensions checks that no extension outlives caps.max_lifetime: an
// instance launched now could not live until later than now+max_lifetime.
func (r resolver) extensions(raw []Extension, now time.Time) []Extension {
	if r.checkCaps {
		limit := now.Add(r.caps.MaxLifetime.Std())
		for i, e := range raw {
			if e.Until.After(limit) {
				r.d.report(joinKey(indexPath("extensions", i), "until"),
					fmt.Sprintf("pick a time before %s, or %s", limit.UTC().Format(time.RFC3339), r.grantHint("max_lifetime", `"…"`)),
					"until %s is more than caps.max_lifetime (%s) from now; no instance may live that long", e.Until.UTC().Format(time.RFC3339), r.caps.MaxLifetime)
			}
		}
	}
	return slices.Clone(raw)
}

func pick[T comparable](v, fallback T) T {
	var zero T
	if v != zero {
		return v
	}
	return fallback
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
