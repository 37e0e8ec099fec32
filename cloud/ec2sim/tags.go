package ec2sim

import (
	"net/http"
	"strconv"
	"strings"
)

// tagsOf returns the tag map of the resource id names, or EC2's NotFound or
// Malformed error for its kind.
func (r *region) tagsOf(id string) (map[string]string, error) {
	kind, _, _ := strings.Cut(id, "-")
	if !idPattern.MatchString(id) {
		return nil, newError(http.StatusBadRequest, "InvalidID", "The ID '%s' is not valid", id)
	}
	var tags map[string]string
	found := false
	switch kind {
	case "i":
		if in, ok := r.instances[id]; ok {
			tags, found = in.Tags, true
		}
		if !found {
			return nil, newError(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	case "vol":
		if v, ok := r.volumes[id]; ok {
			tags, found = v.Tags, true
		}
		if !found {
			return nil, newError(http.StatusBadRequest, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	case "lt":
		if lt, ok := r.templates[id]; ok {
			tags, found = lt.Tags, true
		}
		if !found {
			return nil, newError(http.StatusBadRequest, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
	case "sg":
		if g, ok := r.groups[id]; ok {
			tags, found = g.Tags, true
		}
		if !found {
			return nil, newError(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	case "eni":
		if n, ok := r.enis[id]; ok {
			tags, found = n.Tags, true
		}
		if !found {
			return nil, newError(http.StatusBadRequest, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
		}
	case "vpc":
		v, err := r.findVPC(id)
		if err != nil {
			return nil, err
		}
		tags, found = v.Tags, true
	case "subnet":
		sn, err := r.findSubnet(id)
		if err != nil {
			return nil, err
		}
		tags, found = sn.Tags, true
	default:
		return nil, newError(http.StatusBadRequest, "InvalidID", "The ID '%s' is not valid", id)
	}
	return tags, nil
}

// maxTags is EC2's limit of user tags per resource.
const maxTags = 50

func createTags(c *call) (response, error) {
	ids := c.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("ResourceId")
	}
	tags, err := c.p.tags("Tag")
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, errMissingParameter("Tag")
	}
	for _, t := range tags {
		if isReservedTag(t.Key) {
			return nil, errReservedTag(t.Key)
		}
		if len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, errInvalidParameterValue("Tag key or value is too long: %s", t.Key)
		}
	}
	maps := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		m, err := c.r.tagsOf(id)
		if err != nil {
			return nil, err
		}
		n := len(m)
		for _, t := range tags {
			if _, ok := m[t.Key]; !ok {
				n++
			}
		}
		if n > maxTags {
			return nil, newError(http.StatusBadRequest, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
		maps = append(maps, m)
	}
	for _, m := range maps {
		for _, t := range tags {
			m[t.Key] = t.Value
		}
	}
	return &returnResponse{Return: true}, nil
}

func deleteTags(c *call) (response, error) {
	ids := c.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("ResourceId")
	}
	type del struct {
		key, value string
		byValue    bool
	}
	var dels []del
	for _, it := range c.p.items("Tag") {
		d := del{key: it.str("Key"), value: it.str("Value"), byValue: it.has("Value")}
		// Nobody deletes an aws: tag: "You can't edit or delete tag keys
		// or values that begin with aws:" (user guide Using_Tags.md);
		// EC2 refuses like CreateTags (kubernetes/kops issue 5269).
		if isReservedTag(d.key) {
			return nil, errReservedTag(d.key)
		}
		dels = append(dels, d)
	}
	maps := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		m, err := c.r.tagsOf(id)
		if err != nil {
			return nil, err
		}
		maps = append(maps, m)
	}
	for _, m := range maps {
		if len(dels) == 0 {
			// Without Tag.N, DeleteTags removes every user tag.
			for k := range m {
				if !isReservedTag(k) {
					delete(m, k)
				}
			}
			continue
		}
		for _, d := range dels {
			if v, ok := m[d.key]; ok && (!d.byValue || v == d.value) {
				delete(m, d.key)
			}
		}
	}
	return &returnResponse{Return: true}, nil
}

func volumeAttr(name string, v *Volume) ([]string, bool) {
	if v == nil {
		v = &Volume{}
	}
	switch name {
	case "volume-id":
		return []string{v.ID}, true
	case "attachment.instance-id":
		return []string{v.InstanceID}, true
	case "attachment.device":
		return []string{v.DeviceName}, true
	case "attachment.delete-on-termination":
		return []string{strconv.FormatBool(v.DeleteOnTermination)}, true
	case "encrypted":
		return []string{strconv.FormatBool(v.Encrypted)}, true
	case "volume-type":
		return []string{v.VolumeType}, true
	case "size":
		return []string{strconv.Itoa(v.SizeGiB)}, true
	case "status":
		return []string{volumeStatus(v)}, true
	case "availability-zone":
		return []string{v.AvailabilityZone}, true
	}
	return tagAttr(name, v.Tags)
}

func volumeStatus(v *Volume) string {
	if v.InstanceID != "" {
		return "in-use"
	}
	return "available"
}

type describeVolumesResponse struct {
	meta
	Volumes   []xmlVolume `xml:"volumeSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

func xmlVolumeOf(v *Volume) xmlVolume {
	x := xmlVolume{
		VolumeID:         v.ID,
		Size:             v.SizeGiB,
		AvailabilityZone: v.AvailabilityZone,
		Status:           volumeStatus(v),
		CreateTime:       wireTime(v.CreateTime),
		Tags:             xmlTags(v.Tags),
		VolumeType:       v.VolumeType,
		Iops:             v.Iops,
		Throughput:       v.Throughput,
		Encrypted:        v.Encrypted,
		KmsKeyID:         v.KmsKeyID,
	}
	if v.InstanceID != "" {
		x.Attachments = []xmlVolumeAttachment{{
			VolumeID:            v.ID,
			InstanceID:          v.InstanceID,
			Device:              v.DeviceName,
			Status:              "attached",
			AttachTime:          wireTime(v.AttachTime),
			DeleteOnTermination: v.DeleteOnTermination,
		}}
	}
	return x
}

func describeVolumes(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, volumeAttr, nil); err != nil {
		return nil, err
	}
	maxResults, err := pageSize(c.p, 5, 500)
	if err != nil {
		return nil, err
	}
	resp := &describeVolumesResponse{}
	if ids := c.p.list("VolumeId"); len(ids) > 0 {
		for _, id := range ids {
			v, ok := c.r.volumes[id]
			if !ok {
				return nil, newError(http.StatusBadRequest, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
			}
			if matches(filters, volumeAttr, v) {
				resp.Volumes = append(resp.Volumes, xmlVolumeOf(v))
			}
		}
		return resp, nil
	}
	page, next, err := c.r.volumeIdx.page(c.p.str("NextToken"), maxResults, func(id string) bool {
		return matches(filters, volumeAttr, c.r.volumes[id])
	})
	if err != nil {
		return nil, err
	}
	for _, id := range page {
		resp.Volumes = append(resp.Volumes, xmlVolumeOf(c.r.volumes[id]))
	}
	resp.NextToken = next
	return resp, nil
}
