package change

import (
	"reflect"
	"slices"
	"strings"
)

// capNotes say what each cap does; one per field of projects.Caps (and so
// of projects.Grant, which raises them for one project).
var capNotes = map[string]string{
	"max_instances":               "the most instances a project may ask for",
	"max_vcpus":                   "the most vCPUs a project may ask for",
	"allowed_instance_types":      "the instance types a project may use",
	"max_volume_gib":              "the largest root volume a template may ask for",
	"max_ttl":                     "the longest ttl a project may set",
	"max_lifetime":                "the longest an instance may live, extensions included",
	"min_notice":                  "the least time between a notice and the stop or termination it announces",
	"restart_grace":               "how long an instance started again after its expiry runs before it is stopped again",
	"button_extend":               "how much one click of a digest's Extend button adds to an instance's expiry (within max_lifetime)",
	"allow_world_ssh":             "whether a template may allow SSH from the whole internet",
	"max_terminate_stopped_after": "the longest terminate_stopped_after a project may set",
	"min_ssh_prefix_ipv4":         "the widest IPv4 prefix ssh_from may list (private ranges exempt)",
	"min_ssh_prefix_ipv6":         "the widest IPv6 prefix ssh_from may list (private ranges exempt)",
	"allowed_modes":               "the lifecycle modes besides enforce a project may set",
	"shared_channels":             "Slack channels this project may use although they are the admin channel or another project's",
}

// safetyNotes say what each safety key does; one per field of
// projects.Safety.
var safetyNotes = map[string]func(FieldChange) string{
	"max_destructive_per_run": func(FieldChange) string {
		return "a run stops or terminates at most this many instances; the excess waits for later runs and admins are told"
	},
	"orphan_grace": func(FieldChange) string {
		return "instances of removed projects and templates are terminated this long after admins are first told"
	},
	"enforce": func(f FieldChange) string {
		if f.After == "false" {
			return "the kill switch: every run only plans; nothing is created, changed, stopped or terminated"
		}
		return "runs act again: templates are brought in line, and due instances are stopped and terminated (each after its notice)"
	},
}

// adminNotes say what a change of a launchwarden.toml key does, by key
// pattern: "*" stands for one name (an account, a project, a channel, a
// region). A key without a note is still listed.
var adminNotes = map[string]func(FieldChange) string{
	"schedule":                              fixed("serve runs on this schedule"),
	"aws.profile":                           fixed("the base credentials launchwarden starts from"),
	"aws.accounts[*]":                       regionsNote,
	"aws.accounts[*].*":                     fixed("how launchwarden reaches this account"),
	"aws.accounts[*].regions":               regionsNote,
	"aws.accounts[*].vpc_id":                fixed("where new launches are placed: the templates' security groups are made in this VPC"),
	"aws.accounts[*].subnet_ids":            fixed("where new launches are placed"),
	"aws.accounts[*].networks.*":            fixed("where new launches are placed in this region"),
	"aws.accounts[*].networks.*.vpc_id":     fixed("where new launches are placed in this region: the templates' security groups are made in this VPC"),
	"aws.accounts[*].networks.*.subnet_ids": fixed("where new launches are placed in this region"),
	"slack.admin_channel":                   fixed("admin notices (orphans, frozen projects, safety holds) go here"),
	"slack.*":                               fixed("where the Slack secret is read from"),
	"slack.webhooks.*":                      fixed("this channel's notices go through an incoming webhook, read from here"),
	"state.key":                             fixed("the key that signs state tags from now on: tags signed with the old key count as absent (instances are warned afresh) unless it is in previous_keys"),
	"state.previous_keys":                   fixed("keys that still verify state tags but sign nothing: remove an old one only once no tag needs it"),
	"web.base_url":                          fixed("where the status pages are reached; digests link each instance to its project's page there"),
	"web.password":                          fixed("the basic-auth password of the status pages is read from here"),
	"github.keys_url":                       fixed("SSH keys are fetched from here: every template may get new keys"),
	"defaults.limits.*":                     fixed("the default for every project that does not set it"),
	"defaults.lifecycle.*":                  fixed("the default for every project that does not set it"),
	"grants.*": func(f FieldChange) string {
		if f.After == "" {
			return "the project is held to the caps again"
		}
		return "caps for this project alone, in place of [caps]"
	},
}

func fixed(s string) func(FieldChange) string { return func(FieldChange) string { return s } }

// regionsNote says what adding and removing regions (or whole accounts)
// does.
func regionsNote(f FieldChange) string {
	var parts []string
	if len(f.Added) > 0 || f.Before == "" {
		parts = append(parts, "every project's templates are created in the added regions")
	}
	if len(f.Removed) > 0 || f.After == "" {
		parts = append(parts, "launchwarden stops managing the removed ones: their templates and instances are left as they are, and nothing there expires any more")
	}
	return strings.Join(parts, "; ")
}

