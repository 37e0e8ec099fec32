package cloud

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CreateLaunchTemplateInput builds the CreateLaunchTemplate request for a
// template: the version data, and tags on the template itself.
func CreateLaunchTemplateInput(name string, data TemplateData, tags map[string]string) *ec2.CreateLaunchTemplateInput {
	in := &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: requestData(data),
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeLaunchTemplate,
			Tags:         sdkTags(tags),
		}}
	}
	return in
}

// requestData converts TemplateData to what EC2 takes for a template version:
// an encrypted root volume that goes with the instance, the primary network
// interface with the security group and subnet (EC2 takes groups either
// there or at the top level, not both, and a subnet only there), IMDSv2 as
// configured, base64 user data, and launch-time tags per resource type.
func requestData(d TemplateData) *ec2types.RequestLaunchTemplateData {
	ebs := &ec2types.LaunchTemplateEbsBlockDeviceRequest{
		DeleteOnTermination: aws.Bool(true),
		Encrypted:           aws.Bool(d.Encrypted),
		VolumeType:          ec2types.VolumeType(d.VolumeType),
	}
	if d.VolumeGiB > 0 {
		ebs.VolumeSize = aws.Int32(d.VolumeGiB)
	}
	meta := &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
		HttpEndpoint: ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled,
		HttpTokens:   ec2types.LaunchTemplateHttpTokensStateOptional,
	}
	if d.HTTPTokensRequired {
		meta.HttpTokens = ec2types.LaunchTemplateHttpTokensStateRequired
	}
	if d.HopLimit > 0 {
		meta.HttpPutResponseHopLimit = aws.Int32(d.HopLimit)
	}
	out := &ec2types.RequestLaunchTemplateData{
		ImageId:      aws.String(d.ImageID),
		InstanceType: ec2types.InstanceType(d.InstanceType),
		NetworkInterfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
			DeviceIndex:              aws.Int32(0),
			Groups:                   slices.Clone(d.SecurityGroupIDs),
			SubnetId:                 optional(d.SubnetID),
			AssociatePublicIpAddress: d.PublicIP,
			DeleteOnTermination:      aws.Bool(true),
		}},
		MetadataOptions:                   meta,
		InstanceInitiatedShutdownBehavior: ec2types.ShutdownBehavior(d.ShutdownBehavior),
		DisableApiTermination:             aws.Bool(d.DisableAPITermination),
	}
	if d.RootDevice != "" {
		// Only the image knows its root device; a mapping of another device
		// would add a second, empty disk rather than size the root.
		out.BlockDeviceMappings = []ec2types.LaunchTemplateBlockDeviceMappingRequest{{DeviceName: aws.String(d.RootDevice), Ebs: ebs}}
	}
	if d.AvailabilityZone != "" {
		out.Placement = &ec2types.LaunchTemplatePlacementRequest{AvailabilityZone: aws.String(d.AvailabilityZone)}
	}
	if d.UserData != "" {
		out.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(d.UserData)))
	}
	for _, rt := range slices.Sorted(maps.Keys(d.TagSpecs)) {
		out.TagSpecifications = append(out.TagSpecifications, ec2types.LaunchTemplateTagSpecificationRequest{
			ResourceType: ec2types.ResourceType(rt),
			Tags:         sdkTags(d.TagSpecs[rt]),
		})
	}
	return out
}

// templateData converts a template version's data back to TemplateData, the
// inverse of requestData for everything launchwarden sets.
func templateData(r *ec2types.ResponseLaunchTemplateData) (TemplateData, error) {
	if r == nil {
		return TemplateData{}, nil
	}
	d := TemplateData{
		ImageID:               aws.ToString(r.ImageId),
		InstanceType:          string(r.InstanceType),
		SecurityGroupIDs:      slices.Clone(r.SecurityGroupIds),
		ShutdownBehavior:      string(r.InstanceInitiatedShutdownBehavior),
		DisableAPITermination: aws.ToBool(r.DisableApiTermination),
	}
	// launchwarden writes one mapping, the root volume's.
	for _, bd := range r.BlockDeviceMappings {
		if bd.Ebs != nil && d.RootDevice == "" {
			d.RootDevice = aws.ToString(bd.DeviceName)
			d.VolumeGiB = aws.ToInt32(bd.Ebs.VolumeSize)
			d.VolumeType = string(bd.Ebs.VolumeType)
			d.Encrypted = aws.ToBool(bd.Ebs.Encrypted)
		}
	}
	for _, ni := range r.NetworkInterfaces {
		if aws.ToInt32(ni.DeviceIndex) == 0 {
			d.SecurityGroupIDs = slices.Clone(ni.Groups)
			d.SubnetID = aws.ToString(ni.SubnetId)
			d.PublicIP = ni.AssociatePublicIpAddress
		}
	}
	if r.Placement != nil {
		d.AvailabilityZone = aws.ToString(r.Placement.AvailabilityZone)
	}
	if m := r.MetadataOptions; m != nil {
		d.HTTPTokensRequired = m.HttpTokens == ec2types.LaunchTemplateHttpTokensStateRequired
		d.HopLimit = aws.ToInt32(m.HttpPutResponseHopLimit)
	}
	if r.UserData != nil {
		ud, err := base64.StdEncoding.DecodeString(*r.UserData)
		if err != nil {
			return TemplateData{}, fmt.Errorf("decoding user data: %w", err)
		}
		d.UserData = string(ud)
	}
	for _, ts := range r.TagSpecifications {
		if d.TagSpecs == nil {
			d.TagSpecs = make(map[string]map[string]string)
		}
		d.TagSpecs[string(ts.ResourceType)] = tagMap(ts.Tags)
	}
	return d, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// CreateTemplate creates a launch template with its first version.
func (c *Client) CreateTemplate(ctx context.Context, name string, data TemplateData, tags map[string]string) (Template, error) {
	tags, err := c.signMarkers(kindTemplate, name, tags)
	if err != nil {
		return Template{}, err
	}
	out, err := c.api.CreateLaunchTemplate(ctx, CreateLaunchTemplateInput(name, data, tags))
	if err != nil {
		return Template{}, fmt.Errorf("creating launch template %q in %s: %w", name, c, err)
	}
	if out.LaunchTemplate == nil {
		return Template{}, fmt.Errorf("creating launch template %q in %s: no template in response", name, c)
	}
	lt := *out.LaunchTemplate
	if len(lt.Tags) == 0 {
		// EC2 does not always echo the tags back; they were set with the template.
		lt.Tags = sdkTags(tags)
	}
	return newTemplate(lt, c.Account, c.Region, c.Keys), nil
}

// CreateTemplateVersion adds a version to a template and returns its number.
// The new version does not become the default: see SetDefaultVersion.
func (c *Client) CreateTemplateVersion(ctx context.Context, id string, data TemplateData) (int64, error) {
	out, err := c.api.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(id),
		LaunchTemplateData: requestData(data),
	})
	if err != nil {
		return 0, fmt.Errorf("creating a version of launch template %s in %s: %w", id, c, err)
	}
	if out.LaunchTemplateVersion == nil || out.LaunchTemplateVersion.VersionNumber == nil {
		return 0, fmt.Errorf("creating a version of launch template %s in %s: no version in response", id, c)
	}
	return *out.LaunchTemplateVersion.VersionNumber, nil
}

