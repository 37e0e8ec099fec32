package change

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/limits"
	"github.com/launchwarden/launchwarden/projects"
)

// projectRules cover the fields of projects.Project. Limits, lifecycle,
// templates and extensions have sections of their own.
var projectRules = map[string]rule{
	"Name":         {skip: true},
	"File":         {skip: true},
	"Owners":       {note: "owners answer for the project; templates without ssh_keys_from_github install their GitHub keys on new launches"},
	"SlackChannel": {key: "slack.channel", note: "the team's notices go to this channel from the next run"},
	"Limits":       {skip: true},
	// The limits section shows the effective limits and where each comes
	// from, the request included.
	"RequestedLimits": {skip: true},
	"Lifecycle":       {skip: true},
	"Templates":       {skip: true},
	"Extensions":      {skip: true},
}

// templateRules cover the fields of projects.Template.
var templateRules = map[string]rule{
	"Name":  {skip: true},
	"Image": {note: "new launches boot this image; running instances keep theirs"},
	// Images, ImageSelector and AvailabilityZone arrive with images per
	// region ([templates.images], [templates.image]) and subnet choice.
	"Images":            {note: "new launches in each region boot its image; running instances keep theirs"},
	"ImageSelector":     {key: "image", note: "resolved in each region to the newest available match on every run: a newer match makes a new template version (pin = true keeps the current one); running instances keep theirs"},
	"AvailabilityZone":  {note: "the zone (and so the subnet) of new launches; running instances stay where they are"},
	"InstanceType":      {note: "new launches get this type; running instances keep theirs"},
	"VolumeGiB":         {format: volume, note: "the root volume of new launches; running instances keep theirs"},
	"SSHFrom":           {note: "the template's security group changes at once, for running instances too"},
	"SSHKeysFromGitHub": {note: "whose GitHub keys new launches get; running instances keep the keys they booted with"},
	"CloudInit":         {note: "runs on new launches only"},
	"Tags":              {note: "tags of instances launched from now on; running instances keep theirs"},
	"ShutdownBehavior":  {note: "what a new instance does when shut down from inside"},
}

func volume(v reflect.Value) string {
	if v.Int() == 0 {
		return "the image's size"
	}
	return fmt.Sprintf("%d GiB", v.Int())
}

// Limit is one effective limit and the key that decides it.
type Limit struct {
	Value string `json:"value"`
	// From is the key whose value binds: the project's request
	// ("limits.max_vcpus"), the admins' default ("defaults.limits.max_vcpus"),
	// the cap ("caps.max_vcpus") or the project's grant
	// ("grants.osbuild.max_vcpus").
	From string `json:"from"`
}

// LimitChange is one effective limit before and after; Before is nil for
// a project head adds or unfreezes.
type LimitChange struct {
	Key    string `json:"key"`
	Before *Limit `json:"before,omitempty"`
	After  *Limit `json:"after,omitempty"`
	// Note says what a tighter limit does to instances already running.
	Note string `json:"note,omitempty"`
}

// limitKeys are the keys of the effective limits, in the order limits
// returns them: one per field of projects.Limits.
var limitKeys = []string{"max_instances", "max_vcpus", "allowed_instance_types"}

