// Package ec2rate holds EC2's documented request-rate limits: which token
// bucket each API action draws from and the bucket's default size. The
// client-side pacer (cloud.Pacer), the emulator (cloud/ec2sim) and the
// benchmarks' throttling model (bench.ModelSeconds) all read them from here,
// so the three cannot disagree.
//
// Source: "Request throttling for the Amazon EC2 API", Amazon EC2 developer
// guide, https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html,
// sections "Request rate limiting" and "Request token bucket sizes and refill
// rates". EC2 meters requests per account and region in token buckets, and
// "each API is evaluated individually": every action has a bucket of its
// own, sized by the action's category unless the "Uncategorized actions"
// table gives it its own size. Each request, retries included, takes one
// token.
//
// RunInstances, StartInstances, StopInstances and TerminateInstances also
// draw on a resource token bucket of their own, one token per instance the
// request acts on ("Resource rate limiting", "Resource token bucket sizes
// and refill rates"); a request needs both buckets to hold enough.
//
// Not modelled: the console's own buckets. Accounts can have their limits
// raised on request; these are the defaults.
package ec2rate

import "strings"

// Bucket is a token bucket: Burst requests at once (the documented "bucket
// maximum capacity"), refilled at PerSecond (the "bucket refill rate").
type Bucket struct {
	Burst     int
	PerSecond float64
}

// The category sizes of the table "Request token bucket sizes and refill
// rates".
var (
	// NonMutating is the bucket of Describe*, List*, Search* and Get*
	// actions.
	NonMutating = Bucket{Burst: 100, PerSecond: 20}
	// UnfilteredNonMutating is the smaller bucket that the actions of
	// unfilteredActions draw from when asked with neither a filter nor
	// pagination.
	UnfilteredNonMutating = Bucket{Burst: 50, PerSecond: 10}
	// Mutating is the bucket of every other action.
	Mutating = Bucket{Burst: 50, PerSecond: 5}
	// ResourceIntensive is the bucket of the mutating actions of
	// resourceIntensive, "throttled separately from other mutating actions".
	ResourceIntensive = Bucket{Burst: 50, PerSecond: 5}
)

// unfilteredActions are the "Unfiltered and unpaginated non-mutating
// actions" of the table.
var unfilteredActions = map[string]bool{
	"DescribeInstances":            true,
	"DescribeInstanceStatus":       true,
	"DescribeNetworkInterfaces":    true,
	"DescribeSecurityGroups":       true,
	"DescribeSnapshots":            true,
	"DescribeSpotInstanceRequests": true,
	"DescribeVolumes":              true,
}

// resourceIntensive are the "Resource-intensive actions" of the table.
var resourceIntensive = map[string]bool{
	"AcceptVpcPeeringConnection":    true,
	"AuthorizeSecurityGroupIngress": true,
	"CancelSpotInstanceRequests":    true,
	"CreateKeyPair":                 true,
	"CreateVpcPeeringConnection":    true,
	"DeleteVpcPeeringConnection":    true,
	"RejectVpcPeeringConnection":    true,
	"RevokeSecurityGroupIngress":    true,
	"RequestSpotInstances":          true,
}

// uncategorized are the rows of the "Uncategorized actions" table for the
// actions launchwarden calls or the emulator serves; an action missing here
// takes its category's size.
var uncategorized = map[string]Bucket{
	"CreateLaunchTemplateVersion": {Burst: 100, PerSecond: 5},
	"CreateTags":                  {Burst: 100, PerSecond: 10},
	"DeleteTags":                  {Burst: 100, PerSecond: 10},
	"DeregisterImage":             {Burst: 100, PerSecond: 5},
	"ModifyLaunchTemplate":        {Burst: 100, PerSecond: 5},
	"RunInstances":                {Burst: 5, PerSecond: 2},
	"StartInstances":              {Burst: 5, PerSecond: 2},
	"TerminateInstances":          {Burst: 100, PerSecond: 5},
}

// unfilteredSuffix names the smaller bucket of an unfiltered, unpaginated
// request, e.g. "DescribeInstances unfiltered".
const unfilteredSuffix = " unfiltered"

// RequestBucket returns the name and default size of the bucket a request
// for action draws from. unfiltered says that the request has neither a
// filter nor pagination (no Filter, MaxResults or NextToken), which for
// some Describe actions means a smaller bucket.
func RequestBucket(action string, unfiltered bool) (string, Bucket) {
	if unfiltered && unfilteredActions[action] {
		return action + unfilteredSuffix, UnfilteredNonMutating
	}
	return action, Default(action)
}

// Default returns the default size of action's own bucket, for filtered
// or paginated requests.
func Default(action string) Bucket {
	if b, ok := uncategorized[action]; ok {
		return b
	}
	if resourceIntensive[action] {
		return ResourceIntensive
	}
	for _, prefix := range []string{"Describe", "List", "Search", "Get"} {
		if strings.HasPrefix(action, prefix) {
			return NonMutating
		}
	}
	return Mutating
}

// resourceBuckets are the table "Resource token bucket sizes and refill
// rates": one token per instance.
var resourceBuckets = map[string]Bucket{
	"RunInstances":       {Burst: 1000, PerSecond: 2},
	"TerminateInstances": {Burst: 1000, PerSecond: 20},
	"StartInstances":     {Burst: 1000, PerSecond: 2},
	"StopInstances":      {Burst: 1000, PerSecond: 20},
}

// resourceSuffix names an action's resource bucket, e.g. "StopInstances
// instances".
const resourceSuffix = " instances"

// ResourceBucket returns the name and default size of the resource bucket
// of action, which counts instances, and whether action has one.
func ResourceBucket(action string) (string, Bucket, bool) {
	b, ok := resourceBuckets[action]
	return action + resourceSuffix, b, ok
}
