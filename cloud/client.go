package cloud

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Page and batch sizes are EC2's own maxima: fewer calls means fewer
// throttles, and rate limits, not CPU, bound a run.
const (
	maxInstancesPage      = 1000 // DescribeInstances MaxResults
	maxTemplatesPage      = 200  // DescribeLaunchTemplates MaxResults
	maxGroupsPage         = 1000 // DescribeSecurityGroups MaxResults
	maxInstanceTypesBatch = 100  // DescribeInstanceTypes InstanceTypes and MaxResults
	maxIDsPerCall         = 1000 // Stop/TerminateInstances InstanceIds, CreateTags/DeleteTags Resources
)

// Client is launchwarden's access to EC2 in one account and region.
type Client struct {
	// Account is the AWS account ID and Region the region the client works in.
	Account, Region string
	// Keys verify the state tags Observe reads and sign those WriteState
	// writes; nil verifies nothing and signs nothing.
	Keys *StateKeys
	// InstanceTypes, if set, remembers the instance types Observe described
	// beyond this client's life (see InstanceTypeCache); nil describes the
	// types in use on every observation.
	InstanceTypes *InstanceTypeCache
	api           EC2
	// sts, name and where serve VerifyAccounts: the account's STS client, its
	// name and where it is configured.
	sts         STS
	name, where string
}

// NewClient returns a Client that calls api for the given account and region.
// Wrap api with ReadOnly to make every write fail without reaching EC2.
func NewClient(api EC2, account, region string) *Client {
	return &Client{Account: account, Region: region, api: api}
}

// ReadOnly returns a client for the same account and region whose writes all
// fail with ErrReadOnly without reaching EC2 (see the ReadOnly function).
func (c *Client) ReadOnly() *Client {
	ro := *c
	ro.api = ReadOnly(c.api)
	return &ro
}

// String returns "account/region", for messages.
func (c *Client) String() string { return c.Account + "/" + c.Region }

// Observe lists everything launchwarden owns in the client's region:
// templates and security groups tagged with TagManaged, the instances that
// might be ours (see observeInstances) and the instance types in use.
// Filters are applied by EC2, so untagged resources are never even read.
//
// Observation is all or nothing: if any page of any listing fails (after the
// SDK's retries), Observe returns an error and no snapshot, because a partial
// inventory would undercount quotas and could lead to wrong action.
// SDK outputs are converted page by page and dropped, to keep memory flat.
func (c *Client) Observe(ctx context.Context) (*Snapshot, error) {
	return c.ObserveWith(ctx, Lookups{})
}

// ObserveWith is Observe plus the lookups a plan needs (see Lookups). A
// configured network that is not as configured fails it with a
// *NetworkError.
func (c *Client) ObserveWith(ctx context.Context, l Lookups) (*Snapshot, error) {
	snap := &Snapshot{Account: c.Account, Region: c.Region}
	if err := c.observeNetwork(ctx, l.Network, snap); err != nil {
		return nil, err
	}
	if err := c.observeTemplates(ctx, snap); err != nil {
		return nil, err
	}
	if err := c.observeInstances(ctx, snap); err != nil {
		return nil, err
	}
	if err := c.observeSecurityGroups(ctx, snap); err != nil {
		return nil, err
	}
	if err := c.observeInstanceTypes(ctx, l.InstanceTypes, snap); err != nil {
		return nil, err
	}
	if err := c.observeImages(ctx, l, snap); err != nil {
		return nil, err
	}
	return snap, nil
}

func tagKeyFilter(keys ...string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String("tag-key"), Values: keys}}
}

// observeInstances lists, in one paged call, the instances that carry EC2's
// launch template tag, TagProject or TagAdopted (a filter's values are
// ORed), and keeps those that launchwarden might owe something: launched
// from a template, or labelled by someone. Which of them are ours is
// decided as newInstance says, from the managed templates observed before
// (snap.Templates). Terminated instances stay visible in EC2 for a while;
// they are left out since nothing is owed to them.
func (c *Client) observeInstances(ctx context.Context, snap *Snapshot) error {
	reader := newInstanceReader(c.Account, c.Region, ownersOf(snap), c.Keys)
	p := ec2.NewDescribeInstancesPaginator(c.api, &ec2.DescribeInstancesInput{
		Filters:    tagKeyFilter(tagLaunchTemplateID, TagProject, TagAdopted),
		MaxResults: aws.Int32(maxInstancesPage),
	})
	// Each page is read into a slice of its own size and the pages are
	// joined once at the end: appending 100,000 instances of 400 bytes one
	// by one would copy and allocate the growing slice about five times
	// over (append grows large slices by a quarter).
	pages := [][]Instance{snap.Instances}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		snap.Calls++
		if err != nil {
			return fmt.Errorf("listing instances in %s: %w", c, err)
		}
		n := 0
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
		page := make([]Instance, 0, n)
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if in.State != nil && in.State.Name == ec2types.InstanceStateNameTerminated {
					continue
				}
				i := reader.read(in)
				if i.Project == "" && i.LabelProject == "" && len(i.Forged) == 0 {
					continue // launched from someone else's template: none of our business
				}
				page = append(page, i)
			}
		}
		pages = append(pages, page)
	}
	snap.Instances = slices.Concat(pages...)
	return nil
}

