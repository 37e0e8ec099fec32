package ec2sim

import (
	"encoding/base64"
	"maps"
	"slices"
	"sort"
	"time"
)

// Instance states, as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
)

// stateCodes are EC2's numeric instance state codes.
var stateCodes = map[string]int{
	StatePending: 0, StateRunning: 16, StateShuttingDown: 32,
	StateTerminated: 48, StateStopping: 64, StateStopped: 80,
}

// Tag is one EC2 tag.
type Tag struct {
	Key, Value string
}

// Instance is a copy of an emulated instance, for assertions.
type Instance struct {
	ID                    string
	ReservationID         string
	ImageID               string
	InstanceType          string
	State                 string
	StateTransitionReason string
	LaunchTime            time.Time
	AvailabilityZone      string
	VpcID                 string
	SubnetID              string
	PrivateIP             string
	PublicIP              string // empty: none
	Architecture          string // the image's, else the instance type's
	RootDeviceName        string // the image's, else /dev/xvda
	KeyName               string
	UserData              string
	ShutdownBehavior      string
	TerminationProtection bool
	Tags                  map[string]string
	SecurityGroupIDs      []string
	Metadata              MetadataOptions
	Volumes               []Volume           // root volume first
	NetworkInterfaces     []NetworkInterface // primary first
}

// Volume is a copy of an emulated EBS volume.
type Volume struct {
	ID                  string
	InstanceID          string // empty when detached
	DeviceName          string
	SizeGiB             int
	VolumeType          string
	Encrypted           bool
	KmsKeyID            string
	Iops                int
	Throughput          int
	DeleteOnTermination bool
	CreateTime          time.Time
	AttachTime          time.Time
	AvailabilityZone    string
	Tags                map[string]string
}

// NetworkInterface is a copy of an emulated elastic network interface.
type NetworkInterface struct {
	ID           string
	InstanceID   string
	AttachmentID string
	AttachTime   time.Time
	DeviceIndex  int
	// DeleteOnTermination is the attachment's: an interface EC2 created
	// at launch goes with the instance unless the launch said otherwise.
	DeleteOnTermination bool
	Description         string
	PrivateIP           string
	PublicIP            string // only the primary interface gets one
	SubnetID            string
	VpcID               string
	SecurityGroupIDs    []string
	Tags                map[string]string
}

// MetadataOptions are an instance's (or a template's) IMDS settings. Empty
// fields are unset.
type MetadataOptions struct {
	HTTPTokens           string // optional | required
	HTTPEndpoint         string // enabled | disabled
	HopLimit             int
	InstanceMetadataTags string
}

// LaunchTemplate is a copy of an emulated launch template and its versions.
type LaunchTemplate struct {
	ID             string
	Name           string
	CreateTime     time.Time
	CreatedBy      string
	DefaultVersion int
	LatestVersion  int
	Tags           map[string]string
	Versions       []LaunchTemplateVersion // ascending by number
}

// Version returns the version with the given number.
func (lt LaunchTemplate) Version(n int) (LaunchTemplateVersion, bool) {
	for _, v := range lt.Versions {
		if v.Number == n {
			return v, true
		}
	}
	return LaunchTemplateVersion{}, false
}

// LaunchTemplateVersion is one immutable version of a launch template.
type LaunchTemplateVersion struct {
	Number      int
	Description string
	CreateTime  time.Time
	Data        LaunchTemplateData
}

// LaunchTemplateData is the part of RunInstances a template fixes. Pointer
// fields distinguish unset from false.
type LaunchTemplateData struct {
	ImageID               string
	InstanceType          string
	KeyName               string
	UserData              string
	ShutdownBehavior      string
	DisableAPITermination *bool
	SecurityGroupIDs      []string
	SecurityGroupNames    []string
	BlockDevices          []BlockDevice
	Metadata              *MetadataOptions
	TagSpecifications     []TagSpecification
	NetworkInterfaces     []NetworkInterfaceSpec
	AvailabilityZone      string // Placement.AvailabilityZone
	// SubnetID is RunInstances's top-level SubnetId; launch template data
	// has none (its subnet is in NetworkInterfaces).
	SubnetID string
}

// NetworkInterfaceSpec is one NetworkInterfaces entry of a RunInstances
// call or of launch template data (API model
// InstanceNetworkInterfaceSpecification and
// LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, which
// serialize alike: NetworkInterface.N.SubnetId, .SecurityGroupId.M, ...).
type NetworkInterfaceSpec struct {
	DeviceIndex         *int
	SubnetID            string
	SecurityGroupIDs    []string
	AssociatePublicIP   *bool
	DeleteOnTermination *bool
	Description         string
}

// BlockDevice is a block device mapping of a template or a RunInstances call.
type BlockDevice struct {
	DeviceName          string
	VolumeSize          int
	VolumeType          string
	Encrypted           *bool
	DeleteOnTermination *bool
	Iops                int
	Throughput          int
	KmsKeyID            string
	SnapshotID          string
}

// TagSpecification names tags for one resource type created by a call.
type TagSpecification struct {
	ResourceType string
	Tags         []Tag
}