// limits returns a project's effective limits as a run computes them (its
// request within its caps, grant included) and the key that binds each.
func (c *comparison) limits(a *projects.Admin, p *projects.Project) []Limit {
	caps := a.EffectiveCaps(p.Name)
	eff := limits.Effective(
		limits.Limits{MaxInstances: p.Limits.MaxInstances, MaxVCPUs: p.Limits.MaxVCPUs, AllowedTypes: p.Limits.AllowedInstanceTypes},
		limits.Limits{MaxInstances: caps.MaxInstances, MaxVCPUs: caps.MaxVCPUs, AllowedTypes: caps.AllowedInstanceTypes},
	)
	req := p.RequestedLimits
	grant := a.Grants[p.Name]
	capKey := func(key string, granted bool) string {
		if granted {
			return fmt.Sprintf("grants.%s.%s", p.Name, key)
		}
		return "caps." + key
	}
	count := func(key string, value, requested, def int, granted bool) Limit {
		l := Limit{Value: fmt.Sprint(value), From: capKey(key, granted)}
		switch {
		case requested != 0:
			l.From = "limits." + key
		case value == def:
			l.From = "defaults.limits." + key
		}
		if value == 0 {
			l.Value = "unlimited"
		}
		return l
	}
	types := Limit{Value: strings.Join(eff.AllowedTypes, ", "), From: capKey("allowed_instance_types", false)}
	switch {
	case req.AllowedInstanceTypes != nil:
		types.From = "limits.allowed_instance_types"
	case a.Defaults.Limits.AllowedInstanceTypes != nil:
		types.From = "defaults.limits.allowed_instance_types"
	case grant.AllowedInstanceTypes != nil:
		types.From += " + " + capKey("allowed_instance_types", true)
	}
	if types.Value == "" {
		types.Value = "any"
	}
	return []Limit{
		count("max_instances", eff.MaxInstances, req.MaxInstances, a.Defaults.Limits.MaxInstances, grant.MaxInstances != nil),
		count("max_vcpus", eff.MaxVCPUs, req.MaxVCPUs, a.Defaults.Limits.MaxVCPUs, grant.MaxVCPUs != nil),
		types,
	}
}

// limitChanges returns the limits whose value or binding key differ;
// every limit when before is nil. l is the project's lifecycle after.
func limitChanges(before, after []Limit, l projects.Lifecycle) []LimitChange {
	var out []LimitChange
	for i, key := range limitKeys {
		c := LimitChange{Key: key, After: &after[i]}
		if before != nil {
			if before[i] == after[i] {
				continue
			}
			c.Before = &before[i]
			c.Note = tighterNote(key, before[i].Value, after[i].Value, l)
		}
		out = append(out, c)
	}
	return out
}

// tighterNote says what limits.Check does to running instances when a
// limit gets tighter: the newest instances over the count are terminated,
// the newest over the vCPUs and those of types no longer allowed are
// stopped, each after a notice; in notify-only mode they are only warned.
func tighterNote(key, before, after string, l projects.Lifecycle) string {
	fate := func(action string) string {
		switch {
		case l.Mode == projects.ModeNotifyOnly:
			return "only warned (notify-only)"
		case action == limits.ActionTerminate && l.Mode != projects.ModeStopOnly:
			return "terminated after a notice"
		}
		return "stopped after a notice"
	}
	switch key {
	case "max_instances", "max_vcpus":
		b, errB := strconv.Atoi(before)
		a, errA := strconv.Atoi(after)
		if errA != nil || (errB == nil && a >= b) {
			return ""
		}
		if key == "max_instances" {
			return fmt.Sprintf("if more than %d instances run, the newest are %s; templates close to new launches while one more would pass the limit", a, fate(limits.ActionTerminate))
		}
		return fmt.Sprintf("if running instances use more than %d vCPUs, the newest are %s; templates close to new launches while one more would pass the limit", a, fate(limits.ActionStop))
	case "allowed_instance_types":
		after := strings.Split(after, ", ")
		for _, t := range strings.Split(before, ", ") {
			if !slices.Contains(after, t) && after[0] != "any" {
				return "running instances of a type no longer allowed are " + fate(limits.ActionStop)
			}
		}
	}
	return ""
}

