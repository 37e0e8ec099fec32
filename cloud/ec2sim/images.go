package ec2sim

import (
	"errors"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Image is an AMI. Images are regional: an id exists in the one region the
// image was registered in, and every account there sees the image when it
// is public or its own (DescribeImages: "The images available to you
// include public images, private images that you own ...", EC2 API model
// botocore ec2/2016-11-15 service-2.json).
type Image struct {
	ID          string `json:"id,omitempty"`
	OwnerID     string `json:"owner_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// OwnerAlias is "amazon", "aws-marketplace" or "aws-backup-vault" for
	// images those owners publish (DescribeImages Owners and the
	// owner-alias filter), else empty.
	OwnerAlias      string            `json:"owner_alias,omitempty"`
	Architecture    string            `json:"architecture,omitempty"`     // "x86_64", "arm64", "i386"; default x86_64
	RootDeviceName  string            `json:"root_device_name,omitempty"` // default /dev/xvda
	RootVolumeGiB   int32             `json:"root_volume_gib,omitempty"`  // size of the root snapshot; default 8
	SnapshotID      string            `json:"snapshot_id,omitempty"`      // the root snapshot; generated
	State           string            `json:"state,omitempty"`            // default "available"
	CreationDate    time.Time         `json:"creation_date,omitzero"`     // default: the simulated now
	Public          bool              `json:"public,omitempty"`
	DeprecationTime time.Time         `json:"deprecation_time,omitzero"` // zero: never deprecated
	Tags            map[string]string `json:"tags,omitempty"`
}

// Image states (ImageState in the API model).
const (
	ImageAvailable = "available"
	ImagePending   = "pending"
	ImageFailed    = "failed"
	ImageDisabled  = "disabled"
)

// imageStore holds the images of every region.
type imageStore struct {
	byRegion map[string]map[string]*Image
	idx      map[string]*index
}

// AddImage registers img in region and returns its id, generating one
// ("ami-" and 17 hex digits) when img.ID is empty. Adding an existing id
// replaces that image. Empty fields take the defaults documented on Image;
// OwnerID defaults to the default account.
func (s *Sim) AddImage(region string, img Image) string {
	if region == "" {
		region = "us-east-1"
	}
	if img.ID == "" {
		img.ID = s.newID("ami")
	}
	if img.OwnerID == "" {
		img.OwnerID = s.opts.DefaultAccount
	}
	if img.Architecture == "" {
		img.Architecture = "x86_64"
	}
	if img.RootDeviceName == "" {
		img.RootDeviceName = "/dev/xvda"
	}
	if img.RootVolumeGiB == 0 {
		img.RootVolumeGiB = 8
	}
	if img.SnapshotID == "" {
		img.SnapshotID = s.newID("snap")
	}
	if img.State == "" {
		img.State = ImageAvailable
	}
	if img.CreationDate.IsZero() {
		img.CreationDate = s.Now()
	}
	img.Tags = maps.Clone(img.Tags)
	if img.Tags == nil {
		img.Tags = map[string]string{}
	}
	s.imagesMu.Lock()
	defer s.imagesMu.Unlock()
	m, ok := s.images.byRegion[region]
	if !ok {
		m = map[string]*Image{}
		s.images.byRegion[region] = m
		s.images.idx[region] = &index{}
	}
	if _, exists := m[img.ID]; !exists {
		s.images.idx[region].add(img.ID)
	}
	m[img.ID] = &img
	return img.ID
}

// Images returns copies of the images registered in region, sorted by id.
func (s *Sim) Images(region string) []Image {
	if region == "" {
		region = "us-east-1"
	}
	s.imagesMu.Lock()
	defer s.imagesMu.Unlock()
	x, ok := s.images.idx[region]
	if !ok {
		return []Image{}
	}
	out := make([]Image, 0, len(x.ids))
	for _, id := range x.all() {
		out = append(out, s.images.byRegion[region][id].view())
	}
	return out
}

func (img *Image) view() Image {
	c := *img
	c.Tags = maps.Clone(img.Tags)
	return c
}

// deprecated reports whether img is deprecated at now.
func (img *Image) deprecated(now time.Time) bool {
	return !img.DeprecationTime.IsZero() && !now.Before(img.DeprecationTime)
}

// image returns a copy of the image id in the call's region if the caller
// may launch it (public or its own). An id the region does not have is
// InvalidAMIID.NotFound; an image of another account that is not public
// exists but is not the caller's to use: AuthFailure, in EC2's words for
// RunInstances ("Not authorized for images: [ami-…]", as reported in
// StreisandEffect/streisand issue 82 and agentsea/surfkit issue 88).
func (c *call) image(id string) (Image, error) {
	if err := checkImageID(id); err != nil {
		return Image{}, err
	}
	c.sim.imagesMu.Lock()
	defer c.sim.imagesMu.Unlock()
	img, ok := c.sim.images.byRegion[c.r.name][id]
	if !ok {
		return Image{}, errImageNotFound(id)
	}
	if !img.Public && img.OwnerID != c.r.account {
		return Image{}, newError(http.StatusBadRequest, "AuthFailure", "Not authorized for images: [%s]", id)
	}
	return img.view(), nil
}

var imageIDPattern = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)

func checkImageID(id string) error {
	if !imageIDPattern.MatchString(id) {
		return newError(http.StatusBadRequest, "InvalidAMIID.Malformed", "Invalid id: %q (expecting \"ami-...\")", id)
	}
	return nil
}

// errImageNotFound is EC2's answer for images that do not exist or are not
// visible, in its words: "The image id '[ami-…]' does not exist" (as
// reported from RunInstances and DescribeImages, e.g. n8n-io/n8n-benchmarking
// issue 5).
func errImageNotFound(ids ...string) error {
	return newError(http.StatusBadRequest, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(ids, ", "))
}

// imageView is an image as one caller sees it in a DescribeImages call.
type imageView struct {
	*Image
	now time.Time
}

// imageAttr answers DescribeImages filters (names from the API model's
// DescribeImagesRequest.Filters documentation).
func imageAttr(name string, v imageView) ([]string, bool) {
	img := v.Image
	if img == nil {
		img = &Image{}
	}
	switch name {
	case "image-id":
		return []string{img.ID}, true
	case "name":
		return []string{img.Name}, true
	case "description":
		return []string{img.Description}, true
	case "architecture":
		return []string{img.Architecture}, true
	case "state":
		return []string{img.State}, true
	case "owner-id":
		return []string{img.OwnerID}, true
	case "owner-alias":
		return []string{img.OwnerAlias}, true
	case "is-public":
		return []string{strconv.FormatBool(img.Public)}, true
	case "root-device-name":
		return []string{img.RootDeviceName}, true
	case "root-device-type":
		return []string{"ebs"}, true
	case "image-type":
		return []string{"machine"}, true
	case "virtualization-type":
		return []string{"hvm"}, true
	case "hypervisor":
		return []string{"xen"}, true
	case "creation-date":
		return []string{wireTime(img.CreationDate)}, true
	case "block-device-mapping.device-name":
		return []string{img.RootDeviceName}, true
	case "block-device-mapping.snapshot-id":
		return []string{img.SnapshotID}, true
	case "block-device-mapping.volume-size":
		return []string{strconv.Itoa(int(img.RootVolumeGiB))}, true
	case "block-device-mapping.volume-type":
		return []string{"gp3"}, true
	case "block-device-mapping.encrypted", "block-device-mapping.delete-on-termination":
		return []string{strconv.FormatBool(name == "block-device-mapping.delete-on-termination")}, true
	}
	return tagAttr(name, img.Tags)
}

// imageOwners are DescribeImages's Owners values: account ids, "self" and
// the aliases the API model lists (amazon, aws-backup-vault,
// aws-marketplace).
func ownedBy(img *Image, owners []string, caller string) bool {
	if len(owners) == 0 {
		return true
	}
	for _, o := range owners {
		switch o {
		case "self":
			if img.OwnerID == caller {
				return true
			}
		case "amazon", "aws-marketplace", "aws-backup-vault":
			if img.OwnerAlias == o {
				return true
			}
		default:
			if img.OwnerID == o {
				return true
			}
		}
	}
	return false
}

type describeImagesResponse struct {
	meta
	Images    []xmlImage `xml:"imagesSet>item"`
	NextToken string     `xml:"nextToken,omitempty"`
}

type xmlImageEBS struct {
	SnapshotID          string `xml:"snapshotId"`
	VolumeSize          int32  `xml:"volumeSize"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	VolumeType          string `xml:"volumeType"`
	Encrypted           bool   `xml:"encrypted"`
}

type xmlImageBlockDevice struct {
	DeviceName string      `xml:"deviceName"`
	EBS        xmlImageEBS `xml:"ebs"`
}

// xmlImage follows the API model's Image shape (locationNames).
type xmlImage struct {
	ImageID            string                `xml:"imageId"`
	ImageLocation      string                `xml:"imageLocation"`
	State              string                `xml:"imageState"`
	OwnerID            string                `xml:"imageOwnerId"`
	CreationDate       string                `xml:"creationDate"`
	Public             bool                  `xml:"isPublic"`
	Architecture       string                `xml:"architecture"`
	ImageType          string                `xml:"imageType"`
	OwnerAlias         string                `xml:"imageOwnerAlias,omitempty"`
	Name               string                `xml:"name"`
	Description        string                `xml:"description,omitempty"`
	RootDeviceType     string                `xml:"rootDeviceType"`
	RootDeviceName     string                `xml:"rootDeviceName"`
	BlockDevices       []xmlImageBlockDevice `xml:"blockDeviceMapping>item"`
	VirtualizationType string                `xml:"virtualizationType"`
	Hypervisor         string                `xml:"hypervisor"`
	EnaSupport         bool                  `xml:"enaSupport"`
	PlatformDetails    string                `xml:"platformDetails"`
	UsageOperation     string                `xml:"usageOperation"`
	DeprecationTime    string                `xml:"deprecationTime,omitempty"`
	Tags               []xmlTag              `xml:"tagSet>item"`
}

// xmlImageOf describes an image. Its one block device mapping, the root's,
// is gp3 and deleted on termination: the emulator's own choice for every
// image it holds.
func xmlImageOf(img *Image) xmlImage {
	return xmlImage{
		ImageID:            img.ID,
		ImageLocation:      img.OwnerID + "/" + img.Name,
		State:              img.State,
		OwnerID:            img.OwnerID,
		CreationDate:       wireTime(img.CreationDate),
		Public:             img.Public,
		Architecture:       img.Architecture,
		ImageType:          "machine",
		OwnerAlias:         img.OwnerAlias,
		Name:               img.Name,
		Description:        img.Description,
		RootDeviceType:     "ebs",
		RootDeviceName:     img.RootDeviceName,
		BlockDevices:       []xmlImageBlockDevice{{DeviceName: img.RootDeviceName, EBS: xmlImageEBS{SnapshotID: img.SnapshotID, VolumeSize: img.RootVolumeGiB, DeleteOnTermination: true, VolumeType: "gp3"}}},
		VirtualizationType: "hvm",
		Hypervisor:         "xen",
		EnaSupport:         true,
		PlatformDetails:    "Linux/UNIX",
		UsageOperation:     "RunInstances",
		DeprecationTime:    wireTime(img.DeprecationTime),
		Tags:               xmlTags(img.Tags),
	}
}

// describeImages follows the API model's DescribeImages: images named by
// ImageId (each must exist and be visible, else InvalidAMIID.NotFound),
// scoped by Owners, filtered, paged by MaxResults/NextToken. Deprecated
// images are left out unless IncludeDeprecated is set, the caller owns
// them, or they are named by id ("If you are the AMI owner, all deprecated
// AMIs appear in the response regardless"; user guide ami-deprecate.md:
// describing by id returns them). Disabled images need IncludeDisabled.
func describeImages(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, imageAttr, imageView{}); err != nil {
		return nil, err
	}
	maxResults, err := pageSize(c.p, 5, 1000)
	if err != nil {
		return nil, err
	}
	ids := c.p.list("ImageId")
	for _, id := range ids {
		if err := checkImageID(id); err != nil {
			return nil, err
		}
	}
	owners := c.p.list("Owner")
	includeDeprecated, includeDisabled := c.p.boolean("IncludeDeprecated"), c.p.boolean("IncludeDisabled")
	caller := c.r.account

	c.sim.imagesMu.Lock()
	defer c.sim.imagesMu.Unlock()
	all := c.sim.images.byRegion[c.r.name]
	visible := func(img *Image) bool { return img != nil && (img.Public || img.OwnerID == caller) }
	resp := &describeImagesResponse{}
	if len(ids) > 0 {
		// An id the region does not have is InvalidAMIID.NotFound; a
		// private image of another account is left out of the answer
		// (agentsea/surfkit issue 88: describe-images --image-ids returned
		// no images for an AMI RunInstances was not authorized for).
		var missing []string
		for _, id := range ids {
			if all[id] == nil {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, errImageNotFound(missing...)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			img := all[id]
			if seen[id] || !visible(img) || !ownedBy(img, owners, caller) || !matches(filters, imageAttr, imageView{img, c.now}) {
				continue
			}
			seen[id] = true
			resp.Images = append(resp.Images, xmlImageOf(img))
		}
		return resp, nil
	}
	x := c.sim.images.idx[c.r.name]
	if x == nil {
		x = &index{}
	}
	page, next, err := x.page(c.p.str("NextToken"), maxResults, func(id string) bool {
		img := all[id]
		switch {
		case !visible(img), !ownedBy(img, owners, caller):
			return false
		case img.deprecated(c.now) && !includeDeprecated && img.OwnerID != caller:
			return false
		case img.State == ImageDisabled && !includeDisabled:
			return false
		}
		return matches(filters, imageAttr, imageView{img, c.now})
	})
	if err != nil {
		return nil, err
	}
	for _, id := range page {
		resp.Images = append(resp.Images, xmlImageOf(all[id]))
	}
	resp.NextToken = next
	return resp, nil
}

// imageNamePattern is RegisterImage's Name constraint in the API model:
// "3-128 alphanumeric characters, parentheses (()), square brackets ([]),
// spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('),
// at-signs (@), or underscores(_)".
var imageNamePattern = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)