// SetDefaultVersion makes version the one that launches use.
func (c *Client) SetDefaultVersion(ctx context.Context, id string, version int64) error {
	_, err := c.api.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: aws.String(id),
		DefaultVersion:   aws.String(strconv.FormatInt(version, 10)),
	})
	if err != nil {
		return fmt.Errorf("setting default version %d of launch template %s in %s: %w", version, id, c, err)
	}
	return nil
}

// DeleteTemplate deletes a launch template and all its versions.
func (c *Client) DeleteTemplate(ctx context.Context, id string) error {
	_, err := c.api.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("deleting launch template %s in %s: %w", id, c, err)
	}
	return nil
}

// TemplateVersionData reads one version of a template: "$Default", "$Latest"
// or a version number. It returns the data and the version's number.
func (c *Client) TemplateVersionData(ctx context.Context, id, version string) (TemplateData, int64, error) {
	out, err := c.api.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(id),
		Versions:         []string{version},
	})
	if err != nil {
		return TemplateData{}, 0, fmt.Errorf("reading version %s of launch template %s in %s: %w", version, id, c, err)
	}
	if len(out.LaunchTemplateVersions) != 1 {
		return TemplateData{}, 0, fmt.Errorf("reading version %s of launch template %s in %s: got %d versions, want 1",
			version, id, c, len(out.LaunchTemplateVersions))
	}
	v := out.LaunchTemplateVersions[0]
	d, err := templateData(v.LaunchTemplateData)
	if err != nil {
		return TemplateData{}, 0, fmt.Errorf("reading version %s of launch template %s in %s: %w", version, id, c, err)
	}
	return d, aws.ToInt64(v.VersionNumber), nil
}

// CreateSecurityGroup creates a tagged security group in a VPC and returns its ID.
// EC2 gives a new group an allow-all egress rule and no ingress.
func (c *Client) CreateSecurityGroup(ctx context.Context, name, vpcID, description string, tags map[string]string) (string, error) {
	tags, err := c.signMarkers(kindGroup, name, tags)
	if err != nil {
		return "", err
	}
	in := &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(name),
		Description: aws.String(description),
	}
	if vpcID != "" {
		in.VpcId = aws.String(vpcID)
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags:         sdkTags(tags),
		}}
	}
	out, err := c.api.CreateSecurityGroup(ctx, in)
	if err != nil {
		return "", fmt.Errorf("creating security group %q in %s: %w", name, c, err)
	}
	if out.GroupId == nil {
		return "", fmt.Errorf("creating security group %q in %s: no group ID in response", name, c)
	}
	return *out.GroupId, nil
}

// AuthorizeIngress adds ingress rules to a group in one call. EC2 rejects the
// whole call if any rule exists already (IsAlreadyExists).
func (c *Client) AuthorizeIngress(ctx context.Context, id string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := c.api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId:       aws.String(id),
		IpPermissions: permissionsFromRules(sortedRules(rules)),
	})
	if err != nil {
		return fmt.Errorf("authorizing ingress on security group %s in %s: %w", id, c, err)
	}
	return nil
}

// RevokeIngress removes ingress rules from a group in one call.
func (c *Client) RevokeIngress(ctx context.Context, id string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := c.api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId:       aws.String(id),
		IpPermissions: permissionsFromRules(sortedRules(rules)),
	})
	if err != nil {
		return fmt.Errorf("revoking ingress on security group %s in %s: %w", id, c, err)
	}
	return nil
}

// DeleteSecurityGroup deletes a group. EC2 refuses while instances or templates'
// instances still use it (IsDependencyViolation).
func (c *Client) DeleteSecurityGroup(ctx context.Context, id string) error {
	_, err := c.api.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("deleting security group %s in %s: %w", id, c, err)
	}
	return nil
}

// sortedRules returns the rules in a stable order, so requests are deterministic.
func sortedRules(rules []Rule) []Rule {
	return slices.SortedFunc(slices.Values(rules), func(a, b Rule) int {
		return cmp.Or(
			cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.FromPort, b.FromPort),
			cmp.Compare(a.ToPort, b.ToPort),
			cmp.Compare(a.CIDR, b.CIDR),
		)
	})
}