// lifecycle returns the changes of a project's lifecycle, with the caps
// that shape it (min_notice, max_lifetime) and the lifetime that results;
// every value when bp is nil.
func (c *comparison) lifecycle(bp, hp *projects.Project) []FieldChange {
	h, hcaps := hp.Lifecycle, c.headAdmin.EffectiveCaps(hp.Name)
	if bp == nil {
		out := values(compare(projects.Lifecycle{}, h, nil))
		return append(out, FieldChange{Key: "lifetime", After: lifetime(h, hcaps), Note: lifetimeNote})
	}
	b, bcaps := bp.Lifecycle, c.baseAdmin.EffectiveCaps(bp.Name)
	out := compare(b, h, nil)
	for i := range out {
		if note, ok := lifecycleNotes[out[i].Key]; ok {
			out[i].Note = note(b, h, hcaps)
		}
	}
	for _, k := range []string{"min_notice", "max_lifetime", "restart_grace"} {
		if x, y := capValue(bcaps, k), capValue(hcaps, k); x != y {
			out = append(out, FieldChange{Key: k, Before: x, After: y, Note: "from " + capSource(c.headAdmin, hp.Name, k)})
		}
	}
	if x, y := lifetime(b, bcaps), lifetime(h, hcaps); x != y {
		out = append(out, FieldChange{Key: "lifetime", Before: x, After: y, Note: lifetimeNote})
	}
	return out
}

const lifetimeNote = "from launch to the first stop or termination, unless extended: ttl − warn_before + the longer of warn_before and min_notice"

// lifetime is about how long an instance lives before it is first stopped
// or terminated: it is warned warn_before ahead of its expiry, and the
// action comes no sooner than min_notice after the warning.
func lifetime(l projects.Lifecycle, caps projects.Caps) string {
	if l.Mode == projects.ModeNotifyOnly {
		return "unbounded (notify-only)"
	}
	d := l.TTL - l.WarnBefore + max(l.WarnBefore, caps.MinNotice)
	return fmt.Sprintf("%s, then %s", d, expiryVerb(l))
}

// expiryVerb says what happens to an instance at expiry.
func expiryVerb(l projects.Lifecycle) string {
	switch {
	case l.Mode == projects.ModeNotifyOnly:
		return "only warned"
	case l.OnExpiry == projects.OnExpiryTerminate && l.Mode != projects.ModeStopOnly:
		return "terminated"
	}
	return "stopped"
}

// lifecycleNotes say what a change of each lifecycle key means, given the
// lifecycles before and after and the caps after. One per field of
// projects.Lifecycle.
var lifecycleNotes = map[string]func(b, h projects.Lifecycle, caps projects.Caps) string{
	"ttl": func(b, h projects.Lifecycle, caps projects.Caps) string {
		if h.TTL < b.TTL {
			return fmt.Sprintf("applies to running instances too: those older than %s are past their expiry at once, warned on the next run and %s no sooner than %s (min_notice) later", h.TTL, expiryVerb(h), caps.MinNotice)
		}
		return "applies to running instances too: they live longer (expiry is launch + ttl unless extended)"
	},
	"warn_before": func(_, h projects.Lifecycle, caps projects.Caps) string {
		return fmt.Sprintf("the warning goes out %s before expiry; the action never comes sooner than %s (min_notice) after it", h.WarnBefore, caps.MinNotice)
	},
	"on_expiry": func(_, h projects.Lifecycle, _ projects.Caps) string {
		if h.OnExpiry == projects.OnExpiryTerminate {
			return "expired instances are terminated, not stopped: their disks are lost"
		}
		return fmt.Sprintf("expired instances are stopped, and terminated %s after they stopped", h.TerminateStoppedAfter)
	},
	"terminate_stopped_after": func(_, h projects.Lifecycle, _ projects.Caps) string {
		if h.Mode != projects.ModeEnforce {
			return fmt.Sprintf("no effect while mode is %s: stopped instances are never terminated", h.Mode)
		}
		return fmt.Sprintf("stopped instances are terminated %s after they stopped, never before their expiry", h.TerminateStoppedAfter)
	},
	"mode": func(_, h projects.Lifecycle, _ projects.Caps) string {
		switch h.Mode {
		case projects.ModeStopOnly:
			return "nothing is terminated any more: expiry and quotas only stop instances, and stopped instances stay"
		case projects.ModeNotifyOnly:
			return "notices only: nothing is stopped or terminated, and quotas are not enforced"
		}
		return "instances are stopped and terminated as the lifecycle and quotas say, each after a notice"
	},
}

