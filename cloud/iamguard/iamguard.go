// Package iamguard generates the launch guard: the IAM policy that admins
// attach to the role the provisioning service ("Launch") assumes, so that
// EC2 itself refuses launches launchwarden would only catch afterwards.
//
// The policy holds only Deny statements on ec2:RunInstances (an explicit
// Deny wins over any Allow the role has), each scoped to the resource type
// that carries its condition key, because EC2 authorizes RunInstances once
// per resource and a key exists only on the resource types that have it
// (Service Authorization Reference, "Actions, resources, and condition keys
// for Amazon EC2", ec2:RunInstances):
//
//   - DenyClosedTemplates: a launch template tagged launchwarden:launch =
//     closed (aws:ResourceTag on launch-template), which launchwarden sets
//     while the template's project is at quota, frozen or disabled.
//   - DenyLaunchWithoutTemplate: a launch that names no template
//     (ec2:LaunchTemplate is absent on the instance).
//   - DenyUnmanagedTemplates: a template launchwarden does not manage (its
//     launchwarden:managed tag is not "true", or absent).
//   - DenyInstanceTypes: an instance type outside every type any project
//     may use (ec2:InstanceType on instance).
//   - DenyLargeVolumes: a volume above the largest volume cap
//     (ec2:VolumeSize on volume, in GiB).
//
// The bounds come from launchwarden.toml alone, the file admins own: the
// union of caps.allowed_instance_types and every grant's types, and the
// largest of caps.max_volume_gib and the grants'. A project file can only
// narrow within those, so it can never widen the guard, and the policy only
// changes when the admin file does. What differs between projects (one
// project's grant of a type another may not use, quotas) is enforced by
// closing templates and by the runs after a launch.
package iamguard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/launchwarden/launchwarden/projects"
)

// ManagedPolicyLimit is the size limit of a customer managed policy: 6,144
// characters, white space not counted (IAM User Guide, "IAM and AWS STS
// quotas").
const ManagedPolicyLimit = 6144

// Tag keys and values the guard reads on launch templates.
const (
	TagLaunch     = "launchwarden:launch"  // "closed" while launches are refused
	TagManaged    = "launchwarden:managed" // "true" on every template launchwarden made
	LaunchClosed  = "closed"
	ManagedTrue   = "true"
	actionRunInst = "ec2:RunInstances"
)

// Document is an IAM policy document, fields in the order IAM shows them.
type Document struct {
	Version   string
	Statement []Statement
}

// Statement is one statement of the guard.
type Statement struct {
	Sid       string
	Effect    string
	Action    string
	Resource  string
	Condition map[string]map[string]any
}

// Guard returns the guard policy for admin.
func Guard(admin *projects.Admin) (Document, error) {
	partition, err := partitionOf(admin)
	if err != nil {
		return Document{}, err
	}
	arn := func(kind string) string { return "arn:" + partition + ":ec2:*:*:" + kind + "/*" }
	deny := func(sid, kind, op, key string, value any) Statement {
		return Statement{
			Sid: sid, Effect: "Deny", Action: actionRunInst, Resource: arn(kind),
			Condition: map[string]map[string]any{op: {key: value}},
		}
	}
	doc := Document{Version: "2012-10-17", Statement: []Statement{
		deny("DenyClosedTemplates", "launch-template", "StringEquals", "aws:ResourceTag/"+TagLaunch, LaunchClosed),
		deny("DenyLaunchWithoutTemplate", "instance", "Null", "ec2:LaunchTemplate", "true"),
		deny("DenyUnmanagedTemplates", "launch-template", "StringNotEquals", "aws:ResourceTag/"+TagManaged, ManagedTrue),
	}}
	types, err := AllowedTypes(admin)
	if err != nil {
		return Document{}, err
	}
	if !slices.Contains(types, "*") {
		doc.Statement = append(doc.Statement, deny("DenyInstanceTypes", "instance", "StringNotLike", "ec2:InstanceType", types))
	}
	doc.Statement = append(doc.Statement, deny("DenyLargeVolumes", "volume", "NumericGreaterThan", "ec2:VolumeSize", strconv.Itoa(MaxVolumeGiB(admin))))
	return doc, nil
}

// Generate returns the guard policy as indented JSON, or an error when it
// cannot be written or would not fit a managed policy.
func Generate(admin *projects.Admin) ([]byte, error) {
	doc, err := Guard(admin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if n := Size(buf.Bytes()); n > ManagedPolicyLimit {
		return nil, fmt.Errorf("the launch guard has %d characters (white space not counted), above the %d of an IAM managed policy: allow fewer instance type patterns in caps and grants (a family pattern such as \"t3.*\" covers its sizes)", n, ManagedPolicyLimit)
	}
	return buf.Bytes(), nil
}

// Size counts a policy's characters as IAM does against its quotas: white
// space is not counted.
func Size(policy []byte) int {
	n := 0
	for _, r := range string(policy) {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// AllowedTypes returns the instance type patterns any project may use:
// caps.allowed_instance_types plus every grant's (a grant adds types to the
// caps, see projects.Admin.EffectiveCaps), sorted, without the literal
// types a pattern covers. IAM's StringLike knows only * and ?; a pattern with a
// character class or escape cannot be written and is an error naming it.
func AllowedTypes(admin *projects.Admin) ([]string, error) {
	type source struct{ pattern, where string }
	var all []source
	for _, p := range admin.Caps.AllowedInstanceTypes {
		all = append(all, source{p, "caps.allowed_instance_types"})
	}
	for _, name := range slices.Sorted(maps.Keys(admin.Grants)) {
		for _, p := range admin.Grants[name].AllowedInstanceTypes {
			all = append(all, source{p, "grants." + name + ".allowed_instance_types"})
		}
	}
	var out []string
	for _, s := range all {
		if strings.ContainsAny(s.pattern, `[]\`) {
			return nil, fmt.Errorf("launchwarden.toml %s: %q cannot be written as an IAM StringLike pattern, which knows only * and ?: list the types or families instead", s.where, s.pattern)
		}
		if !slices.Contains(out, s.pattern) {
			out = append(out, s.pattern)
		}
	}
	// Drop a literal type that a pattern covers: "t3.micro" under "t3.*".
	kept := out[:0:0]
	for _, p := range out {
		if strings.ContainsAny(p, "*?") || !projects.MatchInstanceType(slices.DeleteFunc(slices.Clone(out), func(q string) bool { return q == p }), p) {
			kept = append(kept, p)
		}
	}
	slices.Sort(kept)
	return kept, nil
}

// MaxVolumeGiB returns the largest volume any project may have.
func MaxVolumeGiB(admin *projects.Admin) int {
	n := admin.Caps.MaxVolumeGiB
	for _, g := range admin.Grants {
		if g.MaxVolumeGiB != nil && *g.MaxVolumeGiB > n {
			n = *g.MaxVolumeGiB
		}
	}
	return n
}

// partitionOf returns the ARN partition of the accounts' roles ("aws" when
// none names one).
func partitionOf(admin *projects.Admin) (string, error) {
	partition := ""
	for _, a := range admin.AWS.Accounts {
		rest, ok := strings.CutPrefix(a.RoleARN, "arn:")
		if !ok {
			continue
		}
		p, _, _ := strings.Cut(rest, ":")
		if partition != "" && p != partition {
			return "", fmt.Errorf("launchwarden.toml: accounts span the partitions %q and %q; one guard policy covers one partition", partition, p)
		}
		partition = p
	}
	if partition == "" {
		partition = "aws"
	}
	return partition, nil
}
