package ec2sim

import (
	"net/http"
	"slices"
	"strings"
)

// launchImage returns the image a launch uses, checked as RunInstances
// checks it: the image must exist in the region, be visible to the caller
// and be available, else InvalidAMIID.NotFound ("The image id '[ami-…]'
// does not exist"); and the instance type must support its architecture,
// else InvalidParameterValue in EC2's words ("The architecture 'x86_64' of
// the specified instance type does not match the architecture 'arm64' of
// the specified AMI. …", as reported in skypilot-org/skypilot issue 6315
// and hashicorp/packer-plugin-amazon PR 649).
func (c *call) launchImage(data LaunchTemplateData) (Image, error) {
	img, err := c.image(data.ImageID)
	if err != nil {
		return Image{}, err
	}
	if img.State != ImageAvailable {
		return Image{}, errImageNotFound(img.ID)
	}
	t, _ := lookupInstanceType(data.InstanceType)
	if t.Name != "" && !slices.Contains(t.architectures(), img.Architecture) {
		return Image{}, errInvalidParameterValue("The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. "+
			"Specify an instance type and an AMI that have matching architectures, and try again. "+
			"You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.",
			strings.Join(t.architectures(), ","), img.Architecture)
	}
	return img, nil
}

// rootAndOtherVolumes turns a launch's block device mappings into the
// volumes it creates: the image's root device first, sized by a mapping on
// that device name or else by the image's snapshot, then one volume per
// mapping on any other device name. A mapping on the root device smaller
// than the snapshot is InvalidBlockDeviceMapping in EC2's words ("Volume of
// size 15GB is smaller than snapshot 'snap-…', expect size >= 30GB", as
// reported in scylladb/scylladb issue 6999). So a mapping that names the
// wrong root device gives the instance a second, empty disk and leaves the
// root as the image made it, as on EC2 (user guide
// block-device-mapping-concepts.md).
//
// What a mapping leaves open is filled in here, once, for the volumes and
// for IAM's condition keys alike:
//   - size: the snapshot's (the model's EbsBlockDevice.VolumeSize: "If you
//     specify a snapshot, the default is the snapshot size"); a mapping on
//     another device with neither a size nor a snapshot is
//     InvalidBlockDeviceMapping (same: "You must specify either a snapshot
//     ID or a volume size"; the code is in errors-overview.md, the wording
//     the emulator's own). The emulator knows only images' snapshot sizes:
//     another snapshot counts as 8 GiB, its own choice.
//   - type: the root's is the image's root mapping's, gp3 for every image
//     the emulator holds (its own choice, see xmlImageOf); another
//     device's is gp2, the default the model states for CreateVolume
//     (CreateVolumeRequest.VolumeType, "Default: gp2"), which the emulator
//     applies to a launch's mappings too: the model states none there.
func rootAndOtherVolumes(img Image, mappings []BlockDevice) ([]BlockDevice, error) {
	root := BlockDevice{DeviceName: img.RootDeviceName, SnapshotID: img.SnapshotID}
	out := []BlockDevice{root}
	for _, bd := range mappings {
		if bd.DeviceName != img.RootDeviceName {
			switch {
			case bd.VolumeSize == 0 && bd.SnapshotID == "":
				return nil, newError(http.StatusBadRequest, "InvalidBlockDeviceMapping",
					"The mapping of %s needs a snapshot ID or a volume size", bd.DeviceName)
			case bd.VolumeSize == 0:
				bd.VolumeSize = 8
			}
			if bd.VolumeType == "" {
				bd.VolumeType = "gp2"
			}
			out = append(out, bd)
			continue
		}
		if bd.VolumeSize != 0 && bd.VolumeSize < int(img.RootVolumeGiB) {
			return nil, newError(http.StatusBadRequest, "InvalidBlockDeviceMapping",
				"Volume of size %dGB is smaller than snapshot '%s', expect size >= %dGB", bd.VolumeSize, img.SnapshotID, img.RootVolumeGiB)
		}
		bd.SnapshotID = img.SnapshotID
		out[0] = bd
	}
	if out[0].VolumeSize == 0 {
		out[0].VolumeSize = int(img.RootVolumeGiB)
	}
	if out[0].VolumeType == "" {
		out[0].VolumeType = "gp3"
	}
	return out, nil
}