// capValue shows the field of caps whose key is key.
func capValue(caps projects.Caps, key string) string {
	return fieldValue(reflect.ValueOf(caps), key)
}

// capSource names the key that sets a project's cap: its grant or [caps].
func capSource(a *projects.Admin, project, key string) string {
	g := reflect.ValueOf(a.Grants[project])
	t := g.Type()
	for i := range t.NumField() {
		if snake(t.Field(i).Name) == key && !g.Field(i).IsZero() {
			return fmt.Sprintf("grants.%s.%s", project, key)
		}
	}
	return "caps." + key
}

// values turns the changes from a zero value into the values alone.
func values(changes []FieldChange) []FieldChange {
	for i := range changes {
		c := &changes[i]
		c.Before, c.Added, c.Removed, c.Note = "", nil, nil, ""
	}
	return changes
}

// templateValues lists what a new template sets. ownersKeys marks keys
// that come from the owners because the template names no users.
func templateValues(t *projects.Template, ownersKeys bool) []FieldChange {
	out := values(compare(projects.Template{}, *t, templateRules))
	for i := range out {
		if out[i].Key == "ssh_keys_from_github" && ownersKeys {
			out[i].After += " (the owners)"
		}
	}
	return out
}

// markOwnersKeys marks the users of a changed ssh_keys_from_github that
// are the owners because the template lists no users itself.
func (c *comparison) markOwnersKeys(fields []FieldChange, bp, hp *projects.Project, name string) {
	for i := range fields {
		f := &fields[i]
		if f.Key != "ssh_keys_from_github" {
			continue
		}
		if c.fromOwners(bp, name) {
			f.Before += " (the owners)"
		}
		if c.fromOwners(hp, name) {
			f.After += " (the owners)"
		}
	}
}

// fromOwners reports whether template name of p installs the owners' keys
// because its table does not list ssh_keys_from_github itself.
func (c *comparison) fromOwners(p *projects.Project, name string) bool {
	t := p.Template(name)
	if t == nil || t.Lines == nil {
		return false
	}
	_, set := t.Lines["ssh_keys_from_github"]
	return !set
}

// templates compares the templates of a project valid in both configs.
func (c *comparison) templates(bp, hp *projects.Project) []TemplateChange {
	var out []TemplateChange
	var created, deleted []int
	for i := range hp.Templates {
		ht := &hp.Templates[i]
		bt := bp.Template(ht.Name)
		if bt == nil {
			created = append(created, len(out))
			out = append(out, TemplateChange{Name: ht.Name, Op: OpCreate, Regions: c.regions(), Fields: templateValues(ht, c.fromOwners(hp, ht.Name))})
			continue
		}
		if fields := compare(*bt, *ht, templateRules); len(fields) > 0 {
			c.markOwnersKeys(fields, bp, hp, ht.Name)
			out = append(out, TemplateChange{Name: ht.Name, Op: OpChange, Fields: fields,
				Note: "a new version of the launch template becomes its default in every region"})
		}
	}
	for _, bt := range bp.Templates {
		if hp.Template(bt.Name) == nil {
			deleted = append(deleted, len(out))
			out = append(out, TemplateChange{Name: bt.Name, Op: OpDelete, Note: c.templateOrphans(hp)})
		}
	}
	// A template renamed is deleted and created: launch templates are
	// found by name. Say so where the two match but for the name.
	for _, d := range deleted {
		bt := bp.Template(out[d].Name)
		for _, n := range created {
			ht := hp.Template(out[n].Name)
			if len(compare(*bt, *ht, templateRules)) == 0 {
				out[n].Note = fmt.Sprintf("the same as the deleted %q but for the name: a rename creates a new launch template", bt.Name)
				out[d].Note = fmt.Sprintf("renamed to %q: %s", ht.Name, out[d].Note)
			}
		}
	}
	return out
}

