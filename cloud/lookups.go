package cloud

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// maxImagesPage is DescribeImages' MaxResults maximum.
const maxImagesPage = 1000

// Lookups are the reads a region's plan needs besides what launchwarden
// owns: the instance types, images and network its templates name. Each kind
// costs the fewest calls EC2 allows: instance types share the calls that
// describe the observed instances' types, all image ids go in one
// DescribeImages, each distinct selector in one more, and the network in one
// DescribeSubnets.
type Lookups struct {
	InstanceTypes []string
	ImageIDs      []string
	Selectors     []ImageQuery
	// Network, if set, is checked: every subnet must exist and be in the VPC.
	Network *NetworkQuery
}

// ImageQuery finds the available images of some owners whose name matches a
// pattern, for one architecture.
type ImageQuery struct {
	Owners       []string
	Name         string
	Architecture string
}

// Key identifies the query in Snapshot.Matches.
func (q ImageQuery) Key() string {
	return strings.Join(q.Owners, ",") + "|" + q.Name + "|" + q.Architecture
}

// NetworkQuery is a region's configured VPC and subnets. Where fields say
// where each id is written (e.g. "launchwarden.toml:12"), for the error
// that aborts a run over it.
type NetworkQuery struct {
	VPCID, VPCWhere string
	SubnetIDs       []string
	SubnetWhere     []string
}

// Image is an AMI as launchwarden uses it.
type Image struct {
	ID, Name, OwnerID string
	Architecture      string
	// RootDevice is the image's root device name ("/dev/xvda", "/dev/sda1");
	// RootVolumeGiB the size of its snapshot, the least a root volume may be.
	RootDevice      string
	RootVolumeGiB   int32
	CreationDate    time.Time
	DeprecationTime time.Time
}

// Deprecated reports whether the image is deprecated at now.
func (im Image) Deprecated(now time.Time) bool {
	return !im.DeprecationTime.IsZero() && !im.DeprecationTime.After(now)
}

// Subnet is a subnet a template may put instances in.
type Subnet struct {
	ID, VPCID, AvailabilityZone string
	// MapPublicIPOnLaunch is the subnet's own public IPv4 setting.
	MapPublicIPOnLaunch bool
}

// NetworkError is a configured VPC or subnet that is not as the admin file
// says. A run aborts on it before any action.
type NetworkError struct {
	Where, Account, Region, Problem string
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("%s: %s/%s: %s", cmp.Or(e.Where, "launchwarden.toml"), e.Account, e.Region, e.Problem)
}

func newImage(im ec2types.Image) Image {
	out := Image{
		ID:           aws.ToString(im.ImageId),
		Name:         aws.ToString(im.Name),
		OwnerID:      aws.ToString(im.OwnerId),
		Architecture: string(im.Architecture),
		RootDevice:   aws.ToString(im.RootDeviceName),
	}
	out.CreationDate, _ = time.Parse(time.RFC3339, aws.ToString(im.CreationDate))
	out.DeprecationTime, _ = time.Parse(time.RFC3339, aws.ToString(im.DeprecationTime))
	for _, bd := range im.BlockDeviceMappings {
		if aws.ToString(bd.DeviceName) == out.RootDevice && bd.Ebs != nil {
			out.RootVolumeGiB = aws.ToInt32(bd.Ebs.VolumeSize)
		}
	}
	return out
}

// observeImages describes the images named by id, in one call, and every
// image each selector matches, one paginated call per selector. Deprecated
// images are asked for too (DescribeImages hides them from non-owners
// otherwise) so that the planner can rank them last rather than lose them.
// An id EC2 does not know is left out of Images, not an error.
func (c *Client) observeImages(ctx context.Context, l Lookups, snap *Snapshot) error {
	snap.Images = map[string]Image{}
	ids := slices.Sorted(slices.Values(l.ImageIDs))
	ids = slices.Compact(ids)
	if len(ids) > 0 {
		err := c.describeImageIDs(ctx, ids, snap)
		if IsNotFound(err) {
			// One unknown id fails the whole call; find the others one by one.
			for _, id := range ids {
				if err := c.describeImageIDs(ctx, []string{id}, snap); err != nil && !IsNotFound(err) {
					return err
				}
			}
		} else if err != nil {
			return err
		}
	}
	snap.Matches = map[string][]Image{}
	for _, q := range l.Selectors {
		if _, done := snap.Matches[q.Key()]; done {
			continue
		}
		matches := []Image{}
		p := ec2.NewDescribeImagesPaginator(c.api, &ec2.DescribeImagesInput{
			Owners: q.Owners,
			Filters: []ec2types.Filter{
				{Name: aws.String("name"), Values: []string{q.Name}},
				{Name: aws.String("architecture"), Values: []string{q.Architecture}},
				{Name: aws.String("state"), Values: []string{"available"}},
			},
			IncludeDeprecated: aws.Bool(true),
			MaxResults:        aws.Int32(maxImagesPage),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			snap.Calls++
			if err != nil {
				return fmt.Errorf("describing images %q of %s in %s: %w", q.Name, strings.Join(q.Owners, ", "), c, err)
			}
			for _, im := range out.Images {
				matches = append(matches, newImage(im))
			}
		}
		snap.Matches[q.Key()] = matches
	}
	return nil
}

func (c *Client) describeImageIDs(ctx context.Context, ids []string, snap *Snapshot) error {
	out, err := c.api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: ids, IncludeDeprecated: aws.Bool(true)})
	snap.Calls++
	if err != nil {
		return fmt.Errorf("describing images %s in %s: %w", strings.Join(ids, ", "), c, err)
	}
	for _, im := range out.Images {
		if im.State == ec2types.ImageStateAvailable || im.State == "" {
			i := newImage(im)
			snap.Images[i.ID] = i
		}
	}
	return nil
}

