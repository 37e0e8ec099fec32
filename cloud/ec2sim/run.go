package ec2sim

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// parseLaunchData reads the launch parameters shared by RunInstances (at the
// top level) and launch templates (below LaunchTemplateData.).
func parseLaunchData(p params) (LaunchTemplateData, error) {
	d := LaunchTemplateData{
		ImageID:               p.str("ImageId"),
		InstanceType:          p.str("InstanceType"),
		KeyName:               p.str("KeyName"),
		UserData:              p.str("UserData"),
		ShutdownBehavior:      p.str("InstanceInitiatedShutdownBehavior"),
		DisableAPITermination: p.optBool("DisableApiTermination"),
		SecurityGroupIDs:      p.list("SecurityGroupId"),
		SecurityGroupNames:    p.list("SecurityGroup"),
	}
	if d.ImageID != "" && !strings.HasPrefix(d.ImageID, "ami-") {
		return d, newError(http.StatusBadRequest, "InvalidAMIID.Malformed", "Invalid id: %q (expecting \"ami-...\")", d.ImageID)
	}
	if d.InstanceType != "" {
		if _, ok := lookupInstanceType(d.InstanceType); !ok {
			return d, errInvalidParameterValue("Invalid value '%s' for InstanceType.", d.InstanceType)
		}
	}
	switch d.ShutdownBehavior {
	case "", "stop", "terminate":
	default:
		return d, errInvalidParameterValue("Invalid value '%s' for InstanceInitiatedShutdownBehavior.", d.ShutdownBehavior)
	}
	for _, it := range p.items("BlockDeviceMapping") {
		bd := BlockDevice{DeviceName: it.str("DeviceName")}
		if bd.DeviceName == "" {
			return d, errMissingParameter("BlockDeviceMapping.DeviceName")
		}
		ebs := it.sub("Ebs")
		var err error
		if bd.VolumeSize, err = ebs.integer("VolumeSize", 0); err != nil {
			return d, err
		}
		if bd.Iops, err = ebs.integer("Iops", 0); err != nil {
			return d, err
		}
		if bd.Throughput, err = ebs.integer("Throughput", 0); err != nil {
			return d, err
		}
		if bd.VolumeSize < 0 || bd.VolumeSize > 65536 {
			return d, errInvalidParameterValue("Volume of %d GiB is out of range", bd.VolumeSize)
		}
		bd.VolumeType = ebs.str("VolumeType")
		switch bd.VolumeType {
		case "", "gp2", "gp3", "io1", "io2", "st1", "sc1", "standard":
		default:
			return d, errInvalidParameterValue("Invalid value '%s' for volumeType.", bd.VolumeType)
		}
		bd.Encrypted = ebs.optBool("Encrypted")
		bd.DeleteOnTermination = ebs.optBool("DeleteOnTermination")
		bd.KmsKeyID = ebs.str("KmsKeyId")
		bd.SnapshotID = ebs.str("SnapshotId")
		d.BlockDevices = append(d.BlockDevices, bd)
	}
	if p.has("MetadataOptions.HttpTokens") || p.has("MetadataOptions.HttpEndpoint") ||
		p.has("MetadataOptions.HttpPutResponseHopLimit") || p.has("MetadataOptions.InstanceMetadataTags") {
		m := &MetadataOptions{
			HTTPTokens:           p.str("MetadataOptions.HttpTokens"),
			HTTPEndpoint:         p.str("MetadataOptions.HttpEndpoint"),
			InstanceMetadataTags: p.str("MetadataOptions.InstanceMetadataTags"),
		}
		var err error
		if m.HopLimit, err = p.integer("MetadataOptions.HttpPutResponseHopLimit", 0); err != nil {
			return d, err
		}
		if m.HopLimit < 0 || m.HopLimit > 64 {
			return d, errInvalidParameterValue("Invalid value '%d' for HttpPutResponseHopLimit.", m.HopLimit)
		}
		switch m.HTTPTokens {
		case "", "optional", "required":
		default:
			return d, errInvalidParameterValue("Invalid value '%s' for HttpTokens.", m.HTTPTokens)
		}
		d.Metadata = m
	}
	for _, it := range p.items("NetworkInterface") {
		ni := NetworkInterfaceSpec{
			SubnetID:            it.str("SubnetId"),
			SecurityGroupIDs:    it.list("SecurityGroupId"),
			AssociatePublicIP:   it.optBool("AssociatePublicIpAddress"),
			DeleteOnTermination: it.optBool("DeleteOnTermination"),
			Description:         it.str("Description"),
		}
		if it.has("DeviceIndex") {
			n, err := it.integer("DeviceIndex", 0)
			if err != nil {
				return d, err
			}
			ni.DeviceIndex = &n
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, ni)
	}
	d.AvailabilityZone = p.str("Placement.AvailabilityZone")
	d.SubnetID = p.str("SubnetId")
	specs, err := parseTagSpecs(p)
	if err != nil {
		return d, err
	}
	d.TagSpecifications = specs
	return d, nil
}

