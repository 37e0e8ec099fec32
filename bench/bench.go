// Package bench measures launchwarden runs at fleet scale against the EC2
// emulator, and decides what a run should cost at best: the fewest API calls
// a plan can be carried out with (LowerBound), and the least wall time those
// calls take under EC2's request-rate limits and a per-call latency
// (ModelSeconds). The benchmarks in this package compare measured runs with
// both; `go test ./bench -bench . -write-table` writes the results to
// README.md.
package bench

import (
	"maps"
	"slices"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2rate"
	"github.com/launchwarden/launchwarden/reconcile"
)

// Page and batch sizes of the EC2 calls launchwarden makes (see package cloud).
const (
	instancesPage     = 1000
	templatesPage     = 200
	groupsPage        = 1000
	instanceTypesPage = 100
	imagesPage        = 1000
	idsPerCall        = 1000
)

// Calls counts API calls by action, e.g. "DescribeInstances".
type Calls map[string]int

// Total is the number of calls of every action.
func (c Calls) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// LowerBound returns the fewest EC2 and STS calls that observing snap with
// the lookups l and carrying out rp (the plan of the same region) can take:
// the account's identity once (in the region identity is true for), one
// call per listing page, the instance types in use (the instances' and the
// templates') 100 per call, the images named by id in one call and one
// paged call per distinct selector, one DescribeSubnets where a network is
// configured, ⌈ids/1000⌉ per batched instance action and per distinct tag
// value, and the calls EC2's API needs for each security group and launch
// template change (a group and its rules take two; a new template version,
// its default and its spec tag take three).
func LowerBound(snap *cloud.Snapshot, l cloud.Lookups, identity bool, rp *reconcile.RegionPlan) Calls {
	return LowerBoundKnowing(snap, l, identity, rp, nil)
}

// LowerBoundKnowing is LowerBound for a run of a process that has described
// the instance types known before (serve, with a cloud.InstanceTypeCache):
// only the types in use that it does not know yet are described.
func LowerBoundKnowing(snap *cloud.Snapshot, l cloud.Lookups, identity bool, rp *reconcile.RegionPlan, known map[string]bool) Calls {
	types := map[string]bool{}
	for _, in := range snap.Instances {
		types[in.Type] = !known[in.Type]
	}
	for _, t := range l.InstanceTypes {
		types[t] = !known[t]
	}
	maps.DeleteFunc(types, func(_ string, describe bool) bool { return !describe })
	c := Calls{
		"DescribeInstances":       pages(len(snap.Instances), instancesPage),
		"DescribeLaunchTemplates": pages(len(snap.Templates), templatesPage),
		"DescribeSecurityGroups":  pages(len(snap.SecurityGroups), groupsPage),
	}
	if identity {
		c["GetCallerIdentity"] = 1
	}
	if len(types) > 0 {
		c["DescribeInstanceTypes"] = ceilDiv(len(types), instanceTypesPage)
	}
	images := 0
	if len(l.ImageIDs) > 0 {
		images++
	}
	selectors := map[string]bool{}
	for _, q := range l.Selectors {
		if !selectors[q.Key()] {
			selectors[q.Key()] = true
			images += pages(len(snap.Matches[q.Key()]), imagesPage)
		}
	}
	if images > 0 {
		c["DescribeImages"] = images
	}
	if n := l.Network; n != nil && (n.VPCID != "" || len(n.SubnetIDs) > 0) {
		c["DescribeSubnets"] = 1
	}
	if rp == nil {
		return c
	}
	// Each distinct value is one CreateTags per 1000 ids: expiries, notices,
	// the terminations recorded after stops (one value per project of the
	// run), labels (one per project and template); forged tags are removed
	// one DeleteTags per key.
	expires, notices, thens, labels := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	forged := map[string]int{}
	var clear, stop, terminate int
	for _, ic := range rp.Instances {
		if ic.Then != "" {
			thens[ic.Then]++
		}
		if ic.Label {
			labels[ic.Project+"/"+ic.Template]++
		}
		for _, k := range ic.Forged {
			forged[k]++
		}
		if ic.ExpiresAt != "" {
			expires[ic.ExpiresAt]++
		}
		if ic.ClearNotice {
			clear++
		}
		if ic.Notice != "" {
			notices[ic.Notice]++
		}
		switch {
		case !ic.Destructive():
		case ic.Action == "stop":
			stop++
		default:
			terminate++
		}
	}
	add := func(action string, n int) {
		if n > 0 {
			c[action] += n
		}
	}
	for _, byValue := range []map[string]int{expires, notices, thens, labels} {
		for _, n := range byValue {
			add("CreateTags", ceilDiv(n, idsPerCall))
		}
	}
	for _, n := range forged {
		add("DeleteTags", ceilDiv(n, idsPerCall))
	}
	add("DeleteTags", ceilDiv(clear, idsPerCall))
	add("StopInstances", ceilDiv(stop, idsPerCall))
	add("TerminateInstances", ceilDiv(terminate, idsPerCall))
	for _, g := range rp.Groups {
		switch g.Op {
		case reconcile.OpCreate:
			add("CreateSecurityGroup", 1)
			if len(g.Rules) > 0 {
				add("AuthorizeSecurityGroupIngress", 1)
			}
		case reconcile.OpAuthorize:
			add("AuthorizeSecurityGroupIngress", 1)
		case reconcile.OpRevoke:
			add("RevokeSecurityGroupIngress", 1)
		case reconcile.OpDelete:
			add("DeleteSecurityGroup", 1)
		}
	}
	for _, t := range rp.Templates {
		switch t.Op {
		case reconcile.OpCreate: // tags ride along
			add("CreateLaunchTemplate", 1)
		case reconcile.OpUpdate: // a version, the default, the spec tag
			add("CreateLaunchTemplateVersion", 1)
			add("ModifyLaunchTemplate", 1)
			add("CreateTags", 1)
		case reconcile.OpRestoreDefault:
			add("ModifyLaunchTemplate", 1)
		case reconcile.OpDelete:
			add("DeleteLaunchTemplate", 1)
		}
	}
	for _, tc := range append(slices.Clone(rp.TemplateTags), rp.AfterAdmin...) {
		if len(tc.Set) > 0 {
			add("CreateTags", 1)
		}
		if len(tc.Delete) > 0 {
			add("DeleteTags", 1)
		}
	}
	return c
}