// observeNetwork checks the configured VPC and subnets with one
// DescribeSubnets: by id when subnets are configured (each must exist and be
// in the VPC: a subnet's VPC proves the VPC exists), else by the VPC's id
// (it must have a subnet). Only when something is wrong does it spend more
// calls, to say what. No configured network costs nothing: templates then
// name no subnet and EC2 uses the default VPC.
func (c *Client) observeNetwork(ctx context.Context, q *NetworkQuery, snap *Snapshot) error {
	if q == nil || (q.VPCID == "" && len(q.SubnetIDs) == 0) {
		return nil
	}
	fail := func(where, format string, args ...any) error {
		return &NetworkError{Where: where, Account: c.Account, Region: c.Region, Problem: fmt.Sprintf(format, args...)}
	}
	where := func(i int) string {
		if i < len(q.SubnetWhere) {
			return q.SubnetWhere[i]
		}
		return q.VPCWhere
	}
	if len(q.SubnetIDs) > 0 {
		subnets, err := c.describeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: q.SubnetIDs}, snap)
		if IsNotFound(err) {
			for i, id := range q.SubnetIDs {
				if _, err := c.describeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}}, snap); IsNotFound(err) {
					return fail(where(i), "subnet %s does not exist", id)
				} else if err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
		byID := map[string]Subnet{}
		for _, s := range subnets {
			byID[s.ID] = s
		}
		for i, id := range q.SubnetIDs {
			s, ok := byID[id]
			switch {
			case !ok:
				return fail(where(i), "subnet %s does not exist", id)
			case q.VPCID != "" && s.VPCID != q.VPCID:
				return fail(where(i), "subnet %s is in %s, not in the configured VPC %s", id, s.VPCID, q.VPCID)
			}
			snap.Subnets = append(snap.Subnets, s)
		}
		return nil
	}
	subnets, err := c.describeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{q.VPCID}}},
	}, snap)
	if err != nil {
		return err
	}
	if len(subnets) == 0 {
		_, err := c.api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{q.VPCID}})
		snap.Calls++
		switch {
		case IsNotFound(err):
			return fail(q.VPCWhere, "VPC %s does not exist", q.VPCID)
		case err != nil:
			return fmt.Errorf("describing VPC %s in %s: %w", q.VPCID, c, err)
		}
		return fail(q.VPCWhere, "VPC %s has no subnet", q.VPCID)
	}
	// Listed by VPC, subnets come in no documented order: zone, then id.
	slices.SortFunc(subnets, func(a, b Subnet) int {
		return cmp.Or(cmp.Compare(a.AvailabilityZone, b.AvailabilityZone), cmp.Compare(a.ID, b.ID))
	})
	snap.Subnets = subnets
	return nil
}

func (c *Client) describeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, snap *Snapshot) ([]Subnet, error) {
	var out []Subnet
	p := ec2.NewDescribeSubnetsPaginator(c.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		snap.Calls++
		if err != nil {
			return nil, fmt.Errorf("describing subnets in %s: %w", c, err)
		}
		for _, s := range page.Subnets {
			out = append(out, Subnet{
				ID:                  aws.ToString(s.SubnetId),
				VPCID:               aws.ToString(s.VpcId),
				AvailabilityZone:    aws.ToString(s.AvailabilityZone),
				MapPublicIPOnLaunch: aws.ToBool(s.MapPublicIpOnLaunch),
			})
		}
	}
	return out, nil
}

// AccountError is an account whose credentials are of another account than
// the admin file says. A run aborts on it before any action.
type AccountError struct {
	Where, Name, Want, Got string
}

func (e *AccountError) Error() string {
	return fmt.Sprintf("%s: account %s: the credentials are of account %s, not %s", cmp.Or(e.Where, "launchwarden.toml"), e.Name, e.Got, e.Want)
}

// VerifyAccounts asks STS, once per account, whose credentials each
// client's account works with (after assuming its role), and fails unless
// every one is the configured account id: acting in the wrong account would
// judge and destroy what belongs to someone else. Clients without STS (built
// by NewClient) are not checked.
func VerifyAccounts(ctx context.Context, clients []*Client) error {
	seen := map[string]bool{}
	var errs []error
	for _, c := range clients {
		if c.sts == nil || seen[c.Account] {
			continue
		}
		seen[c.Account] = true
		out, err := c.sts.GetCallerIdentity(ctx, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: account %s: asking STS whose credentials these are: %w", cmp.Or(c.where, "launchwarden.toml"), c.name, err))
			continue
		}
		if got := aws.ToString(out.Account); got != c.Account {
			errs = append(errs, &AccountError{Where: c.where, Name: c.name, Want: c.Account, Got: got})
		}
	}
	return errors.Join(errs...)
}
