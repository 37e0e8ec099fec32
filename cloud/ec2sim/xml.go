package ec2sim

import (
	"sort"
	"strconv"
)

// XML shapes of EC2 responses. Element names follow the EC2 Query API as
// aws-sdk-go-v2's ec2 deserializers read them; a list is a wrapper element
// of <item>s.

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// xmlTags renders tags sorted by key, so responses are deterministic.
func xmlTags(tags map[string]string) []xmlTag {
	out := make([]xmlTag, 0, len(tags))
	for k, v := range tags {
		out = append(out, xmlTag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func xmlTagList(tags []Tag) []xmlTag {
	out := make([]xmlTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, xmlTag(t))
	}
	return out
}

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateOf(name string) xmlState { return xmlState{Code: stateCodes[name], Name: name} }

type xmlGroup struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName,omitempty"`
}

type xmlPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type xmlInstanceEBS struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type xmlInstanceBlockDevice struct {
	DeviceName string         `xml:"deviceName"`
	EBS        xmlInstanceEBS `xml:"ebs"`
}

type xmlENIAttachment struct {
	AttachmentID        string `xml:"attachmentId"`
	DeviceIndex         int    `xml:"deviceIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type xmlENIAssociation struct {
	PublicIP      string `xml:"publicIp"`
	PublicDNSName string `xml:"publicDnsName"`
	IPOwnerID     string `xml:"ipOwnerId"`
}

type xmlInstanceENI struct {
	NetworkInterfaceID string             `xml:"networkInterfaceId"`
	SubnetID           string             `xml:"subnetId"`
	VpcID              string             `xml:"vpcId"`
	Description        string             `xml:"description"`
	OwnerID            string             `xml:"ownerId"`
	Status             string             `xml:"status"`
	PrivateIPAddress   string             `xml:"privateIpAddress"`
	Association        *xmlENIAssociation `xml:"association"`
	Attachment         xmlENIAttachment   `xml:"attachment"`
	Groups             []xmlGroup         `xml:"groupSet>item"`
	InterfaceType      string             `xml:"interfaceType"`
}

type xmlMetadataOptions struct {
	State                string `xml:"state,omitempty"`
	HTTPTokens           string `xml:"httpTokens,omitempty"`
	HopLimit             int    `xml:"httpPutResponseHopLimit,omitempty"`
	HTTPEndpoint         string `xml:"httpEndpoint,omitempty"`
	InstanceMetadataTags string `xml:"instanceMetadataTags,omitempty"`
}

type xmlStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xmlInstance struct {
	InstanceID         string                   `xml:"instanceId"`
	ImageID            string                   `xml:"imageId"`
	State              xmlState                 `xml:"instanceState"`
	PrivateDNSName     string                   `xml:"privateDnsName"`
	Reason             string                   `xml:"reason"`
	KeyName            string                   `xml:"keyName,omitempty"`
	AmiLaunchIndex     int                      `xml:"amiLaunchIndex"`
	InstanceType       string                   `xml:"instanceType"`
	LaunchTime         string                   `xml:"launchTime"`
	Placement          xmlPlacement             `xml:"placement"`
	SubnetID           string                   `xml:"subnetId,omitempty"`
	VpcID              string                   `xml:"vpcId,omitempty"`
	PrivateIPAddress   string                   `xml:"privateIpAddress,omitempty"`
	PublicDNSName      string                   `xml:"dnsName,omitempty"`
	PublicIP           string                   `xml:"ipAddress,omitempty"`
	Architecture       string                   `xml:"architecture"`
	RootDeviceType     string                   `xml:"rootDeviceType"`
	RootDeviceName     string                   `xml:"rootDeviceName"`
	BlockDevices       []xmlInstanceBlockDevice `xml:"blockDeviceMapping>item"`
	VirtualizationType string                   `xml:"virtualizationType"`
	Groups             []xmlGroup               `xml:"groupSet>item"`
	StateReason        *xmlStateReason          `xml:"stateReason,omitempty"`
	NetworkInterfaces  []xmlInstanceENI         `xml:"networkInterfaceSet>item"`
	Tags               []xmlTag                 `xml:"tagSet>item"`
	Metadata           xmlMetadataOptions       `xml:"metadataOptions"`
}

type xmlReservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []xmlGroup    `xml:"groupSet>item"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type xmlStateChange struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  xmlState `xml:"currentState"`
	PreviousState xmlState `xml:"previousState"`
}

type xmlVolumeAttachment struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type xmlVolume struct {
	VolumeID         string                `xml:"volumeId"`
	Size             int                   `xml:"size"`
	SnapshotID       string                `xml:"snapshotId"`
	AvailabilityZone string                `xml:"availabilityZone"`
	Status           string                `xml:"status"`
	CreateTime       string                `xml:"createTime"`
	Attachments      []xmlVolumeAttachment `xml:"attachmentSet>item"`
	Tags             []xmlTag              `xml:"tagSet>item"`
	VolumeType       string                `xml:"volumeType"`
	Iops             int                   `xml:"iops,omitempty"`
	Throughput       int                   `xml:"throughput,omitempty"`
	Encrypted        bool                  `xml:"encrypted"`
	KmsKeyID         string                `xml:"kmsKeyId,omitempty"`
}

// xmlBool renders an optional boolean; nil is omitted.
func xmlBool(b *bool) *string {
	if b == nil {
		return nil
	}
	s := strconv.FormatBool(*b)
	return &s
}

type xmlLTEBS struct {
	Encrypted           *string `xml:"encrypted"`
	DeleteOnTermination *string `xml:"deleteOnTermination"`
	Iops                int     `xml:"iops,omitempty"`
	KmsKeyID            string  `xml:"kmsKeyId,omitempty"`
	SnapshotID          string  `xml:"snapshotId,omitempty"`
	VolumeSize          int     `xml:"volumeSize,omitempty"`
	VolumeType          string  `xml:"volumeType,omitempty"`
	Throughput          int     `xml:"throughput,omitempty"`
}

type xmlLTBlockDevice struct {
	DeviceName string    `xml:"deviceName,omitempty"`
	EBS        *xmlLTEBS `xml:"ebs"`
}

type xmlLTTagSpec struct {
	ResourceType string   `xml:"resourceType"`
	Tags         []xmlTag `xml:"tagSet>item"`
}

type xmlLTData struct {
	ImageID               string              `xml:"imageId,omitempty"`
	InstanceType          string              `xml:"instanceType,omitempty"`
	KeyName               string              `xml:"keyName,omitempty"`
	UserData              string              `xml:"userData,omitempty"`
	ShutdownBehavior      string              `xml:"instanceInitiatedShutdownBehavior,omitempty"`
	DisableAPITermination *string             `xml:"disableApiTermination"`
	BlockDevices          []xmlLTBlockDevice  `xml:"blockDeviceMappingSet>item"`
	Metadata              *xmlMetadataOptions `xml:"metadataOptions"`
	SecurityGroupIDs      []string            `xml:"securityGroupIdSet>item"`
	SecurityGroupNames    []string            `xml:"securityGroupSet>item"`
	TagSpecifications     []xmlLTTagSpec      `xml:"tagSpecificationSet>item"`
	NetworkInterfaces     []xmlLTNIC          `xml:"networkInterfaceSet>item"`
	Placement             *xmlLTPlacement     `xml:"placement"`
}

// xmlLTNIC is the API model's
// LaunchTemplateInstanceNetworkInterfaceSpecification.
type xmlLTNIC struct {
	AssociatePublicIP   *string  `xml:"associatePublicIpAddress"`
	DeleteOnTermination *string  `xml:"deleteOnTermination"`
	Description         string   `xml:"description,omitempty"`
	DeviceIndex         *int     `xml:"deviceIndex"`
	Groups              []string `xml:"groupSet>groupId"`
	SubnetID            string   `xml:"subnetId,omitempty"`
}

type xmlLTPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
}