// SecurityGroup is a copy of an emulated security group.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	VpcID       string
	OwnerID     string
	Tags        map[string]string
	Ingress     []Rule // sorted
	Egress      []Rule // sorted
}

// Rule is one atomic security group rule: a protocol, a port range and a
// single IPv4 or IPv6 CIDR.
type Rule struct {
	Protocol string // "tcp", "udp", "icmp" or "-1"
	FromPort int
	ToPort   int
	CIDR     string // IPv4 CIDR, or empty
	CIDRv6   string // IPv6 CIDR, or empty
}

// instance is the stored form: the view plus pointers to owned resources and
// the bookkeeping of simulated transitions.
type instance struct {
	Instance
	volumes    []*Volume
	enis       []*NetworkInterface
	settleAt   time.Time // when a transitional state ends
	vanishAt   time.Time // when a terminated instance disappears
	templateID string
}

func (in *instance) view() Instance {
	v := in.Instance
	v.Tags = maps.Clone(in.Tags)
	v.SecurityGroupIDs = slices.Clone(in.SecurityGroupIDs)
	v.Volumes = nil
	for _, vol := range in.volumes {
		v.Volumes = append(v.Volumes, vol.view())
	}
	v.NetworkInterfaces = nil
	for _, eni := range in.enis {
		v.NetworkInterfaces = append(v.NetworkInterfaces, eni.view())
	}
	return v
}

func (v *Volume) view() Volume {
	c := *v
	c.Tags = maps.Clone(v.Tags)
	return c
}

func (n *NetworkInterface) view() NetworkInterface {
	c := *n
	c.Tags = maps.Clone(n.Tags)
	c.SecurityGroupIDs = slices.Clone(n.SecurityGroupIDs)
	return c
}

func (lt *LaunchTemplate) view() LaunchTemplate {
	c := *lt
	c.Tags = maps.Clone(lt.Tags)
	c.Versions = make([]LaunchTemplateVersion, len(lt.Versions))
	for i, v := range lt.Versions {
		v.Data = v.Data.clone()
		c.Versions[i] = v
	}
	return c
}

// clone returns a deep copy of d.
func (d LaunchTemplateData) clone() LaunchTemplateData {
	c := d
	c.DisableAPITermination = clonePtr(d.DisableAPITermination)
	c.SecurityGroupIDs = slices.Clone(d.SecurityGroupIDs)
	c.SecurityGroupNames = slices.Clone(d.SecurityGroupNames)
	c.Metadata = clonePtr(d.Metadata)
	c.BlockDevices = slices.Clone(d.BlockDevices)
	for i, bd := range c.BlockDevices {
		c.BlockDevices[i].Encrypted = clonePtr(bd.Encrypted)
		c.BlockDevices[i].DeleteOnTermination = clonePtr(bd.DeleteOnTermination)
	}
	c.TagSpecifications = slices.Clone(d.TagSpecifications)
	for i, ts := range c.TagSpecifications {
		c.TagSpecifications[i].Tags = slices.Clone(ts.Tags)
	}
	c.NetworkInterfaces = slices.Clone(d.NetworkInterfaces)
	for i, ni := range c.NetworkInterfaces {
		c.NetworkInterfaces[i].DeviceIndex = clonePtr(ni.DeviceIndex)
		c.NetworkInterfaces[i].SecurityGroupIDs = slices.Clone(ni.SecurityGroupIDs)
		c.NetworkInterfaces[i].AssociatePublicIP = clonePtr(ni.AssociatePublicIP)
		c.NetworkInterfaces[i].DeleteOnTermination = clonePtr(ni.DeleteOnTermination)
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (g *SecurityGroup) view() SecurityGroup {
	c := *g
	c.Tags = maps.Clone(g.Tags)
	c.Ingress = slices.Clone(g.Ingress)
	c.Egress = slices.Clone(g.Egress)
	return c
}

// index keeps the ids of one resource kind sorted, so Describe calls page by
// position in O(page) and tokens stay valid across inserts and deletes.
type index struct {
	ids    []string
	sorted bool
}

func (x *index) add(id string) {
	if n := len(x.ids); n > 0 && x.ids[n-1] > id {
		x.sorted = false
	}
	x.ids = append(x.ids, id)
}

func (x *index) remove(ids map[string]bool) {
	x.ids = slices.DeleteFunc(x.ids, func(id string) bool { return ids[id] })
}

func (x *index) all() []string {
	if !x.sorted {
		sort.Strings(x.ids)
		x.sorted = true
	}
	return x.ids
}

// page walks the ids after token, keeping those keep accepts, up to max (0:
// no limit). The next token is empty when nothing more matches.
func (x *index) page(token string, max int, keep func(id string) bool) ([]string, string, error) {
	ids := x.all()
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", errInvalidParameterValue("Unable to parse pagination token")
		}
		start = sort.SearchStrings(ids, string(after))
		if start < len(ids) && ids[start] == string(after) {
			start++
		}
	}
	var out []string
	for i := start; i < len(ids); i++ {
		if !keep(ids[i]) {
			continue
		}
		if max > 0 && len(out) == max {
			return out, base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1])), nil
		}
		out = append(out, ids[i])
	}
	return out, "", nil
}
