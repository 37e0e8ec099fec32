package ec2sim

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var templateNamePattern = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// findTemplate looks a template up by id, or else by name.
func (r *region) findTemplate(id, name string) (*LaunchTemplate, error) {
	switch {
	case id != "":
		if !strings.HasPrefix(id, "lt-") || !idPattern.MatchString(id) {
			return nil, newError(http.StatusBadRequest, "InvalidLaunchTemplateId.Malformed", "The specified ID for the launch template (%s) is not valid.", id)
		}
		lt, ok := r.templates[id]
		if !ok {
			return nil, newError(http.StatusBadRequest, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
		return lt, nil
	case name != "":
		for _, lt := range r.templates {
			if lt.Name == name {
				return lt, nil
			}
		}
		return nil, newError(http.StatusBadRequest, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
	}
	return nil, errMissingParameter("LaunchTemplateId or LaunchTemplateName")
}

// resolve returns the version that spec names: "", "$Default", "$Latest" or
// a number.
func (lt *LaunchTemplate) resolve(spec string) (LaunchTemplateVersion, error) {
	n := 0
	switch spec {
	case "", "$Default":
		n = lt.DefaultVersion
	case "$Latest":
		n = lt.LatestVersion
	default:
		var err error
		if n, err = strconv.Atoi(spec); err != nil {
			return LaunchTemplateVersion{}, errInvalidParameterValue("Invalid launch template version: %s", spec)
		}
	}
	v, ok := lt.Version(n)
	if !ok {
		return LaunchTemplateVersion{}, newError(http.StatusBadRequest, "InvalidLaunchTemplateId.VersionNotFound",
			"Could not find launch template version %s for template %s", spec, lt.ID)
	}
	return v, nil
}

func xmlTemplate(lt *LaunchTemplate) xmlLaunchTemplate {
	return xmlLaunchTemplate{
		LaunchTemplateID:     lt.ID,
		LaunchTemplateName:   lt.Name,
		CreateTime:           wireTime(lt.CreateTime),
		CreatedBy:            lt.CreatedBy,
		DefaultVersionNumber: lt.DefaultVersion,
		LatestVersionNumber:  lt.LatestVersion,
		Tags:                 xmlTags(lt.Tags),
	}
}

func xmlVersion(lt *LaunchTemplate, v LaunchTemplateVersion) xmlLTVersion {
	d := v.Data
	x := xmlLTVersion{
		LaunchTemplateID:   lt.ID,
		LaunchTemplateName: lt.Name,
		VersionNumber:      v.Number,
		VersionDescription: v.Description,
		CreateTime:         wireTime(v.CreateTime),
		CreatedBy:          lt.CreatedBy,
		DefaultVersion:     v.Number == lt.DefaultVersion,
		Data: xmlLTData{
			ImageID:               d.ImageID,
			InstanceType:          d.InstanceType,
			KeyName:               d.KeyName,
			UserData:              d.UserData,
			ShutdownBehavior:      d.ShutdownBehavior,
			DisableAPITermination: xmlBool(d.DisableAPITermination),
			SecurityGroupIDs:      d.SecurityGroupIDs,
			SecurityGroupNames:    d.SecurityGroupNames,
		},
	}
	for _, bd := range d.BlockDevices {
		x.Data.BlockDevices = append(x.Data.BlockDevices, xmlLTBlockDevice{
			DeviceName: bd.DeviceName,
			EBS: &xmlLTEBS{
				Encrypted:           xmlBool(bd.Encrypted),
				DeleteOnTermination: xmlBool(bd.DeleteOnTermination),
				Iops:                bd.Iops,
				KmsKeyID:            bd.KmsKeyID,
				SnapshotID:          bd.SnapshotID,
				VolumeSize:          bd.VolumeSize,
				VolumeType:          bd.VolumeType,
				Throughput:          bd.Throughput,
			},
		})
	}
	if m := d.Metadata; m != nil {
		x.Data.Metadata = &xmlMetadataOptions{
			State:                "applied",
			HTTPTokens:           m.HTTPTokens,
			HopLimit:             m.HopLimit,
			HTTPEndpoint:         m.HTTPEndpoint,
			InstanceMetadataTags: m.InstanceMetadataTags,
		}
	}
	for _, ni := range d.NetworkInterfaces {
		x.Data.NetworkInterfaces = append(x.Data.NetworkInterfaces, xmlLTNIC{
			AssociatePublicIP:   xmlBool(ni.AssociatePublicIP),
			DeleteOnTermination: xmlBool(ni.DeleteOnTermination),
			Description:         ni.Description,
			DeviceIndex:         ni.DeviceIndex,
			Groups:              ni.SecurityGroupIDs,
			SubnetID:            ni.SubnetID,
		})
	}
	if d.AvailabilityZone != "" {
		x.Data.Placement = &xmlLTPlacement{AvailabilityZone: d.AvailabilityZone}
	}
	for _, ts := range d.TagSpecifications {
		x.Data.TagSpecifications = append(x.Data.TagSpecifications, xmlLTTagSpec{ResourceType: ts.ResourceType, Tags: xmlTagList(ts.Tags)})
	}
	return x
}

// checkTemplateData rejects what EC2 rejects in template data but accepts
// in RunInstances.
func checkTemplateData(d LaunchTemplateData) error {
	for _, ts := range d.TagSpecifications {
		switch ts.ResourceType {
		case ResourceInstance, ResourceVolume, ResourceNetworkInterface, "spot-instances-request":
		default:
			return errInvalidParameterValue("'%s' is not a valid taggable resource type for this operation.", ts.ResourceType)
		}
	}
	return nil
}

type launchTemplateResponse struct {
	meta
	LaunchTemplate xmlLaunchTemplate `xml:"launchTemplate"`
}

func createLaunchTemplate(c *call) (response, error) {
	name := c.p.str("LaunchTemplateName")
	if name == "" {
		return nil, errMissingParameter("LaunchTemplateName")
	}
	if !templateNamePattern.MatchString(name) {
		return nil, newError(http.StatusBadRequest, "InvalidLaunchTemplateName.MalformedException",
			"A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.")
	}
	for _, lt := range c.r.templates {
		if lt.Name == name {
			return nil, newError(http.StatusBadRequest, "InvalidLaunchTemplateName.AlreadyExistsException",
				"Launch template name already in use.")
		}
	}
	data, err := parseLaunchData(c.p.sub("LaunchTemplateData"))
	if err != nil {
		return nil, err
	}
	if err := checkTemplateData(data); err != nil {
		return nil, err
	}
	specs, err := parseTagSpecs(c.p)
	if err != nil {
		return nil, err
	}
	// The API model (botocore ec2 2016-11-15, CreateLaunchTemplateRequest
	// TagSpecifications): "The tags to apply to the launch template on
	// creation. To tag the launch template, the resource type must be
	// launch-template"; the TagSpecification shape: a resource type the
	// action does not support tagging is an error. The template has them
	// from its first moment, so an IAM condition on aws:ResourceTag (the
	// launch guard) sees them at the first RunInstances.
	tags := map[string]string{}
	for _, ts := range specs {
		if ts.ResourceType != "launch-template" {
			return nil, errInvalidParameterValue("'%s' is not a valid taggable resource type for this operation.", ts.ResourceType)
		}
		for _, t := range ts.Tags {
			tags[t.Key] = t.Value
		}
	}
	lt := &LaunchTemplate{
		ID:             c.sim.newID("lt"),
		Name:           name,
		CreateTime:     c.now,
		CreatedBy:      "arn:aws:iam::" + c.r.account + ":user/launchwarden",
		DefaultVersion: 1,
		LatestVersion:  1,
		Tags:           tags,
		Versions:       []LaunchTemplateVersion{{Number: 1, Description: c.p.str("VersionDescription"), CreateTime: c.now, Data: data}},
	}
	c.r.templates[lt.ID] = lt
	c.r.templateIdx.add(lt.ID)
	return &launchTemplateResponse{LaunchTemplate: xmlTemplate(lt)}, nil
}

type launchTemplateVersionResponse struct {
	meta
	Version xmlLTVersion `xml:"launchTemplateVersion"`
}

func createLaunchTemplateVersion(c *call) (response, error) {
	lt, err := c.r.findTemplate(c.p.str("LaunchTemplateId"), c.p.str("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	data, err := parseLaunchData(c.p.sub("LaunchTemplateData"))
	if err != nil {
		return nil, err
	}
	if err := checkTemplateData(data); err != nil {
		return nil, err
	}
	if c.p.has("SourceVersion") {
		src, err := lt.resolve(c.p.str("SourceVersion"))
		if err != nil {
			return nil, err
		}
		merged := override(src.Data, data)
		if len(data.TagSpecifications) > 0 {
			merged.TagSpecifications = data.TagSpecifications
		}
		data = merged
	}
	lt.LatestVersion++
	v := LaunchTemplateVersion{Number: lt.LatestVersion, Description: c.p.str("VersionDescription"), CreateTime: c.now, Data: data}
	lt.Versions = append(lt.Versions, v)
	return &launchTemplateVersionResponse{Version: xmlVersion(lt, v)}, nil
}

func modifyLaunchTemplate(c *call) (response, error) {
	lt, err := c.r.findTemplate(c.p.str("LaunchTemplateId"), c.p.str("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	if spec := c.p.str("SetDefaultVersion"); spec != "" {
		v, err := lt.resolve(spec)
		if err != nil {
			return nil, err
		}
		lt.DefaultVersion = v.Number
	}
	return &launchTemplateResponse{LaunchTemplate: xmlTemplate(lt)}, nil
}

func deleteLaunchTemplate(c *call) (response, error) {
	lt, err := c.r.findTemplate(c.p.str("LaunchTemplateId"), c.p.str("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	delete(c.r.templates, lt.ID)
	c.r.templateIdx.remove(map[string]bool{lt.ID: true})
	return &launchTemplateResponse{LaunchTemplate: xmlTemplate(lt)}, nil
}

type xmlVersionResult struct {
	LaunchTemplateID   string            `xml:"launchTemplateId"`
	LaunchTemplateName string            `xml:"launchTemplateName"`
	VersionNumber      int               `xml:"versionNumber"`
	Error              *xmlResponseError `xml:"responseError"`
}

type xmlResponseError struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type deleteVersionsResponse struct {
	meta
	Deleted []xmlVersionResult `xml:"successfullyDeletedLaunchTemplateVersionSet>item"`
	Failed  []xmlVersionResult `xml:"unsuccessfullyDeletedLaunchTemplateVersionSet>item"`
}

func deleteLaunchTemplateVersions(c *call) (response, error) {
	lt, err := c.r.findTemplate(c.p.str("LaunchTemplateId"), c.p.str("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	resp := &deleteVersionsResponse{}
	for _, s := range c.p.list("LaunchTemplateVersion") {
		n, _ := strconv.Atoi(s)
		res := xmlVersionResult{LaunchTemplateID: lt.ID, LaunchTemplateName: lt.Name, VersionNumber: n}
		_, exists := lt.Version(n)
		switch {
		case !exists:
			res.Error = &xmlResponseError{Code: "launchTemplateVersionDoesNotExist", Message: "The specified launch template version does not exist."}
		case n == lt.DefaultVersion:
			res.Error = &xmlResponseError{Code: "launchTemplateVersionIsDefaultVersion", Message: "The default version of a launch template cannot be deleted."}
		}
		if res.Error != nil {
			resp.Failed = append(resp.Failed, res)
			continue
		}
		for i, v := range lt.Versions {
			if v.Number == n {
				lt.Versions = append(lt.Versions[:i:i], lt.Versions[i+1:]...)
				break
			}
		}
		resp.Deleted = append(resp.Deleted, res)
	}
	return resp, nil
}

func templateAttr(name string, lt *LaunchTemplate) ([]string, bool) {
	if lt == nil {
		lt = &LaunchTemplate{}
	}
	switch name {
	case "launch-template-name":
		return []string{lt.Name}, true
	case "launch-template-id":
		return []string{lt.ID}, true
	case "create-time":
		return []string{wireTime(lt.CreateTime)}, true
	}
	return tagAttr(name, lt.Tags)
}

// pageSize reads MaxResults within [lo, hi]; 0 means no limit.
func pageSize(p params, lo, hi int) (int, error) {
	if !p.has("MaxResults") {
		return 0, nil
	}
	n, err := p.integer("MaxResults", 0)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, errInvalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", n, lo, hi)
	}
	return n, nil
}

type describeTemplatesResponse struct {
	meta
	Templates []xmlLaunchTemplate `xml:"launchTemplates>item"`
	NextToken string              `xml:"nextToken,omitempty"`
}

func describeLaunchTemplates(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, templateAttr, nil); err != nil {
		return nil, err
	}
	maxResults, err := pageSize(c.p, 1, 200)
	if err != nil {
		return nil, err
	}
	resp := &describeTemplatesResponse{}
	ids, names := c.p.list("LaunchTemplateId"), c.p.list("LaunchTemplateName")
	if len(ids) > 0 || len(names) > 0 {
		for _, id := range ids {
			lt, err := c.r.findTemplate(id, "")
			if err != nil {
				return nil, err
			}
			if matches(filters, templateAttr, lt) {
				resp.Templates = append(resp.Templates, xmlTemplate(lt))
			}
		}
		for _, name := range names {
			lt, err := c.r.findTemplate("", name)
			if err != nil {
				return nil, err
			}
			if matches(filters, templateAttr, lt) {
				resp.Templates = append(resp.Templates, xmlTemplate(lt))
			}
		}
		return resp, nil
	}
	page, next, err := c.r.templateIdx.page(c.p.str("NextToken"), maxResults, func(id string) bool {
		return matches(filters, templateAttr, c.r.templates[id])
	})
	if err != nil {
		return nil, err
	}
	for _, id := range page {
		resp.Templates = append(resp.Templates, xmlTemplate(c.r.templates[id]))
	}
	resp.NextToken = next
	return resp, nil
}

type describeVersionsResponse struct {
	meta
	Versions  []xmlLTVersion `xml:"launchTemplateVersionSet>item"`
	NextToken string         `xml:"nextToken,omitempty"`
}

type versionRef struct {
	lt *LaunchTemplate
	v  LaunchTemplateVersion
}

func versionAttr(name string, ref versionRef) ([]string, bool) {
	switch name {
	case "is-default-version":
		return []string{strconv.FormatBool(ref.lt != nil && ref.v.Number == ref.lt.DefaultVersion)}, true
	case "image-id":
		return []string{ref.v.Data.ImageID}, true
	case "instance-type":
		return []string{ref.v.Data.InstanceType}, true
	}
	return nil, false
}

func describeLaunchTemplateVersions(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, versionAttr, versionRef{}); err != nil {
		return nil, err
	}
	maxResults, err := pageSize(c.p, 1, 200)
	if err != nil {
		return nil, err
	}
	minV, err := c.p.integer("MinVersion", 0)
	if err != nil {
		return nil, err
	}
	maxV, err := c.p.integer("MaxVersion", 0)
	if err != nil {
		return nil, err
	}
	specs := c.p.list("LaunchTemplateVersion")
	var templates []*LaunchTemplate
	if c.p.has("LaunchTemplateId") || c.p.has("LaunchTemplateName") {
		lt, err := c.r.findTemplate(c.p.str("LaunchTemplateId"), c.p.str("LaunchTemplateName"))
		if err != nil {
			return nil, err
		}
		templates = []*LaunchTemplate{lt}
	} else {
		// Without a template, EC2 only answers $Latest/$Default across all.
		for _, s := range specs {
			if s != "$Latest" && s != "$Default" {
				return nil, errMissingParameter("LaunchTemplateId or LaunchTemplateName")
			}
		}
		if len(specs) == 0 {
			return nil, errMissingParameter("LaunchTemplateId or LaunchTemplateName")
		}
		for _, id := range c.r.templateIdx.all() {
			templates = append(templates, c.r.templates[id])
		}
	}
	var refs []versionRef
	for _, lt := range templates {
		if len(specs) > 0 {
			seen := map[int]bool{}
			for _, s := range specs {
				v, err := lt.resolve(s)
				if err != nil {
					return nil, err
				}
				if !seen[v.Number] {
					seen[v.Number] = true
					refs = append(refs, versionRef{lt, v})
				}
			}
			continue
		}
		for _, v := range lt.Versions {
			if (minV == 0 || v.Number >= minV) && (maxV == 0 || v.Number <= maxV) {
				refs = append(refs, versionRef{lt, v})
			}
		}
	}
	start := 0
	if tok := c.p.str("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err == nil {
			start, err = strconv.Atoi(string(b))
		}
		if err != nil || start < 0 || start > len(refs) {
			return nil, errInvalidParameterValue("Unable to parse pagination token")
		}
	}
	resp := &describeVersionsResponse{}
	i := start
	for ; i < len(refs); i++ {
		if !matches(filters, versionAttr, refs[i]) {
			continue
		}
		if maxResults > 0 && len(resp.Versions) == maxResults {
			resp.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i)))
			break
		}
		resp.Versions = append(resp.Versions, xmlVersion(refs[i].lt, refs[i].v))
	}
	return resp, nil
}

// LaunchTemplates returns copies of the launch templates of account in
// region, sorted by id.
func (s *Sim) LaunchTemplates(account, regionName string) []LaunchTemplate {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	out := make([]LaunchTemplate, 0, len(r.templates))
	for _, id := range r.templateIdx.all() {
		out = append(out, r.templates[id].view())
	}
	return out
}
