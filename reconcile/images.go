package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
)

// Tags launchwarden keeps for image refreshes and held templates.
const (
	// TagImage on a launch template names the image its default version
	// launches, "<ami-id> <name>": what a refresh announces as the old
	// image, and what pin = true keeps, without describing it again.
	TagImage = cloud.TagImage
	// TagHeld on a template's security group is the hash of the problems
	// that hold the template back in that region, so that they are
	// announced once rather than every run.
	TagHeld = "launchwarden:held"
)

// LookupsFor returns what a region's plan needs besides what launchwarden
// owns: the templates' instance types and images, and the admin's network.
func LookupsFor(cfg *projects.Config, account, region string) cloud.Lookups {
	var l cloud.Lookups
	// A contested project may be unfrozen once the observation settles its
	// channel (see Observe): what its templates need is looked up too.
	for _, p := range slices.Concat(cfg.Projects, cfg.Contested()) {
		for i := range p.Templates {
			t := &p.Templates[i]
			l.InstanceTypes = append(l.InstanceTypes, t.InstanceType)
			if id := t.ImageID(region); id != "" {
				l.ImageIDs = append(l.ImageIDs, id)
			}
			if s := t.ImageSelector; s != nil {
				l.Selectors = append(l.Selectors, imageQuery(s))
			}
		}
	}
	if cfg.Admin != nil {
		if a := adminAccount(cfg.Admin, account); a != nil {
			n := a.Network(region)
			q := &cloud.NetworkQuery{VPCID: n.VPCID, VPCWhere: adminWhere(n.VPCLine), SubnetIDs: n.SubnetIDs}
			for _, line := range n.SubnetLines {
				q.SubnetWhere = append(q.SubnetWhere, adminWhere(line))
			}
			l.Network = q
		}
	}
	return l
}

func imageQuery(s *projects.ImageSelector) cloud.ImageQuery {
	return cloud.ImageQuery{Owners: s.Owners, Name: s.Name, Architecture: s.Architecture}
}

// adminWhere is "launchwarden.toml:<line>".
func adminWhere(line int) string {
	if line == 0 {
		return projects.AdminFile
	}
	return fmt.Sprintf("%s:%d", projects.AdminFile, line)
}

// adminAccount returns the admin file's account with the given id.
func adminAccount(admin *projects.Admin, account string) *projects.Account {
	for i, a := range admin.AWS.Accounts {
		if a.ID == account || a.Name == account {
			return &admin.AWS.Accounts[i]
		}
	}
	return nil
}

// newestImage picks the image a selector resolves to, as Karpenter ranks
// them: a non-deprecated image before a deprecated one, then the newest
// creation date, then the greater name. ok is false when nothing matched.
func newestImage(matches []cloud.Image, now time.Time) (cloud.Image, bool) {
	if len(matches) == 0 {
		return cloud.Image{}, false
	}
	best := slices.MaxFunc(matches, func(a, b cloud.Image) int {
		if da, db := a.Deprecated(now), b.Deprecated(now); da != db {
			if da {
				return -1
			}
			return 1
		}
		return cmp.Or(a.CreationDate.Compare(b.CreationDate), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return best, true
}

// currentImage splits a template's TagImage value into id and name.
func currentImage(cur *cloud.Template) (id, name string) {
	if cur == nil {
		return "", ""
	}
	id, name, _ = strings.Cut(cur.Tags[TagImage], " ")
	return id, name
}

// imageTag is the TagImage value for an image.
func imageTag(im cloud.Image) string { return strings.TrimSpace(im.ID + " " + im.Name) }

// placement is where a template launches in a region: the image, and the
// subnet (and zone) of its primary network interface.
type placement struct {
	image            cloud.Image
	subnetID, zone   string
	publicIP         *bool
	previousImage    string // the name of the image the template used, when it changes
	previousImageID  string
	keptPinnedImage  bool
	imageFromMatches bool
}

// place resolves a template's image, checks it against the instance type
// and volume size, and picks its subnet. Problems name the project file's
// line; a template with problems is not written in this region.
func place(p *projects.Project, t *projects.Template, snap *cloud.Snapshot, cur *cloud.Template, network projects.Network, now time.Time) (placement, []string) {
	var pl placement
	var problems []string
	at := func(key string) string { return fmt.Sprintf("%s:%d", p.File, t.Line(key)) }
	curID, curName := currentImage(cur)

	switch {
	case t.ImageSelector != nil:
		s := t.ImageSelector
		matches := snap.Matches[imageQuery(s).Key()]
		newest, ok := newestImage(matches, now)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: image: no available %s image named %q owned by %s in %s",
				at("image"), s.Architecture, s.Name, strings.Join(s.Owners, ", "), snap.Region))
			break
		}
		pl.image = newest
		if s.Pin && curID != "" {
			if i := slices.IndexFunc(matches, func(im cloud.Image) bool { return im.ID == curID }); i >= 0 {
				pl.image, pl.keptPinnedImage = matches[i], true
			}
		}
	default:
		id := t.ImageID(snap.Region)
		key := "image"
		if t.Images != nil {
			key = "images"
		}
		im, ok := snap.Images[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s: image %s is not available in %s", at(key), key, id, snap.Region))
			break
		}
		pl.image = im
	}
	if curID != "" && pl.image.ID != "" && curID != pl.image.ID {
		pl.previousImage, pl.previousImageID = cmp.Or(curName, curID), curID
	}

	if im := pl.image; im.ID != "" {
		it, ok := snap.InstanceTypes[t.InstanceType]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: instance_type: %s is not offered in %s", at("instance_type"), t.InstanceType, snap.Region))
		case im.Architecture != "" && len(it.Architectures) > 0 && !slices.Contains(it.Architectures, im.Architecture):
			problems = append(problems, fmt.Sprintf("%s: instance_type: %s runs %s, not %s, the architecture of image %s (%s)",
				at("instance_type"), t.InstanceType, strings.Join(it.Architectures, " and "), im.Architecture, im.Name, im.ID))
		}
		if t.VolumeGiB > 0 && int32(t.VolumeGiB) < im.RootVolumeGiB {
			problems = append(problems, fmt.Sprintf("%s: volume_gib: %d GiB is smaller than the %d GiB snapshot of image %s (%s); use at least %d or leave volume_gib out",
				at("volume_gib"), t.VolumeGiB, im.RootVolumeGiB, im.Name, im.ID, im.RootVolumeGiB))
		}
	}

	pl.publicIP = network.PublicIP
	switch {
	case len(snap.Subnets) == 0:
		// The default VPC: EC2 picks its default subnet (in the zone, if set).
		pl.zone = t.AvailabilityZone
	case t.AvailabilityZone == "":
		pl.subnetID = snap.Subnets[0].ID
	default:
		i := slices.IndexFunc(snap.Subnets, func(s cloud.Subnet) bool { return s.AvailabilityZone == t.AvailabilityZone })
		if i < 0 {
			var zones []string
			for _, s := range snap.Subnets {
				zones = append(zones, s.AvailabilityZone)
			}
			slices.Sort(zones)
			problems = append(problems, fmt.Sprintf("%s: availability_zone: no configured subnet of %s is in %s (zones: %s)",
				at("availability_zone"), snap.Region, t.AvailabilityZone, strings.Join(slices.Compact(zones), ", ")))
			break
		}
		pl.subnetID = snap.Subnets[i].ID
	}
	return pl, problems
}
