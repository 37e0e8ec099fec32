package cloud

import (
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tag keys through which launchwarden keeps its state on AWS resources.
// docs/design.md ("State lives in AWS tags") says which resource carries which.
//
// Ownership of an instance never comes from these tags: it comes from EC2's
// own tagLaunchTemplateID (which nobody can write) naming a managed
// template, or from a signed TagAdopted. The state tags on instances
// (expires-at, notice, keep, protected, adopted, extended) are signed with the
// StateKeys; newInstance verifies them, and a value that does not verify
// counts as absent (see Instance.Forged). The markers on templates and
// groups are signed too (see IsMarker).
const (
	// TagManaged marks templates and security groups that launchwarden created and owns.
	TagManaged = "launchwarden:managed"
	// TagProject names the owning project: on templates and groups, and
	// written on owned instances as a label for people and cost reports.
	TagProject = "launchwarden:project"
	// TagTemplate names the project's template a resource belongs to.
	TagTemplate = "launchwarden:template"
	// TagSpec holds the hash of a template's desired spec, for drift checks
	// without extra calls; a signed marker.
	TagSpec = "launchwarden:spec"
	// TagExpiresAt holds an instance's explicit expiry, RFC 3339 UTC; signed.
	TagExpiresAt = "launchwarden:expires-at"
	// TagNotice records the last notice delivered for an instance, a
	// lifecycle.Notice value; signed, shared by the instances it announced.
	TagNotice = "launchwarden:notice"
	// TagKeep records an admin-granted protection with its end date; signed.
	TagKeep = "launchwarden:keep"
	// TagProtected records when a termination failed because the instance
	// has termination protection on, and whether admins were told:
	// "2026-11-25T10:00:00Z" or "2026-11-25T10:00:00Z reported"; signed.
	TagProtected = "launchwarden:protected"
	// TagAdopted makes an instance that no managed template launched ours:
	// "<project>/<template>", written by an admin's 'launchwarden adopt'; signed.
	TagAdopted = "launchwarden:adopted"
	// TagExtended records the last extension made with a digest's Extend
	// button: when, by whom, from which digest, to when, and whether the
	// admin digest told of it yet (see reconcile.Extended); signed.
	TagExtended = "launchwarden:extended"

	// tagLaunchTemplateID is set by EC2 itself on instances launched from a
	// launch template; it cannot be edited or removed
	// (docs: ec2 user guide, launch-instances-from-launch-template).
	tagLaunchTemplateID = "aws:ec2launchtemplate:id"
)

// ManagedName is the name of the launch template and security group of a
// project's template: "lw-<project>-<template>". A template counts as
// managed only if its name is this for the project and template its tags name.
func ManagedName(project, template string) string { return "lw-" + project + "-" + template }

// Instance is an EC2 instance as launchwarden sees it.
type Instance struct {
	ID, ImageID, Type string
	// State is the EC2 state name: pending, running, stopping, stopped, shutting-down, terminated.
	State string
	// Project and Template say whose the instance is: from the managed
	// template that launched it (LaunchTemplateID), else from a verified
	// adoption. Both are empty when the instance is not ours: then nothing
	// may be done to it.
	Project, Template string
	// Adopted is true when Project and Template come from TagAdopted.
	Adopted bool
	// Labels holds the TagProject and TagTemplate values the instance
	// carries (claims, not authority): rewritten when they differ from
	// Project and Template, reported when an instance not ours has them.
	LabelProject, LabelTemplate string
	LaunchTime                  time.Time
	// BornAt is when the instance came into being, a time that a stop/start cannot
	// reset: the earliest attach time of the root volume and of the primary network
	// interface (device index 0). LaunchTime is reset by every start, so it is used
	// only when neither attach time is present, and then BornAtFromLaunchTime is set.
	BornAt               time.Time
	BornAtFromLaunchTime bool
	// StoppedAt is when a stopped instance was stopped, parsed from EC2's state
	// transition reason ("User initiated (2006-01-02 15:04:05 GMT)"); zero if unknown.
	StoppedAt time.Time
	// State values whose signature verified, without the signature: zero
	// or empty when absent or forged.
	ExpiresAt, KeepUntil        time.Time
	Notice, Protected, Extended string
	// Forged lists the state tags present whose signature did not verify,
	// in a fixed order: they count as absent and are reported to admins.
	// Of the other tags, only the labels and EC2's launch template tag
	// (LaunchTemplateID) are kept.
	Forged           []string
	SecurityGroupIDs []string
	// LaunchTemplateID is the template the instance was launched from, if any.
	LaunchTemplateID string
	Region, Account  string
}

// owner is a managed template's project and template, by template ID.
type owner struct{ project, template string }

// Template is an EC2 launch template.
type Template struct {
	ID, Name                      string
	DefaultVersion, LatestVersion int64
	// Tags holds the labels as they are and the markers whose signature
	// verified, without it (see IsMarker).
	Tags map[string]string
	// Forged lists the markers present whose signature did not verify,
	// sorted: they count as absent and are reported to admins.
	Forged []string
	// Project, TemplateName and Spec come from the TagProject, TagTemplate and TagSpec tags.
	Project, TemplateName, Spec string
	// Managed is true when the template carries TagManaged.
	Managed         bool
	Region, Account string
}

// SecurityGroup is an EC2 security group with its ingress rules.
type SecurityGroup struct {
	ID, Name, VPCID string
	// Tags and Forged are as for Template.
	Tags   map[string]string
	Forged []string
	// Project and TemplateName come from the TagProject and TagTemplate tags.
	Project, TemplateName string
	// Managed is true when the group carries TagManaged.
	Managed bool
	Ingress []Rule
}

// Rule is one ingress permission for one CIDR block (IPv4 or IPv6).
// EC2 groups several CIDRs under one permission; we flatten them so rules
// compare as plain values.
type Rule struct {
	// Protocol is "tcp", "udp", "icmp", … or "-1" for all.
	Protocol string `json:"protocol"`
	FromPort int32  `json:"from_port"`
	ToPort   int32  `json:"to_port"`
	CIDR     string `json:"cidr"`
}

// InstanceType is the size of an EC2 instance type, for vCPU quotas, and
// the image architectures it runs.
type InstanceType struct {
	Name          string
	VCPUs         int32
	MemoryMiB     int64
	Architectures []string
}

// Snapshot is everything launchwarden owns in one account and region, observed
// completely: a Snapshot exists only if every listing call succeeded.
type Snapshot struct {
	Account, Region string
	Instances       []Instance
	Templates       []Template
	SecurityGroups  []SecurityGroup
	// InstanceTypes holds the types of the observed instances and those
	// looked up (Lookups.InstanceTypes), by name.
	InstanceTypes map[string]InstanceType
	// Images holds the images looked up by id that exist, by id; Matches
	// the available images of each selector (ImageQuery.Key), in no order.
	Images  map[string]Image
	Matches map[string][]Image
	// Subnets are the configured subnets, in the configured order (listed by
	// VPC when only the VPC is configured: by zone, then id).
	Subnets []Subnet
	// Calls is the number of EC2 API calls (pages) the observation made, not
	// counting the SDK's retries of a call.
	Calls int
}

// TemplateData is the part of a launch template version that launchwarden sets.
//
// Its JSON form is what plans print and what the launchwarden:spec hash is
// taken over.
type TemplateData struct {
	ImageID      string `json:"image_id"`
	InstanceType string `json:"instance_type"`
	// RootDevice is the image's root device name: the block device mapping
	// names it, so that VolumeGiB, VolumeType and Encrypted apply to the
	// root volume itself rather than to a second, empty disk. VolumeGiB 0
	// keeps the image's size.
	RootDevice string `json:"root_device"`
	VolumeGiB  int32  `json:"volume_gib"`
	VolumeType string `json:"volume_type"`
	Encrypted  bool   `json:"encrypted"`
	// SecurityGroupIDs, SubnetID and PublicIP make the primary network
	// interface (device 0). An empty SubnetID leaves the subnet to EC2: the
	// default VPC's default subnet (in AvailabilityZone, if set). A nil
	// PublicIP leaves the public IPv4 address to the subnet's setting.
	SecurityGroupIDs []string `json:"security_group_ids"`
	SubnetID         string   `json:"subnet_id,omitempty"`
	AvailabilityZone string   `json:"availability_zone,omitempty"`
	PublicIP         *bool    `json:"public_ip,omitempty"`
	// UserData is plain text; it is base64-encoded on the wire.
	UserData string `json:"user_data"`
	// HTTPTokensRequired enforces IMDSv2; HopLimit is the metadata response hop limit.
	HTTPTokensRequired    bool   `json:"http_tokens_required"`
	HopLimit              int32  `json:"hop_limit"`
	ShutdownBehavior      string `json:"shutdown_behavior"`
	DisableAPITermination bool   `json:"disable_api_termination"`
	// TagSpecs maps a resource type ("instance", "volume", "network-interface")
	// to the tags EC2 puts on resources of that type at launch.
	TagSpecs map[string]map[string]string `json:"tag_specs"`
}

// newInstance converts an SDK instance, keeping only what launchwarden uses.
// It is the one place where tags become trusted facts: ownership from the
// managed template EC2 says launched the instance (owners, by template ID),
// else from a verified adoption; state values only if their signature
// verifies under keys (nil keys verify nothing).
func newInstance(in ec2types.Instance, account, region string, owners map[string]owner, keys *StateKeys) Instance {
	return newInstanceReader(account, region, owners, keys).read(in)
}

// instanceReader converts the SDK instances of one listing (see
// newInstance). A fleet repeats the same few strings (types, images, states,
// template ids, labels, notices) on every instance: the reader keeps one
// copy of each, so the instances do not each hold the SDK's, and verifies a
// notice shared by many instances once.
type instanceReader struct {
	account, region string
	owners          map[string]owner
	keys            *StateKeys
	strs            map[string]string
	notices         map[string]verdict
	// groups holds the one-group lists read so far, by group ID: the
	// instances of a template share their group, and so share the list.
	groups map[string][]string
}

// verdict is what verifying one signed value gave.
type verdict struct {
	value string
	ok    bool
}

func newInstanceReader(account, region string, owners map[string]owner, keys *StateKeys) *instanceReader {
	return &instanceReader{account: account, region: region, owners: owners, keys: keys, strs: map[string]string{}, notices: map[string]verdict{}, groups: map[string][]string{}}
}

// str returns the reader's copy of s.
func (r *instanceReader) str(s string) string {
	if c, ok := r.strs[s]; ok {
		return c
	}
	r.strs[s] = s
	return s
}

// verify verifies one state tag of the instance id. A notice is signed
// without the instance (see StateKeys), so its verdict holds for every
// instance that carries the same value.
func (r *instanceReader) verify(id, tag, signed string) (string, bool) {
	if tag != TagNotice {
		return r.keys.Verify(stateScope(tag, id), tag, signed)
	}
	v, seen := r.notices[signed]
	if !seen {
		value, ok := r.keys.Verify("", tag, signed)
		v = verdict{r.str(value), ok}
		r.notices[signed] = v
	}
	return v.value, v.ok
}

func (r *instanceReader) read(in ec2types.Instance) Instance {
	out := Instance{
		ID:         aws.ToString(in.InstanceId),
		ImageID:    r.str(aws.ToString(in.ImageId)),
		Type:       r.str(string(in.InstanceType)),
		LaunchTime: aws.ToTime(in.LaunchTime),
		Region:     r.region,
		Account:    r.account,
	}
	// The state tags' values as the instance carries them, in the order
	// of stateTags.
	var signed, verified [len(stateTags)]string
	var present [len(stateTags)]bool
	for _, t := range in.Tags {
		switch k := aws.ToString(t.Key); k {
		case TagProject:
			out.LabelProject = r.str(aws.ToString(t.Value))
		case TagTemplate:
			out.LabelTemplate = r.str(aws.ToString(t.Value))
		case tagLaunchTemplateID:
			out.LaunchTemplateID = r.str(aws.ToString(t.Value))
		default:
			if i := slices.Index(stateTags[:], k); i >= 0 {
				signed[i], present[i] = aws.ToString(t.Value), true
			}
		}
	}
	for i, k := range stateTags {
		if !present[i] {
			continue
		}
		if v, ok := r.verify(out.ID, k, signed[i]); ok {
			verified[i] = v
		} else {
			out.Forged = append(out.Forged, k)
		}
	}
	if o, ok := r.owners[out.LaunchTemplateID]; ok && out.LaunchTemplateID != "" {
		out.Project, out.Template = o.project, o.template
	} else if a := verified[stateAdopted]; a != "" {
		if p, t, ok := strings.Cut(a, "/"); ok && p != "" && t != "" {
			out.Project, out.Template, out.Adopted = r.str(p), r.str(t), true
		}
	}
	out.ExpiresAt = parseStateTime(verified[stateExpiresAt])
	out.KeepUntil = parseStateTime(verified[stateKeep])
	out.Notice = verified[stateNotice]
	out.Protected = verified[stateProtected]
	out.Extended = verified[stateExtended]
	if in.State != nil {
		out.State = r.str(string(in.State.Name))
	}
	out.SecurityGroupIDs = r.groupIDs(in.SecurityGroups)
	out.BornAt, out.BornAtFromLaunchTime = bornAt(in)
	if out.State == string(ec2types.InstanceStateNameStopped) {
		out.StoppedAt = stoppedAt(aws.ToString(in.StateTransitionReason))
	}
	return out
}

// groupIDs returns the IDs of groups. A list of one group is shared with
// every instance read before that had the same one: nothing may change
// the list an Instance holds.
func (r *instanceReader) groupIDs(groups []ec2types.GroupIdentifier) []string {
	if len(groups) == 1 {
		id := aws.ToString(groups[0].GroupId)
		if ids, ok := r.groups[id]; ok {
			return ids
		}
		ids := []string{r.str(id)}
		r.groups[id] = ids
		return ids
	}
	var ids []string
	for _, g := range groups {
		ids = append(ids, r.str(aws.ToString(g.GroupId)))
	}
	return ids
}

// parseStateTime parses a verified RFC 3339 value; zero if empty or malformed.
func parseStateTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// bornAt returns the earliest attach time of the root volume and of the primary
// network interface. Both survive a stop/start, unlike LaunchTime, which is the
// fallback (reported by the second result) when neither is present.
func bornAt(in ec2types.Instance) (time.Time, bool) {
	var born time.Time
	earliest := func(t *time.Time) {
		if t != nil && !t.IsZero() && (born.IsZero() || t.Before(born)) {
			born = *t
		}
	}
	root := aws.ToString(in.RootDeviceName)
	for _, bd := range in.BlockDeviceMappings {
		if bd.Ebs != nil && root != "" && aws.ToString(bd.DeviceName) == root {
			earliest(bd.Ebs.AttachTime)
		}
	}
	for _, ni := range in.NetworkInterfaces {
		if ni.Attachment != nil && aws.ToInt32(ni.Attachment.DeviceIndex) == 0 {
			earliest(ni.Attachment.AttachTime)
		}
	}
	if born.IsZero() {
		return aws.ToTime(in.LaunchTime), true
	}
	return born, false
}

// stoppedAt parses the time out of a state transition reason such as
// "User initiated (2026-11-20 09:15:00 GMT)". EC2 documents no structured stop
// time, so anything else yields the zero time.
func stoppedAt(reason string) time.Time {
	open := strings.LastIndexByte(reason, '(')
	closing := strings.LastIndexByte(reason, ')')
	if open < 0 || closing < open {
		return time.Time{}
	}
	s, ok := strings.CutSuffix(reason[open+1:closing], " GMT")
	if !ok {
		return time.Time{}
	}
	t, err := time.ParseInLocation(time.DateTime, s, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

// newTemplate converts an SDK launch template, verifying its markers.
func newTemplate(lt ec2types.LaunchTemplate, account, region string, keys *StateKeys) Template {
	tags := tagMap(lt.Tags)
	_, managed := tags[TagManaged]
	// A template is managed only under the name launchwarden gives it:
	// template names are unique per account and region, and launchwarden
	// holds the names of every configured template, so a template someone
	// else tagged managed cannot pose as another project's.
	name := aws.ToString(lt.LaunchTemplateName)
	managed = managed && tags[TagProject] != "" && tags[TagTemplate] != "" && name == ManagedName(tags[TagProject], tags[TagTemplate])
	forged := verifyMarkers(keys, kindTemplate, account, region, name, tags)
	return Template{
		Forged:         forged,
		ID:             aws.ToString(lt.LaunchTemplateId),
		Name:           name,
		DefaultVersion: aws.ToInt64(lt.DefaultVersionNumber),
		LatestVersion:  aws.ToInt64(lt.LatestVersionNumber),
		Tags:           tags,
		Project:        tags[TagProject],
		TemplateName:   tags[TagTemplate],
		Spec:           tags[TagSpec],
		Managed:        managed,
		Region:         region,
		Account:        account,
	}
}

// newSecurityGroup converts an SDK security group, verifying its markers and
// flattening its ingress permissions into one Rule per CIDR.
func newSecurityGroup(sg ec2types.SecurityGroup, account, region string, keys *StateKeys) SecurityGroup {
	tags := tagMap(sg.Tags)
	_, managed := tags[TagManaged]
	forged := verifyMarkers(keys, kindGroup, account, region, aws.ToString(sg.GroupName), tags)
	return SecurityGroup{
		Forged:       forged,
		ID:           aws.ToString(sg.GroupId),
		Name:         aws.ToString(sg.GroupName),
		VPCID:        aws.ToString(sg.VpcId),
		Tags:         tags,
		Project:      tags[TagProject],
		TemplateName: tags[TagTemplate],
		Managed:      managed,
		Ingress:      rulesFromPermissions(sg.IpPermissions),
	}
}

// rulesFromPermissions flattens EC2 permissions into one Rule per CIDR.
// Permissions that name other groups or prefix lists are not CIDR rules and are
// left out: launchwarden never creates them.
func rulesFromPermissions(perms []ec2types.IpPermission) []Rule {
	var rules []Rule
	for _, p := range perms {
		r := Rule{
			Protocol: aws.ToString(p.IpProtocol),
			FromPort: aws.ToInt32(p.FromPort),
			ToPort:   aws.ToInt32(p.ToPort),
		}
		for _, ip := range p.IpRanges {
			r.CIDR = aws.ToString(ip.CidrIp)
			rules = append(rules, r)
		}
		for _, ip := range p.Ipv6Ranges {
			r.CIDR = aws.ToString(ip.CidrIpv6)
			rules = append(rules, r)
		}
	}
	return rules
}

// permissionsFromRules builds one EC2 permission per rule.
func permissionsFromRules(rules []Rule) []ec2types.IpPermission {
	perms := make([]ec2types.IpPermission, 0, len(rules))
	for _, r := range rules {
		p := ec2types.IpPermission{
			IpProtocol: aws.String(r.Protocol),
			FromPort:   aws.Int32(r.FromPort),
			ToPort:     aws.Int32(r.ToPort),
		}
		if strings.Contains(r.CIDR, ":") {
			p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(r.CIDR)}}
		} else {
			p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.CIDR)}}
		}
		perms = append(perms, p)
	}
	return perms
}

// newInstanceType converts an SDK instance type description.
func newInstanceType(it ec2types.InstanceTypeInfo) InstanceType {
	out := InstanceType{Name: string(it.InstanceType)}
	if it.VCpuInfo != nil {
		out.VCPUs = aws.ToInt32(it.VCpuInfo.DefaultVCpus)
	}
	if it.MemoryInfo != nil {
		out.MemoryMiB = aws.ToInt64(it.MemoryInfo.SizeInMiB)
	}
	if it.ProcessorInfo != nil {
		for _, a := range it.ProcessorInfo.SupportedArchitectures {
			out.Architectures = append(out.Architectures, string(a))
		}
	}
	return out
}

// tagMap converts SDK tags to a map. It returns nil for no tags.
func tagMap(tags []ec2types.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// sdkTags converts a tag map to SDK tags, sorted by key so that built inputs are
// deterministic.
func sdkTags(m map[string]string) []ec2types.Tag {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tags := make([]ec2types.Tag, 0, len(keys))
	for _, k := range keys {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return tags
}