type registerImageResponse struct {
	meta
	ImageID string `xml:"imageId"`
}

// registerImage adds an EBS-backed image owned by the caller. The root's
// size is the VolumeSize of the block device mapping on RootDeviceName
// (default 8 GiB). Architecture defaults to i386 as the API model says for
// EBS-backed AMIs. A name already used by one of the caller's images in
// the region is InvalidAMIName.Duplicate.
func registerImage(c *call) (response, error) {
	name := c.p.str("Name")
	if name == "" {
		return nil, errMissingParameter("Name")
	}
	if !imageNamePattern.MatchString(name) {
		return nil, errInvalidParameterValue("AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'")
	}
	// botocore ec2 2016-11-15: RegisterImageRequest.Architecture defaults to
	// i386 for EBS-backed AMIs; the values are the ArchitectureValues enum.
	arch := c.p.str("Architecture")
	switch arch {
	case "":
		arch = "i386"
	case "i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac":
	default:
		return nil, errInvalidParameterValue("Invalid value '%s' for architecture.", arch)
	}
	// The emulator's defaults (no AWS source): an image registered without a
	// root device name gets /dev/xvda, and without a root mapping an 8 GiB
	// snapshot.
	root := c.p.str("RootDeviceName")
	if root == "" {
		root = "/dev/xvda"
	}
	img := Image{
		OwnerID:        c.r.account,
		Name:           name,
		Description:    c.p.str("Description"),
		Architecture:   arch,
		RootDeviceName: root,
		RootVolumeGiB:  8,
		CreationDate:   c.now,
	}
	for _, it := range c.p.items("BlockDeviceMapping") {
		if it.str("DeviceName") != root {
			continue
		}
		size, err := it.sub("Ebs").integer("VolumeSize", 0)
		if err != nil {
			return nil, err
		}
		// EbsBlockDevice.VolumeSize: at most 65,536 GiB (gp3, io2).
		if size < 0 || size > 65536 {
			return nil, errInvalidParameterValue("Volume of %d GiB is out of range", size)
		}
		if size > 0 {
			img.RootVolumeGiB = int32(size)
		}
		img.SnapshotID = it.sub("Ebs").str("SnapshotId")
	}
	specs, err := parseTagSpecs(c.p)
	if err != nil {
		return nil, err
	}
	img.Tags = map[string]string{}
	for _, ts := range specs {
		// RegisterImageRequest.TagSpecifications: "the value for
		// ResourceType must be image. If you specify another value for
		// ResourceType, the request fails."
		if ts.ResourceType != "image" {
			return nil, errInvalidParameterValue("'%s' is not a valid taggable resource type for this operation.", ts.ResourceType)
		}
		for _, t := range ts.Tags {
			img.Tags[t.Key] = t.Value
		}
	}
	c.sim.imagesMu.Lock()
	for _, other := range c.sim.images.byRegion[c.r.name] {
		if other.OwnerID == c.r.account && other.Name == name {
			c.sim.imagesMu.Unlock()
			return nil, newError(http.StatusBadRequest, "InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.ID)
		}
	}
	c.sim.imagesMu.Unlock()
	return &registerImageResponse{ImageID: c.sim.AddImage(c.r.name, img)}, nil
}

// deregisterImage removes one of the caller's images: "A deregistered AMI
// can't be used to launch new instances" (API model). Instances already
// launched from it keep running. Another account's image is not the
// caller's to remove: AuthFailure "Not authorized for image:ami-…"
// (cloudcaptainsh/cloudcaptain issue 66).
func deregisterImage(c *call) (response, error) {
	id := c.p.str("ImageId")
	if id == "" {
		return nil, errMissingParameter("ImageId")
	}
	img, err := c.image(id)
	if err != nil && errorCodeOf(err) != "AuthFailure" {
		return nil, err
	}
	if err != nil || img.OwnerID != c.r.account {
		return nil, newError(http.StatusBadRequest, "AuthFailure", "Not authorized for image:%s", id)
	}
	c.sim.imagesMu.Lock()
	defer c.sim.imagesMu.Unlock()
	delete(c.sim.images.byRegion[c.r.name], id)
	c.sim.images.idx[c.r.name].remove(map[string]bool{id: true})
	return &returnResponse{Return: true}, nil
}

// errorCodeOf returns the EC2 error code of err, or "".
func errorCodeOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}
