package ec2sim

import (
	"net/http"
	"strconv"
	"strings"
)

func instanceAttr(name string, in *instance) ([]string, bool) {
	if in == nil {
		in = &instance{}
	}
	switch name {
	case "instance-id":
		return []string{in.ID}, true
	case "instance-state-name":
		return []string{in.State}, true
	case "instance-state-code":
		return []string{strconv.Itoa(stateCodes[in.State])}, true
	case "instance-type":
		return []string{in.InstanceType}, true
	case "image-id":
		return []string{in.ImageID}, true
	case "reservation-id":
		return []string{in.ReservationID}, true
	case "availability-zone":
		return []string{in.AvailabilityZone}, true
	case "vpc-id":
		return []string{in.VpcID}, true
	case "subnet-id":
		return []string{in.SubnetID}, true
	case "private-ip-address":
		return []string{in.PrivateIP}, true
	case "key-name":
		return []string{in.KeyName}, true
	case "launch-template-id":
		// Not an EC2 filter name, but the template's id tag is, so the
		// emulator accepts both spellings.
		return []string{in.templateID}, true
	case "instance.group-id":
		return in.SecurityGroupIDs, true
	}
	return tagAttr(name, in.Tags)
}

type describeInstancesResponse struct {
	meta
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

func describeInstances(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, instanceAttr, nil); err != nil {
		return nil, err
	}
	ids := c.p.list("InstanceId")
	maxResults, err := c.p.integer("MaxResults", 0)
	if err != nil {
		return nil, err
	}
	if c.p.has("MaxResults") {
		if len(ids) > 0 {
			return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		if maxResults < 5 || maxResults > 1000 {
			return nil, errInvalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", maxResults)
		}
	}
	var page []*instance
	resp := &describeInstancesResponse{}
	if len(ids) > 0 {
		found, err := c.r.checkInstanceIDs(ids)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, in := range found {
			if !seen[in.ID] && matches(filters, instanceAttr, in) {
				seen[in.ID] = true
				page = append(page, in)
			}
		}
	} else {
		pageIDs, next, err := c.r.instanceIdx.page(c.p.str("NextToken"), maxResults, func(id string) bool {
			return matches(filters, instanceAttr, c.r.instances[id])
		})
		if err != nil {
			return nil, err
		}
		resp.NextToken = next
		for _, id := range pageIDs {
			page = append(page, c.r.instances[id])
		}
	}
	byReservation := map[string]int{}
	for _, in := range page {
		i, ok := byReservation[in.ReservationID]
		if !ok {
			i = len(resp.Reservations)
			byReservation[in.ReservationID] = i
			resp.Reservations = append(resp.Reservations, xmlReservation{ReservationID: in.ReservationID, OwnerID: c.r.account})
		}
		resp.Reservations[i].Instances = append(resp.Reservations[i].Instances, c.r.xmlInstance(in))
	}
	return resp, nil
}

func (r *region) xmlInstance(in *instance) xmlInstance {
	x := xmlInstance{
		InstanceID:         in.ID,
		ImageID:            in.ImageID,
		State:              stateOf(in.State),
		Reason:             in.StateTransitionReason,
		KeyName:            in.KeyName,
		InstanceType:       in.InstanceType,
		LaunchTime:         wireTime(in.LaunchTime),
		Placement:          xmlPlacement{AvailabilityZone: in.AvailabilityZone, Tenancy: "default"},
		Architecture:       in.Architecture,
		RootDeviceType:     "ebs",
		RootDeviceName:     in.RootDeviceName,
		VirtualizationType: "hvm",
		Tags:               xmlTags(in.Tags),
		Metadata: xmlMetadataOptions{
			State:                "applied",
			HTTPTokens:           in.Metadata.HTTPTokens,
			HopLimit:             in.Metadata.HopLimit,
			HTTPEndpoint:         in.Metadata.HTTPEndpoint,
			InstanceMetadataTags: in.Metadata.InstanceMetadataTags,
		},
	}
	if in.State != StateTerminated {
		x.PrivateDNSName = privateDNSName(in.PrivateIP, r.name)
		x.SubnetID, x.VpcID, x.PrivateIPAddress = in.SubnetID, in.VpcID, in.PrivateIP
	}
	// A stopped instance loses its public IPv4 address (user guide
	// using-instance-addressing.md, "Public IPv4 addresses").
	if in.PublicIP != "" && (in.State == StatePending || in.State == StateRunning) {
		x.PublicIP = in.PublicIP
		x.PublicDNSName = publicDNSName(in.PublicIP, in.AvailabilityZone)
	}
	if in.State == StateStopped || in.State == StateStopping || in.State == StateTerminated || in.State == StateShuttingDown {
		x.StateReason = &xmlStateReason{Code: "Client.UserInitiatedShutdown", Message: "Client.UserInitiatedShutdown: User initiated shutdown"}
	}
	x.Groups = r.xmlGroups(in.SecurityGroupIDs)
	for _, v := range in.volumes {
		x.BlockDevices = append(x.BlockDevices, xmlInstanceBlockDevice{
			DeviceName: v.DeviceName,
			EBS: xmlInstanceEBS{
				VolumeID:            v.ID,
				Status:              "attached",
				AttachTime:          wireTime(v.AttachTime),
				DeleteOnTermination: v.DeleteOnTermination,
			},
		})
	}
	for _, n := range in.enis {
		eni := xmlInstanceENI{
			NetworkInterfaceID: n.ID,
			SubnetID:           n.SubnetID,
			VpcID:              n.VpcID,
			Description:        n.Description,
			OwnerID:            r.account,
			Status:             "in-use",
			PrivateIPAddress:   n.PrivateIP,
			Attachment: xmlENIAttachment{
				AttachmentID:        n.AttachmentID,
				DeviceIndex:         n.DeviceIndex,
				Status:              "attached",
				AttachTime:          wireTime(n.AttachTime),
				DeleteOnTermination: n.DeleteOnTermination,
			},
			Groups:        r.xmlGroups(n.SecurityGroupIDs),
			InterfaceType: "interface",
		}
		if x.PublicIP != "" && n.PublicIP != "" {
			// The model's InstanceNetworkInterfaceAssociation.IpOwnerId is
			// "the ID of the owner of the Elastic IP address"; an address
			// EC2 assigned at launch has no owner account, and "amazon" is
			// the emulator's own answer for it (no source found).
			eni.Association = &xmlENIAssociation{PublicIP: n.PublicIP, PublicDNSName: x.PublicDNSName, IPOwnerID: "amazon"}
		}
		x.NetworkInterfaces = append(x.NetworkInterfaces, eni)
	}
	return x
}

// xmlGroups names the groups ids refers to.
func (r *region) xmlGroups(ids []string) []xmlGroup {
	groups := make([]xmlGroup, 0, len(ids))
	for _, id := range ids {
		g := xmlGroup{GroupID: id}
		if sg, ok := r.groups[id]; ok {
			g.GroupName = sg.Name
		}
		groups = append(groups, g)
	}
	return groups
}

// privateDNSName is the instance's IP-name hostname: ip-10-24-34-0.ec2.internal
// in us-east-1, ip-10-24-34-0.<region>.compute.internal in any other region
// (user guide ec2-instance-naming.md, "IP name").
func privateDNSName(ip, region string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// publicDNSName is the public hostname of an address: ec2-3-0-0-1 and
// compute-1.amazonaws.com in us-east-1, <region>.compute.amazonaws.com
// elsewhere. The model documents the field only (Instance.PublicDnsName:
// "the public DNS name assigned to the instance"); the user guide pages at
// hand give the private forms only (see privateDNSName), so these public
// forms, which mirror them, are the emulator's own choice.
func publicDNSName(ip, zone string) string {
	host := "ec2-" + strings.ReplaceAll(ip, ".", "-")
	regionName := strings.TrimRight(zone, "abcdefghijklmnopqrstuvwxyz")
	if regionName == "us-east-1" {
		return host + ".compute-1.amazonaws.com"
	}
	return host + "." + regionName + ".compute.amazonaws.com"
}

// rootDevice is the root device of instances whose image the emulator does
// not know (seeded ones), and of images registered without one.
const rootDevice = "/dev/xvda"