// placeNetwork resolves where a launch's instance goes and which network
// interfaces it gets, following the API model's RunInstances:
//   - NetworkInterfaces (merged from the template and the call by device
//     index) each name their subnet and security groups; then neither an
//     instance-level SubnetId nor security groups may be given
//     (InvalidParameterCombination: "Network interfaces and an
//     instance-level subnet ID may not be specified on the same request",
//     aws/aws-cli issue 809; the model's SecurityGroupIds: "If you specify a
//     network interface, you must specify any security groups as part of
//     the network interface");
//   - otherwise SubnetId, or else the default VPC's default subnet of the
//     Placement zone (or the first zone), with the instance-level groups;
//     group names cannot be combined with a subnet
//     (InvalidParameterCombination "The parameter groupName cannot be used
//     with the parameter subnet", aws/aws-cli issue 2453).
//
// Every security group must be in the VPC of its interface's subnet
// (sameNetwork). The primary interface gets a public IPv4 address when its
// AssociatePublicIpAddress says so, else when its subnet maps one on
// launch (the model's Subnet.MapPublicIpOnLaunch).
func (r *region) placeNetwork(data LaunchTemplateData) ([]nicPlan, error) {
	if len(data.NetworkInterfaces) == 0 {
		sn := r.defaultSubnet(data.AvailabilityZone)
		if data.SubnetID != "" {
			if len(data.SecurityGroupNames) > 0 {
				return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "The parameter groupName cannot be used with the parameter subnet")
			}
			var err error
			if sn, err = r.findSubnet(data.SubnetID); err != nil {
				return nil, err
			}
		}
		if sn == nil {
			// terraform issue 14488: "VPCIdNotSpecified: No default VPC for
			// this user".
			return nil, newError(http.StatusBadRequest, "VPCIdNotSpecified", "No default VPC for this user")
		}
		groups, err := r.resolveGroups(data.SecurityGroupIDs, data.SecurityGroupNames)
		if err != nil {
			return nil, err
		}
		if err := r.sameNetwork(groups, sn); err != nil {
			return nil, err
		}
		return []nicPlan{{subnet: sn, groups: groups, publicIP: sn.MapPublicIPOnLaunch, deleteOnTermination: true}}, nil
	}
	if data.SubnetID != "" {
		return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request")
	}
	if len(data.SecurityGroupIDs) > 0 || len(data.SecurityGroupNames) > 0 {
		return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request")
	}
	// botocore ec2 2016-11-15, InstanceNetworkInterfaceSpecification.DeviceIndex:
	// "A primary network interface has a device index of 0. If you specify a
	// network interface when launching an instance, you must specify the
	// device index." Uniqueness follows from "position ... in the attachment
	// order"; the messages are the emulator's own words.
	specs := slices.Clone(data.NetworkInterfaces)
	seen := map[int]bool{}
	for _, ni := range specs {
		if ni.DeviceIndex == nil {
			return nil, errInvalidParameterValue("Each network interface requires a device index.")
		}
		if seen[*ni.DeviceIndex] {
			return nil, errInvalidParameterValue("Each network interface requires a unique device index.")
		}
		seen[*ni.DeviceIndex] = true
	}
	if !seen[0] {
		return nil, errInvalidParameterValue("A network interface with device index 0 is required.")
	}
	slices.SortFunc(specs, func(a, b NetworkInterfaceSpec) int { return *a.DeviceIndex - *b.DeviceIndex })
	var out []nicPlan
	for _, ni := range specs {
		var sn *Subnet
		switch {
		case ni.SubnetID != "":
			var err error
			if sn, err = r.findSubnet(ni.SubnetID); err != nil {
				return nil, err
			}
		case len(out) > 0:
			// The emulator's simplification (no AWS source): a secondary
			// interface without a subnet joins the primary's.
			sn = out[0].subnet
		default:
			if sn = r.defaultSubnet(data.AvailabilityZone); sn == nil {
				return nil, newError(http.StatusBadRequest, "VPCIdNotSpecified", "No default VPC for this user")
			}
		}
		groups, err := r.resolveGroups(ni.SecurityGroupIDs, nil)
		if err != nil {
			return nil, err
		}
		if err := r.sameNetwork(groups, sn); err != nil {
			return nil, err
		}
		plan := nicPlan{
			deviceIndex: *ni.DeviceIndex,
			subnet:      sn,
			groups:      groups,
			// The emulator's default for an unset value (no AWS source;
			// InstanceNetworkInterfaceSpecification.DeleteOnTermination
			// says only that true applies to interfaces created at launch).
			deleteOnTermination: ni.DeleteOnTermination == nil || *ni.DeleteOnTermination,
			description:         ni.Description,
		}
		if len(out) == 0 {
			plan.publicIP = sn.MapPublicIPOnLaunch
			if ni.AssociatePublicIP != nil {
				plan.publicIP = *ni.AssociatePublicIP
			}
		}
		out = append(out, plan)
	}
	return out, nil
}

// sameNetwork fails when a security group is not in the subnet's VPC, in
// EC2's words: "Security group sg-… and subnet subnet-… belong to different
// networks." (InvalidParameter, as reported in ansible/ansible-modules-core
// issue 347 and philschmid/efsync PR 16). So a group of the configured VPC
// on a launch that names no subnet, which goes to the default VPC, fails.
func (r *region) sameNetwork(groups []string, sn *Subnet) error {
	for _, id := range groups {
		if g, ok := r.groups[id]; ok && g.VpcID != sn.VPCID {
			return newError(http.StatusBadRequest, "InvalidParameter", "Security group %s and subnet %s belong to different networks.", id, sn.ID)
		}
	}
	return nil
}

// isReservedTag reports whether key uses the aws: prefix, which is
// reserved for AWS (user guide Using_Tags.md, "Tag restrictions"; the
// prefix is case-insensitive).
func isReservedTag(key string) bool { return strings.HasPrefix(strings.ToLower(key), "aws:") }

// errReservedTag is EC2's answer to a user tag with the aws: prefix, in
// its words ("Value ( aws:cloudformation:logical-id ) for parameter key is
// invalid. Tag keys starting with 'aws:' are reserved for internal use",
// chef-boneyard/chef-provisioning-aws issue 555 for CreateTags,
// jcjorel/ec2-spot-converter issue 13 for RunInstances).
func errReservedTag(key string) error {
	return errInvalidParameterValue("Value ( %s ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", key)
}