// parseTagSpecs reads TagSpecification.N.ResourceType and .Tag.M.
func parseTagSpecs(p params) ([]TagSpecification, error) {
	var out []TagSpecification
	for _, it := range p.items("TagSpecification") {
		tags, err := it.tags("Tag")
		if err != nil {
			return nil, err
		}
		rt := it.str("ResourceType")
		if rt == "" {
			return nil, errMissingParameter("TagSpecification.ResourceType")
		}
		out = append(out, TagSpecification{ResourceType: rt, Tags: tags})
	}
	return out, nil
}

// tagsFor returns the tags specs give resourceType, later specs winning.
func tagsFor(specs []TagSpecification, resourceType string) map[string]string {
	var out map[string]string
	for _, s := range specs {
		if s.ResourceType != resourceType {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		for _, t := range s.Tags {
			out[t.Key] = t.Value
		}
	}
	return out
}

// override returns the template's data with every field the call sets
// replacing it, as RunInstances does with a launch template.
func override(tmpl, call LaunchTemplateData) LaunchTemplateData {
	d := tmpl
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&d.ImageID, call.ImageID}, {&d.InstanceType, call.InstanceType}, {&d.KeyName, call.KeyName},
		{&d.UserData, call.UserData}, {&d.ShutdownBehavior, call.ShutdownBehavior},
		{&d.AvailabilityZone, call.AvailabilityZone}, {&d.SubnetID, call.SubnetID},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if call.DisableAPITermination != nil {
		d.DisableAPITermination = call.DisableAPITermination
	}
	if len(call.SecurityGroupIDs) > 0 || len(call.SecurityGroupNames) > 0 {
		d.SecurityGroupIDs, d.SecurityGroupNames = call.SecurityGroupIDs, call.SecurityGroupNames
	}
	if len(call.BlockDevices) > 0 {
		merged := make([]BlockDevice, 0, len(tmpl.BlockDevices)+len(call.BlockDevices))
		replaced := map[string]bool{}
		for _, bd := range call.BlockDevices {
			replaced[bd.DeviceName] = true
		}
		for _, bd := range tmpl.BlockDevices {
			if !replaced[bd.DeviceName] {
				merged = append(merged, bd)
			}
		}
		d.BlockDevices = append(merged, call.BlockDevices...)
	}
	if call.Metadata != nil {
		m := MetadataOptions{}
		if tmpl.Metadata != nil {
			m = *tmpl.Metadata
		}
		if call.Metadata.HTTPTokens != "" {
			m.HTTPTokens = call.Metadata.HTTPTokens
		}
		if call.Metadata.HTTPEndpoint != "" {
			m.HTTPEndpoint = call.Metadata.HTTPEndpoint
		}
		if call.Metadata.HopLimit != 0 {
			m.HopLimit = call.Metadata.HopLimit
		}
		if call.Metadata.InstanceMetadataTags != "" {
			m.InstanceMetadataTags = call.Metadata.InstanceMetadataTags
		}
		d.Metadata = &m
	}
	d.NetworkInterfaces = mergeNICs(tmpl.NetworkInterfaces, call.NetworkInterfaces)
	// Tags merge: the template's tags plus the call's, a key in both
	// taking the call's value (user guide
	// launch-instances-from-launch-template.md: "the instance is launched
	// with the tag Owner=TeamA as well as any other tags that are specified
	// in the launch template. If the launch template has an existing tag
	// with a key of Owner, the value is replaced"). tagsFor lets later
	// specifications win.
	d.TagSpecifications = append(append([]TagSpecification(nil), tmpl.TagSpecifications...), call.TagSpecifications...)
	return d
}

// mergeNICs merges a call's network interfaces into a template's by device
// index, the call's fields replacing the template's: the user guide's rule
// for nested structures ("the complex structure as specified in the launch
// template plus any additional nested parameters that you specify").
func mergeNICs(tmpl, call []NetworkInterfaceSpec) []NetworkInterfaceSpec {
	out := slices.Clone(tmpl)
	for _, c := range call {
		i := slices.IndexFunc(out, func(t NetworkInterfaceSpec) bool {
			return t.DeviceIndex != nil && c.DeviceIndex != nil && *t.DeviceIndex == *c.DeviceIndex
		})
		if i < 0 {
			out = append(out, c)
			continue
		}
		m := out[i]
		if c.SubnetID != "" {
			m.SubnetID = c.SubnetID
		}
		if len(c.SecurityGroupIDs) > 0 {
			m.SecurityGroupIDs = c.SecurityGroupIDs
		}
		if c.AssociatePublicIP != nil {
			m.AssociatePublicIP = c.AssociatePublicIP
		}
		if c.DeleteOnTermination != nil {
			m.DeleteOnTermination = c.DeleteOnTermination
		}
		if c.Description != "" {
			m.Description = c.Description
		}
		out[i] = m
	}
	return out
}