// ModelSeconds returns the least wall time calls can take in one region
// when each call costs latency and is metered the way EC2 meters it: every
// EC2 action has its own request bucket of the documented default size
// (package ec2rate), and the instance actions a resource bucket besides,
// which the instances they act on (Instances) draw on; all are full when
// the run starts. Calls are made one after another, as a run does within a
// region, so they take at least latency each; and an action's calls (or
// instances) beyond a burst wait for tokens at its refill rate, so its last
// call cannot end before those tokens came and it took its latency. The
// buckets refill side by side, so the slowest of these bounds the run. STS
// calls are not metered.
func ModelSeconds(calls, instances Calls, latency time.Duration) float64 {
	s := latency.Seconds() * float64(calls.Total())
	drain := func(n int, b ec2rate.Bucket) {
		if n > b.Burst && b.PerSecond > 0 {
			s = max(s, float64(n-b.Burst)/b.PerSecond+latency.Seconds())
		}
	}
	for action, n := range calls {
		if action != "GetCallerIdentity" {
			drain(n, ec2rate.Default(action))
		}
	}
	for action, n := range instances {
		if _, b, ok := ec2rate.ResourceBucket(action); ok {
			drain(n, b)
		}
	}
	return s
}

// Instances returns how many instances the plan rp stops and terminates,
// by action, for ModelSeconds.
func Instances(rp *reconcile.RegionPlan) Calls {
	c := Calls{}
	if rp == nil {
		return c
	}
	for _, ic := range rp.Instances {
		switch {
		case !ic.Destructive():
		case ic.Action == "stop":
			c["StopInstances"]++
		default:
			c["TerminateInstances"]++
		}
	}
	return c
}

// pages is the number of pages a listing of n items takes; an empty
// listing still takes one call.
func pages(n, size int) int { return max(1, ceilDiv(n, size)) }

func ceilDiv(n, d int) int { return (n + d - 1) / d }