func (c *Client) observeTemplates(ctx context.Context, snap *Snapshot) error {
	p := ec2.NewDescribeLaunchTemplatesPaginator(c.api, &ec2.DescribeLaunchTemplatesInput{
		Filters:    tagKeyFilter(TagManaged),
		MaxResults: aws.Int32(maxTemplatesPage),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		snap.Calls++
		if err != nil {
			return fmt.Errorf("listing launch templates in %s: %w", c, err)
		}
		for _, lt := range out.LaunchTemplates {
			snap.Templates = append(snap.Templates, newTemplate(lt, c.Account, c.Region, c.Keys))
		}
	}
	return nil
}

func (c *Client) observeSecurityGroups(ctx context.Context, snap *Snapshot) error {
	p := ec2.NewDescribeSecurityGroupsPaginator(c.api, &ec2.DescribeSecurityGroupsInput{
		Filters:    tagKeyFilter(TagManaged),
		MaxResults: aws.Int32(maxGroupsPage),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		snap.Calls++
		if err != nil {
			return fmt.Errorf("listing security groups in %s: %w", c, err)
		}
		for _, sg := range out.SecurityGroups {
			snap.SecurityGroups = append(snap.SecurityGroups, newSecurityGroup(sg, c.Account, c.Region, c.Keys))
		}
	}
	return nil
}

// observeInstanceTypes describes only the types in use, up to 100 per call:
// those of the observed instances, so that vCPU quotas can be checked, and
// the extra ones (the templates'), whose architectures must fit their images.
// Types c.InstanceTypes remembers are not described again.
func (c *Client) observeInstanceTypes(ctx context.Context, extra []string, snap *Snapshot) error {
	seen := make(map[string]bool)
	snap.InstanceTypes = make(map[string]InstanceType)
	var names []ec2types.InstanceType
	add := func(t string) {
		if t == "" || seen[t] {
			return
		}
		seen[t] = true
		if it, ok := c.InstanceTypes.get(c.Account, c.Region, t); ok {
			snap.InstanceTypes[t] = it
			return
		}
		names = append(names, ec2types.InstanceType(t))
	}
	for _, in := range snap.Instances {
		add(in.Type)
	}
	for _, t := range extra {
		add(t)
	}
	slices.Sort(names)
	for batch := range slices.Chunk(names, maxInstanceTypesBatch) {
		err := c.describeInstanceTypes(ctx, batch, snap)
		if IsNotFound(err) && len(batch) > 1 {
			// A type the region does not offer (a template's typo, say)
			// fails the whole call: find the others one by one. Such a type
			// is left out of InstanceTypes, for the planner to report.
			for _, name := range batch {
				if err := c.describeInstanceTypes(ctx, []ec2types.InstanceType{name}, snap); err != nil && !IsNotFound(err) {
					return err
				}
			}
			continue
		}
		if err != nil && !IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (c *Client) describeInstanceTypes(ctx context.Context, names []ec2types.InstanceType, snap *Snapshot) error {
	p := ec2.NewDescribeInstanceTypesPaginator(c.api, &ec2.DescribeInstanceTypesInput{
		InstanceTypes: names,
		MaxResults:    aws.Int32(maxInstanceTypesBatch),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		snap.Calls++
		if err != nil {
			return fmt.Errorf("describing instance types in %s: %w", c, err)
		}
		for _, it := range out.InstanceTypes {
			t := newInstanceType(it)
			snap.InstanceTypes[t.Name] = t
			c.InstanceTypes.put(c.Account, c.Region, t)
		}
	}
	return nil
}

// BatchResult is the outcome of a batched write, per ID.
type BatchResult struct {
	// Done holds the IDs the write succeeded for.
	Done []string
	// Failed maps each ID the write failed for to its error.
	Failed map[string]error
}

func (r *BatchResult) fail(ids []string, err error) {
	if r.Failed == nil {
		r.Failed = make(map[string]error, len(ids))
	}
	for _, id := range ids {
		r.Failed[id] = err
	}
}

// batch calls write with at most maxIDsPerCall IDs at a time. EC2 fails a whole
// call when a single ID is bad (not found, protected, in the wrong state), acts
// on none of them and names only the first offender. Such a batch is split in
// halves until the bad IDs stand alone, so one bad ID neither blocks the others
// nor costs a call per ID: k bad IDs among n cost about 2·k·log2(n) calls.
func batch(ctx context.Context, ids []string, write func(context.Context, []string) error) BatchResult {
	var res BatchResult
	for chunk := range slices.Chunk(ids, maxIDsPerCall) {
		res.split(ctx, chunk, write)
	}
	return res
}

func (r *BatchResult) split(ctx context.Context, ids []string, write func(context.Context, []string) error) {
	err := write(ctx, ids)
	switch {
	case err == nil:
		r.Done = append(r.Done, ids...)
	case len(ids) > 1 && isPerInstance(err) && ctx.Err() == nil:
		mid := len(ids) / 2
		r.split(ctx, ids[:mid], write)
		r.split(ctx, ids[mid:], write)
	default:
		r.fail(ids, err)
	}
}

// StopInstances stops the instances, at most 1000 per call.
func (c *Client) StopInstances(ctx context.Context, ids []string) BatchResult {
	return batch(ctx, ids, func(ctx context.Context, ids []string) error {
		_, err := c.api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
		if err != nil {
			return fmt.Errorf("stopping instances in %s: %w", c, err)
		}
		return nil
	})
}

// TerminateInstances terminates the instances, at most 1000 per call.
func (c *Client) TerminateInstances(ctx context.Context, ids []string) BatchResult {
	return batch(ctx, ids, func(ctx context.Context, ids []string) error {
		_, err := c.api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
		if err != nil {
			return fmt.Errorf("terminating instances in %s: %w", c, err)
		}
		return nil
	})
}

// CreateTags sets the same tags on all the resources, at most 1000 per call.
func (c *Client) CreateTags(ctx context.Context, ids []string, tags map[string]string) BatchResult {
	sdk := sdkTags(tags)
	return batch(ctx, ids, func(ctx context.Context, ids []string) error {
		_, err := c.api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: sdk})
		if err != nil {
			return fmt.Errorf("tagging resources in %s: %w", c, err)
		}
		return nil
	})
}

// DeleteTags removes the tag keys, whatever their values, from all the
// resources, at most 1000 per call.
func (c *Client) DeleteTags(ctx context.Context, ids []string, keys []string) BatchResult {
	sdk := make([]ec2types.Tag, 0, len(keys))
	for _, k := range slices.Sorted(slices.Values(keys)) {
		sdk = append(sdk, ec2types.Tag{Key: aws.String(k)})
	}
	return batch(ctx, ids, func(ctx context.Context, ids []string) error {
		_, err := c.api.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids, Tags: sdk})
		if err != nil {
			return fmt.Errorf("untagging resources in %s: %w", c, err)
		}
		return nil
	})
}

// TagChange is one CreateTags request: the same tags on every ID.
type TagChange struct {
	IDs  []string
	Tags map[string]string
}

// TagGroups turns per-resource tag changes (ID → tags to set) into as few
// CreateTags requests as possible: IDs that share a tag key and value go in one
// request, and tags that go to exactly the same IDs are merged. A run typically
// writes the same notice stage to many instances, so this is one call per
// distinct value rather than one per instance. The result is sorted so plans
// and tests are deterministic; CreateTags splits requests over 1000 IDs.
func TagGroups(changes map[string]map[string]string) []TagChange {
	type tag struct{ key, value string }
	idsByTag := make(map[tag][]string)
	for id, tags := range changes {
		for k, v := range tags {
			idsByTag[tag{k, v}] = append(idsByTag[tag{k, v}], id)
		}
	}
	byIDs := make(map[string]*TagChange)
	for t, ids := range idsByTag {
		slices.Sort(ids)
		key := strings.Join(ids, ",")
		tc := byIDs[key]
		if tc == nil {
			tc = &TagChange{IDs: ids, Tags: make(map[string]string)}
			byIDs[key] = tc
		}
		tc.Tags[t.key] = t.value
	}
	out := make([]TagChange, 0, len(byIDs))
	for _, key := range slices.Sorted(maps.Keys(byIDs)) {
		out = append(out, *byIDs[key])
	}
	return out
}

// ApplyTags writes per-resource tag changes (ID → tags to set) with the fewest
// CreateTags calls (see TagGroups). An ID is Done only if all its tags were set.
func (c *Client) ApplyTags(ctx context.Context, changes map[string]map[string]string) BatchResult {
	var res BatchResult
	for _, tc := range TagGroups(changes) {
		r := c.CreateTags(ctx, tc.IDs, tc.Tags)
		for id, err := range r.Failed {
			res.fail([]string{id}, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(changes)) {
		if _, failed := res.Failed[id]; !failed {
			res.Done = append(res.Done, id)
		}
	}
	return res
}

// ownersOf maps the ID of each managed template of snap to the project and
// template that own the instances it launched.
func ownersOf(snap *Snapshot) map[string]owner {
	owners := make(map[string]owner, len(snap.Templates))
	for _, t := range snap.Templates {
		if t.Managed {
			owners[t.ID] = owner{t.Project, t.TemplateName}
		}
	}
	return owners
}
