package projects

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
)

// Config is a loaded config repo.
type Config struct {
	// Dir is the directory the config was loaded from ("" for LoadFS).
	Dir string
	// Admin is nil when launchwarden.toml is missing or invalid; a run must
	// then abort before any action.
	Admin *Admin
	// Projects holds every project that validated, sorted by name, with
	// defaults applied.
	Projects []*Project
	// Frozen maps the name of every project whose file exists but is invalid
	// to its problems. A frozen project gets no destructive action.
	Frozen map[string]Problems
	// Warnings are about valid projects that will do what their readers may
	// not expect (e.g. live longer than their ttl); they freeze nothing.
	Warnings Problems
	// FrozenParts holds, for every frozen project, what of its file can
	// still be read: where its team is warned and by which lifecycle.
	FrozenParts map[string]FrozenProject
	// contests holds, for every frozen project that claims a channel
	// another project also claims, what Settle needs to decide.
	contests map[string]*contest
}

// Project returns the valid project with the given name, or nil.
func (c *Config) Project(name string) *Project {
	for _, p := range c.Projects {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Admin is launchwarden.toml: what only admins decide.
type Admin struct {
	// Schedule is the cron spec of serve's runs (standard 5 fields or a
	// descriptor such as "@every 15m").
	Schedule string
	AWS      AWS
	Slack    Slack
	GitHub   GitHub
	// Defaults fill what a project file leaves out.
	Defaults Defaults
	// Caps are limits no project file can exceed.
	Caps Caps
	// Grants raise caps for one project, keyed by project name.
	Grants map[string]Grant
	Safety Safety
	// State says where the key that signs state tags lives ([state]).
	State State
	// Web configures serve's status pages ([web]).
	Web Web
}

// EffectiveCaps returns the caps that hold for project: Caps with the
// project's grant applied. A grant's values replace the caps' values; its
// allowed_instance_types are added to the caps' allowlist.
func (a *Admin) EffectiveCaps(project string) Caps {
	return applyGrant(a.Caps, a.Grants[project], false)
}

// applyGrant returns c with g's values in place of c's. The allowlists of g
// (instance types, modes) replace c's if replaceTypes, else they are added.
func applyGrant(c Caps, g Grant, replaceTypes bool) Caps {
	setIf(&c.MaxInstances, g.MaxInstances)
	setIf(&c.MaxVCPUs, g.MaxVCPUs)
	setIf(&c.MaxVolumeGiB, g.MaxVolumeGiB)
	setIf(&c.MaxTTL, g.MaxTTL)
	setIf(&c.MaxLifetime, g.MaxLifetime)
	setIf(&c.MinNotice, g.MinNotice)
	setIf(&c.RestartGrace, g.RestartGrace)
	setIf(&c.ButtonExtend, g.ButtonExtend)
	setIf(&c.AllowWorldSSH, g.AllowWorldSSH)
	setIf(&c.MaxTerminateStoppedAfter, g.MaxTerminateStoppedAfter)
	setIf(&c.MinSSHPrefixIPv4, g.MinSSHPrefixIPv4)
	setIf(&c.MinSSHPrefixIPv6, g.MinSSHPrefixIPv6)
	c.AllowedModes = merge(c.AllowedModes, g.AllowedModes, replaceTypes)
	c.AllowedInstanceTypes = merge(c.AllowedInstanceTypes, g.AllowedInstanceTypes, replaceTypes)
	return c
}

// merge returns list with add's values added, or add itself if replace
// and add is set.
func merge(list, add []string, replace bool) []string {
	if replace && add != nil {
		return slices.Clone(add)
	}
	out := slices.Clone(list)
	for _, v := range add {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// AWS says where launchwarden works.
type AWS struct {
	// Profile is the shared-config profile for the base credentials ("" for
	// the default chain).
	Profile  string
	Accounts []Account
}

// Account is one AWS account and the regions launchwarden manages in it.
type Account struct {
	Name string
	// ID is the 12-digit account id.
	ID string
	// RoleARN is assumed for this account; "" uses the base credentials.
	RoleARN string
	Regions []string
	// VPCID, SubnetIDs and PublicIP place instances of a single-region
	// account (see Network); multi-region accounts use Networks.
	VPCID     string
	SubnetIDs []string
	PublicIP  *bool
	// Networks maps a region to its VPC and subnets.
	Networks map[string]Network
	// IDLine, VPCLine and SubnetLines are where the account's id and
	// account-level network ids are written in launchwarden.toml, for
	// messages that abort a run.
	IDLine, VPCLine int
	SubnetLines     []int
}

// Network is a VPC and the subnets instances may use in one region.
type Network struct {
	// VPCID is "" for the region's default VPC.
	VPCID string
	// SubnetIDs are where templates put instances: the first one, or the
	// one in a template's availability_zone. Empty means the default VPC's
	// default subnet.
	SubnetIDs []string
	// PublicIP, if set, says whether instances get a public IPv4 address;
	// nil leaves it to the subnet's setting.
	PublicIP *bool
	// VPCLine and SubnetLines are where the ids are written in
	// launchwarden.toml (0 when not written).
	VPCLine     int
	SubnetLines []int
}

// Network returns the network of region: Networks[region] if present, else
// the account-level one (empty: the default VPC).
func (a Account) Network(region string) Network {
	if n, ok := a.Networks[region]; ok {
		return n
	}
	return Network{VPCID: a.VPCID, SubnetIDs: a.SubnetIDs, PublicIP: a.PublicIP, VPCLine: a.VPCLine, SubnetLines: a.SubnetLines}
}

// Slack says where notices go and where the credentials are. It never holds
// a secret itself, only references to one.
type Slack struct {
	// AdminChannel receives admin notices (safety caps, orphans, frozen
	// projects).
	AdminChannel  string
	Token         SecretRef
	SigningSecret SecretRef
	// Webhooks maps a channel to the incoming-webhook URL reference used for
	// it instead of the token.
	Webhooks map[string]SecretRef
}

// Web configures serve's status pages.
type Web struct {
	// BaseURL is where the status pages are reached, without a trailing
	// slash (e.g. "https://launchwarden.example.org"); when set, digests
	// link each instance to its project's page.
	BaseURL string
	// Password, when set, is the basic-auth password the pages ask for.
	Password SecretRef
}

// GitHub is where SSH public keys of users are fetched from.
type GitHub struct {
	// KeysURL is the base URL; a user's keys are at KeysURL/<user>.keys.
	KeysURL string
}

// Defaults fill what project files leave out.
type Defaults struct {
	Limits    Limits
	Lifecycle Lifecycle
}

// Caps bound every project, unless a grant raises them.
type Caps struct {
	MaxInstances int
	MaxVCPUs     int
	// AllowedInstanceTypes are globs (path.Match) such as "t3.*".
	AllowedInstanceTypes []string
	MaxVolumeGiB         int
	// MaxTTL bounds a project's lifecycle.ttl.
	MaxTTL Duration
	// MaxLifetime bounds an instance's age including extensions.
	MaxLifetime Duration
	// MinNotice is the least time between a notice and the action it names.
	MinNotice Duration
	// RestartGrace is how long an instance started again after its expiry
	// runs before it is stopped again (announced at the restart).
	RestartGrace Duration
	// ButtonExtend is how much the Extend button of a team digest adds to
	// an instance's expiry (still within MaxLifetime).
	ButtonExtend Duration
	// AllowWorldSSH allows SSH from 0.0.0.0/0 or ::/0, and then any prefix.
	AllowWorldSSH bool
	// MaxTerminateStoppedAfter bounds a project's terminate_stopped_after.
	MaxTerminateStoppedAfter Duration
	// MinSSHPrefixIPv4 and MinSSHPrefixIPv6 are the shortest prefixes
	// ssh_from may list (unless AllowWorldSSH), so that no set of halves
	// adds up to the world.
	MinSSHPrefixIPv4 int
	MinSSHPrefixIPv6 int
	// AllowedModes are the lifecycle modes a project file may ask for,
	// besides ModeEnforce and the admin's default mode.
	AllowedModes []string
}

// Grant raises caps for one project. Nil fields leave the cap as it is.
type Grant struct {
	MaxInstances             *int
	MaxVCPUs                 *int
	AllowedInstanceTypes     []string
	MaxVolumeGiB             *int
	MaxTTL                   *Duration
	MaxLifetime              *Duration
	MinNotice                *Duration
	RestartGrace             *Duration
	ButtonExtend             *Duration
	AllowWorldSSH            *bool
	MaxTerminateStoppedAfter *Duration
	MinSSHPrefixIPv4         *int
	MinSSHPrefixIPv6         *int
	AllowedModes             []string
	// SharedChannels are Slack channels the project may use although they
	// are the admin channel or another project's (grants only).
	SharedChannels []string
}

// Safety bounds what one run may destroy.
type Safety struct {
	// MaxDestructivePerRun caps stops plus terminations of one run.
	MaxDestructivePerRun int
	// OrphanGrace is how long instances of a removed project or template
	// live before they are terminated.
	OrphanGrace Duration
	// Enforce false makes every run plan-only (the kill switch).
	Enforce bool
}

// Project is one projects/<name>.toml with defaults applied: every field
// holds the effective value.
type Project struct {
	Name string
	// File is the path relative to the config dir, e.g. "projects/packit.toml".
	File         string
	Owners       []string
	SlackChannel string
	Limits       Limits
	// RequestedLimits is what the file's [limits] itself says: zero (nil
	// for the allowlist) where it leaves a value to the defaults.
	RequestedLimits Limits
	Lifecycle       Lifecycle
	Templates       []Template
	Extensions      []Extension
}

// Template returns the project's template with the given name, or nil.
func (p *Project) Template(name string) *Template {
	for i := range p.Templates {
		if p.Templates[i].Name == name {
			return &p.Templates[i]
		}
	}
	return nil
}

// Limits are a project's quota requests.
type Limits struct {
	MaxInstances int
	MaxVCPUs     int
	// AllowedInstanceTypes are globs; empty means whatever the caps allow.
	AllowedInstanceTypes []string
}

// Lifecycle values accepted in OnExpiry and Mode.
const (
	OnExpiryStop      = "stop"
	OnExpiryTerminate = "terminate"

	ModeEnforce    = "enforce"     // warn, then stop or terminate
	ModeStopOnly   = "stop-only"   // warn, then stop; never terminate
	ModeNotifyOnly = "notify-only" // warn only
)

// Lifecycle is how long a project's instances live and what happens then.
type Lifecycle struct {
	// TTL is an instance's life from launch before on_expiry applies.
	TTL Duration
	// WarnBefore is how long before expiry the team is warned.
	WarnBefore Duration
	// OnExpiry is OnExpiryStop or OnExpiryTerminate.
	OnExpiry string
	// TerminateStoppedAfter terminates instances stopped this long.
	TerminateStoppedAfter Duration
	// Mode is ModeEnforce, ModeStopOnly or ModeNotifyOnly.
	Mode string
}

// Template is the desired shape of one EC2 launch template.
//
// Exactly one of Image, Images and ImageSelector says which AMI it
// launches: AMI ids are regional, so a plain id is valid only where the
// template lives in a single region.
type Template struct {
	Name string
	// Image is one AMI id for the template's only region.
	Image string
	// Images maps each region to its AMI id ([templates.images]).
	Images map[string]string
	// ImageSelector picks, in each region, the newest available image that
	// matches ([templates.image]).
	ImageSelector *ImageSelector
	InstanceType  string
	// VolumeGiB is the root volume size; 0 keeps the image's size.
	VolumeGiB int
	// AvailabilityZone, if set, chooses the region's subnet in that zone
	// rather than the first configured one.
	AvailabilityZone string
	// SSHFrom are the CIDRs allowed to reach port 22; empty means none.
	SSHFrom []string
	// SSHKeysFromGitHub are users whose GitHub keys are installed; it
	// defaults to the project's owners.
	SSHKeysFromGitHub []string
	// CloudInit is extra cloud-init user data.
	CloudInit string
	Tags      map[string]string
	// ShutdownBehavior is "stop" or "terminate" (instance-initiated shutdown).
	ShutdownBehavior string
	// Lines maps each key written in the template's table to its line in
	// the project file; "" is the line of the table itself.
	Lines map[string]int
}

// Line returns the line of key in the template's table, or of the table
// when the key is not written.
func (t *Template) Line(key string) int {
	if n, ok := t.Lines[key]; ok {
		return n
	}
	return t.Lines[""]
}

// ImageSelector finds an image by owner and name, as Packer and Terraform
// do: owners are required, since a name pattern alone matches anyone's
// public images.
type ImageSelector struct {
	// Owners are account ids or the aliases "self", "amazon" and
	// "aws-marketplace".
	Owners []string
	// Name is a pattern with * and ? wildcards, e.g. "Fedora-Cloud-Base-Generic-41-*".
	Name string
	// Architecture is the image's: "x86_64" or "arm64".
	Architecture string
	// Pin keeps the image a template already uses, even when a newer one
	// matches.
	Pin bool
}

// Key identifies the selector: equal selectors are resolved once per region.
func (s ImageSelector) Key() string {
	return strings.Join(s.Owners, ",") + "|" + s.Name + "|" + s.Architecture
}

// ImageText says which image the template names, for people: the id, the
// id per region, or the selector.
func (t *Template) ImageText() string {
	switch {
	case t.ImageSelector != nil:
		s := t.ImageSelector
		text := fmt.Sprintf("newest %s %s of %s", s.Architecture, s.Name, strings.Join(s.Owners, ", "))
		if s.Pin {
			text += ", pinned"
		}
		return text
	case t.Images != nil:
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(t.Images)) {
			parts = append(parts, r+": "+t.Images[r])
		}
		return strings.Join(parts, ", ")
	}
	return t.Image
}

// ImageID returns the AMI id the template names for region ("" when it
// names none there, or uses a selector).
func (t *Template) ImageID(region string) string {
	if t.Images != nil {
		return t.Images[region]
	}
	return t.Image
}

// Extension postpones the expiry of one instance.
type Extension struct {
	Instance string
	Until    time.Time
	Reason   string
}

// MatchInstanceType reports whether instance type t matches one of globs
// (path.Match syntax, e.g. "t3.*"). Malformed globs match nothing.
func MatchInstanceType(globs []string, t string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, t); err == nil && ok {
			return true
		}
	}
	return false
}