// noteFor returns the note of an admin key, from the most specific pattern
// that matches it.
func noteFor(f FieldChange) string {
	segs := keySegments(f.Key)
	switch {
	case len(segs) == 2 && segs[0] == "caps" && capNotes[segs[1]] != "":
		return capNotes[segs[1]] + ", unless a grant says otherwise"
	case len(segs) == 3 && segs[0] == "grants" && segs[2] == "allowed_instance_types":
		return "instance types this project may use on top of caps.allowed_instance_types"
	case len(segs) == 3 && segs[0] == "grants" && segs[2] == "allowed_modes":
		return "lifecycle modes this project may use on top of caps.allowed_modes"
	case len(segs) == 3 && segs[0] == "grants" && segs[2] == "shared_channels":
		return capNotes["shared_channels"]
	case len(segs) == 3 && segs[0] == "grants" && capNotes[segs[2]] != "":
		return capNotes[segs[2]] + ", for this project alone"
	case len(segs) == 2 && segs[0] == "safety":
		if n, ok := safetyNotes[segs[1]]; ok {
			return n(f)
		}
		return ""
	}
	best, bestStars := "", -1
	for pattern, note := range adminNotes {
		p := keySegments(pattern)
		if len(p) != len(segs) {
			continue
		}
		stars, ok := 0, true
		for i := range p {
			switch {
			case p[i] == segs[i]:
			case p[i] == "*" || p[i] == "aws.accounts[*]" && strings.HasPrefix(segs[i], "aws.accounts["):
				stars++
			default:
				ok = false
			}
		}
		if ok && (best == "" || stars < bestStars) {
			best, bestStars = note(f), stars
		}
	}
	return best
}

// keySegments splits a key path at its dots, keeping an indexed list entry
// such as "aws.accounts[ci]" as one segment (its name may hold dots).
func keySegments(key string) []string {
	if rest, ok := strings.CutPrefix(key, "aws.accounts["); ok {
		name, after, _ := strings.Cut(rest, "]")
		segs := []string{"aws.accounts[" + name + "]"}
		if after = strings.TrimPrefix(after, "."); after != "" {
			segs = append(segs, strings.Split(after, ".")...)
		}
		return segs
	}
	return strings.Split(key, ".")
}

// admin compares two valid admin files: every key that changed, what it
// does, and which projects' effective values it changes.
func (c *comparison) admin() []FieldChange {
	out := compare(*c.baseAdmin, *c.headAdmin, nil)
	for i := range out {
		out[i].Note = noteFor(out[i])
		out[i].AppliesTo = c.affects(out[i].Key)
	}
	return out
}

// affects returns the projects whose effective values change with an admin
// key: for a cap, those whose cap (grant applied) changes; for a grant,
// its project; for a default, those whose effective value changes.
func (c *comparison) affects(key string) []string {
	segs := keySegments(key)
	var out []string
	switch {
	case segs[0] == "grants" && len(segs) >= 2:
		return []string{segs[1]}
	case segs[0] == "caps" && len(segs) == 2:
		for _, name := range c.validInBoth() {
			if capValue(c.baseAdmin.EffectiveCaps(name), segs[1]) != capValue(c.headAdmin.EffectiveCaps(name), segs[1]) {
				out = append(out, name)
			}
		}
	case segs[0] == "defaults" && len(segs) == 3:
		own := segs[1] + "." + segs[2] // the project's own key, e.g. lifecycle.ttl
		for _, name := range c.validInBoth() {
			if c.base.set[name][own] || c.head.set[name][own] {
				continue // the project sets it itself
			}
			bp, hp := c.base.Config.Project(name), c.head.Config.Project(name)
			var b, h reflect.Value
			switch segs[1] {
			case "limits":
				b, h = reflect.ValueOf(bp.Limits), reflect.ValueOf(hp.Limits)
			case "lifecycle":
				b, h = reflect.ValueOf(bp.Lifecycle), reflect.ValueOf(hp.Lifecycle)
			default:
				continue
			}
			if fieldValue(b, segs[2]) != fieldValue(h, segs[2]) {
				out = append(out, name)
			}
		}
	}
	return out
}

// validInBoth returns the projects valid in base and head, sorted.
func (c *comparison) validInBoth() []string {
	var out []string
	for _, p := range c.head.Config.Projects {
		if c.base.Config.Project(p.Name) != nil {
			out = append(out, p.Name)
		}
	}
	slices.Sort(out)
	return out
}

// fieldValue shows the field of struct v whose key is key.
func fieldValue(v reflect.Value, key string) string {
	t := v.Type()
	for i := range t.NumField() {
		if snake(t.Field(i).Name) == key {
			return show(v.Field(i), nil)
		}
	}
	return ""
}