// templateOrphans says what becomes of the instances of a template that
// left project p.
func (c *comparison) templateOrphans(p *projects.Project) string {
	grace := c.headAdmin.Safety.OrphanGrace
	fate := fmt.Sprintf("terminated %s later (safety.orphan_grace)", grace)
	switch p.Lifecycle.Mode {
	case projects.ModeStopOnly:
		fate = fmt.Sprintf("stopped %s later (safety.orphan_grace; stop-only never terminates)", grace)
	case projects.ModeNotifyOnly:
		fate = "never stopped or terminated (notify-only)"
	}
	return "its launch template closes to new launches and is deleted once no instance it launched is left; those instances become orphans: the team is told, and they are " + fate
}

// projectOrphans says what becomes of the instances of a removed project
// (nil if it was frozen in base).
func (c *comparison) projectOrphans(bp *projects.Project) string {
	s := fmt.Sprintf("its launch templates close to new launches and are deleted once no instance they launched is left; its instances become orphans: admins are told, and they are terminated %s later (safety.orphan_grace), whatever the project's lifecycle said",
		c.headAdmin.Safety.OrphanGrace)
	if bp != nil && bp.Lifecycle.Mode != projects.ModeEnforce {
		s += fmt.Sprintf(" (its mode was %s)", bp.Lifecycle.Mode)
	}
	return s
}

// extensions compares the [[extensions]] of a project valid in both
// configs, by instance.
func (c *comparison) extensions(bp, hp *projects.Project) []ExtensionChange {
	var out []ExtensionChange
	for i := range hp.Extensions {
		he := &hp.Extensions[i]
		j := slices.IndexFunc(bp.Extensions, func(e projects.Extension) bool { return e.Instance == he.Instance })
		switch {
		case j < 0:
			out = append(out, c.extension(ExtensionAdded, nil, he, hp))
		case !bp.Extensions[j].Until.Equal(he.Until) || bp.Extensions[j].Reason != he.Reason:
			out = append(out, c.extension(ExtensionChanged, &bp.Extensions[j], he, hp))
		}
	}
	for _, be := range bp.Extensions {
		if !slices.ContainsFunc(hp.Extensions, func(e projects.Extension) bool { return e.Instance == be.Instance }) {
			out = append(out, ExtensionChange{Instance: be.Instance, Op: ExtensionRemoved, Before: be.Until.UTC(), Reason: be.Reason,
				Note: "the instance keeps the expiry already written on it: removing the entry does not shorten it"})
		}
	}
	return out
}

// extension judges an extension added or changed: whether its time has
// passed, and for which instances it fits within the max lifetime.
func (c *comparison) extension(op string, before, e *projects.Extension, p *projects.Project) ExtensionChange {
	caps := c.headAdmin.EffectiveCaps(p.Name)
	x := ExtensionChange{Instance: e.Instance, Op: op, Until: e.Until.UTC(), Reason: e.Reason}
	if before != nil {
		x.Before = before.Until.UTC()
	}
	if !e.Until.After(c.now) {
		x.Fits = "past"
		x.Note = fmt.Sprintf("until has passed: the instance is due at once, warned on the next run and %s no sooner than %s (min_notice) later", expiryVerb(p.Lifecycle), caps.MinNotice)
		return x
	}
	x.Fits = "yes"
	x.LaunchedAfter = e.Until.Add(-time.Duration(caps.MaxLifetime)).UTC()
	x.Note = fmt.Sprintf("fits within max_lifetime (%s) for an instance launched after %s; one launched earlier is held to launch + %s",
		caps.MaxLifetime, x.LaunchedAfter.Format(time.RFC3339), caps.MaxLifetime)
	if before != nil && e.Until.Before(before.Until) {
		x.Note = "shortens the extension; " + x.Note
	}
	return x
}