type xmlLaunchTemplate struct {
	LaunchTemplateID     string   `xml:"launchTemplateId"`
	LaunchTemplateName   string   `xml:"launchTemplateName"`
	CreateTime           string   `xml:"createTime"`
	CreatedBy            string   `xml:"createdBy"`
	DefaultVersionNumber int      `xml:"defaultVersionNumber"`
	LatestVersionNumber  int      `xml:"latestVersionNumber"`
	Tags                 []xmlTag `xml:"tagSet>item"`
}

type xmlLTVersion struct {
	LaunchTemplateID   string    `xml:"launchTemplateId"`
	LaunchTemplateName string    `xml:"launchTemplateName"`
	VersionNumber      int       `xml:"versionNumber"`
	VersionDescription string    `xml:"versionDescription,omitempty"`
	CreateTime         string    `xml:"createTime"`
	CreatedBy          string    `xml:"createdBy"`
	DefaultVersion     bool      `xml:"defaultVersion"`
	Data               xmlLTData `xml:"launchTemplateData"`
}

type xmlIPRange struct {
	CidrIP string `xml:"cidrIp"`
}

type xmlIPv6Range struct {
	CidrIPv6 string `xml:"cidrIpv6"`
}

type xmlIPPermission struct {
	IPProtocol string         `xml:"ipProtocol"`
	FromPort   *int           `xml:"fromPort"`
	ToPort     *int           `xml:"toPort"`
	Groups     []xmlGroup     `xml:"groups>item"`
	IPRanges   []xmlIPRange   `xml:"ipRanges>item"`
	IPv6Ranges []xmlIPv6Range `xml:"ipv6Ranges>item"`
}

type xmlSecurityGroup struct {
	OwnerID          string            `xml:"ownerId"`
	GroupID          string            `xml:"groupId"`
	GroupName        string            `xml:"groupName"`
	GroupDescription string            `xml:"groupDescription"`
	VpcID            string            `xml:"vpcId"`
	ARN              string            `xml:"securityGroupArn"`
	Ingress          []xmlIPPermission `xml:"ipPermissions>item"`
	Egress           []xmlIPPermission `xml:"ipPermissionsEgress>item"`
	Tags             []xmlTag          `xml:"tagSet>item"`
}