func runInstances(c *call) (response, error) {
	// Idempotency: the SDK sends a ClientToken and reuses it on retries. A
	// token seen before returns that call's reservation, launching nothing.
	token := c.p.str("ClientToken")
	if prev, ok := c.r.runs[token]; ok && token != "" && !c.dryRun {
		resp := &runInstancesResponse{ReservationID: prev.reservationID, OwnerID: c.r.account}
		for _, id := range prev.instanceIDs {
			if in, ok := c.r.instances[id]; ok {
				resp.Instances = append(resp.Instances, c.r.xmlInstance(in))
			}
		}
		return resp, nil
	}
	callData, err := parseLaunchData(c.p)
	if err != nil {
		return nil, err
	}
	minCount, err := c.p.integer("MinCount", 1)
	if err != nil {
		return nil, err
	}
	maxCount, err := c.p.integer("MaxCount", 1)
	if err != nil {
		return nil, err
	}
	if minCount < 1 || maxCount < minCount {
		return nil, errInvalidParameterValue("Invalid value '%d' for minCount/maxCount: MinCount must be at least 1 and at most MaxCount.", minCount)
	}
	if maxCount > 10000 {
		return nil, newError(http.StatusBadRequest, "InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit allows.", maxCount)
	}

	data := callData
	var lt *LaunchTemplate
	version := 0
	if c.p.has("LaunchTemplate.LaunchTemplateId") || c.p.has("LaunchTemplate.LaunchTemplateName") {
		lt, err = c.r.findTemplate(c.p.str("LaunchTemplate.LaunchTemplateId"), c.p.str("LaunchTemplate.LaunchTemplateName"))
		if err != nil {
			return nil, err
		}
		v, err := lt.resolve(c.p.str("LaunchTemplate.Version"))
		if err != nil {
			return nil, err
		}
		version = v.Number
		data = override(v.Data, callData)
	}
	if data.ImageID == "" {
		return nil, errMissingParameter("ImageId")
	}
	if data.InstanceType == "" {
		data.InstanceType = "m1.small"
	}
	img, err := c.launchImage(data)
	if err != nil {
		return nil, err
	}
	nics, err := c.r.placeNetwork(data)
	if err != nil {
		return nil, err
	}
	tags := map[TagResource]map[string]string{
		ResourceInstance:         tagsFor(data.TagSpecifications, ResourceInstance),
		ResourceVolume:           tagsFor(data.TagSpecifications, ResourceVolume),
		ResourceNetworkInterface: tagsFor(data.TagSpecifications, ResourceNetworkInterface),
	}
	for _, m := range tags {
		for k := range m {
			if isReservedTag(k) {
				return nil, errReservedTag(k)
			}
		}
	}

	l := launch{
		imageID:        data.ImageID,
		instanceType:   data.InstanceType,
		architecture:   img.Architecture,
		rootDevice:     img.RootDeviceName,
		keyName:        data.KeyName,
		userData:       data.UserData,
		shutdown:       data.ShutdownBehavior,
		protection:     data.DisableAPITermination != nil && *data.DisableAPITermination,
		securityGroups: nics[0].groups,
		metadata:       MetadataOptions{HTTPTokens: "optional", HTTPEndpoint: "enabled", HopLimit: 1},
		tags:           tags,
		nics:           nics,
	}
	if m := data.Metadata; m != nil {
		if m.HTTPTokens != "" {
			l.metadata.HTTPTokens = m.HTTPTokens
		}
		if m.HTTPEndpoint != "" {
			l.metadata.HTTPEndpoint = m.HTTPEndpoint
		}
		if m.HopLimit != 0 {
			l.metadata.HopLimit = m.HopLimit
		}
		l.metadata.InstanceMetadataTags = m.InstanceMetadataTags
	}
	if lt != nil {
		// EC2 itself tags an instance launched from a template with the
		// template's id and version; nobody can edit or remove them (user
		// guide launch-instances-from-launch-template.md).
		l.templateID = lt.ID
		instTags := maps.Clone(l.tags[ResourceInstance])
		if instTags == nil {
			instTags = map[string]string{}
		}
		instTags["aws:ec2launchtemplate:id"] = lt.ID
		instTags["aws:ec2launchtemplate:version"] = strconv.Itoa(version)
		l.tags[ResourceInstance] = instTags
	}
	if l.blockDevices, err = rootAndOtherVolumes(img, data.BlockDevices); err != nil {
		return nil, err
	}

	if err := c.authorize("ec2:RunInstances", c.runResources(lt, callData, l)); err != nil {
		return nil, err
	}
	if c.dryRun {
		return nil, errDryRun()
	}
	resp := &runInstancesResponse{ReservationID: c.sim.newID("r"), OwnerID: c.r.account}
	run := launched{reservationID: resp.ReservationID}
	for range maxCount {
		in := c.sim.newInstance(c.r, l, resp.ReservationID, "", c.now)
		c.r.transition(in, StatePending, c.now, c.sim.opts.PendingDelay)
		resp.Instances = append(resp.Instances, c.r.xmlInstance(in))
		run.instanceIDs = append(run.instanceIDs, in.ID)
	}
	if token != "" {
		c.r.runs[token] = run
	}
	return resp, nil
}

type runInstancesResponse struct {
	meta
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []xmlGroup    `xml:"groupSet>item"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}
