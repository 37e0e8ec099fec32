package ec2sim

import (
	"strings"
	"sync"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2rate"
)

// Bucket is a token bucket: Burst calls at once, refilled at PerSecond.
type Bucket = ec2rate.Bucket

// throttler meters calls in real time, so benchmarks and demos see EC2's
// rate limits; the simulated clock does not refill buckets. Every EC2
// action has its own bucket per account and region, of the size package
// ec2rate documents ("Request throttling for the Amazon EC2 API": "each API
// is evaluated individually"), and the instance actions a resource bucket
// besides, which counts instances, unless SetThrottleBucket overrides them.
// STS is not metered.
type throttler struct {
	mu        sync.Mutex
	on        bool
	overrides map[string]Bucket
	level     map[bucketKey]*tokens
	now       func() time.Time
}

type bucketKey struct{ account, region, bucket string }

type tokens struct {
	n    float64
	last time.Time
}

func (t *throttler) init() {
	t.overrides = map[string]Bucket{}
	t.level = map[bucketKey]*tokens{}
	t.now = time.Now
}

// unfiltered reports whether a request has neither a filter nor
// pagination, which sends some Describe actions to a smaller bucket
// (ec2rate.RequestBucket).
func unfiltered(p params) bool {
	for k := range p.v {
		if strings.HasPrefix(k, "Filter.") || k == "MaxResults" || k == "NextToken" {
			return false
		}
	}
	return true
}

// instances is the number of instances a request acts on, which it draws
// from its action's resource bucket: RunInstances' MaxCount, the
// InstanceId.N of the others.
func instances(action string, p params) int {
	if action == "RunInstances" {
		n, err := p.integer("MaxCount", 1)
		if err != nil {
			return 1
		}
		return n
	}
	return len(p.list("InstanceId"))
}

// allow meters a request: it passes if its action's request bucket holds
// a token and, for the instance actions, its resource bucket holds one per
// instance; it then takes them. A throttled request takes nothing.
func (t *throttler) allow(account, region, action string, p params) bool {
	if _, ok := handlers[action]; !ok {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return true
	}
	now := t.now()
	type draw struct {
		lv *tokens
		n  float64
	}
	var draws []draw
	need := func(bucket string, b Bucket, n int) bool {
		if o, ok := t.overrides[bucket]; ok {
			b = o
		}
		k := bucketKey{account, region, bucket}
		lv, ok := t.level[k]
		if !ok {
			lv = &tokens{n: float64(b.Burst), last: now}
			t.level[k] = lv
		}
		lv.n = min(float64(b.Burst), lv.n+now.Sub(lv.last).Seconds()*b.PerSecond)
		lv.last = now
		draws = append(draws, draw{lv, float64(n)})
		return lv.n >= float64(n)
	}
	name, b := ec2rate.RequestBucket(action, unfiltered(p))
	ok := need(name, b, 1)
	if name, b, has := ec2rate.ResourceBucket(action); has {
		// A request for more instances than the bucket holds: the
		// throttling page says nothing of it, so taking a full bucket
		// is an emulator-only choice, the one cloud.Pacer paces for.
		ok = need(name, b, min(instances(action, p), b.Burst)) && ok
	}
	if !ok {
		return false
	}
	for _, d := range draws {
		d.lv.n -= d.n
	}
	return true
}

// SetThrottling turns EC2's request-rate limits on or off. Over the limit,
// calls fail with RequestLimitExceeded (HTTP 503). Turning it on refills
// every bucket.
func (s *Sim) SetThrottling(on bool) {
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	s.throttle.on = on
	clear(s.throttle.level)
}

// SetThrottleBucket replaces the size of a bucket, named by its action
// (e.g. "RunInstances"; "DescribeInstances unfiltered" for the smaller
// bucket of ec2rate.RequestBucket; "StopInstances instances" for a resource
// bucket, ec2rate.ResourceBucket), and refills every bucket.
func (s *Sim) SetThrottleBucket(bucket string, b Bucket) {
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	s.throttle.overrides[bucket] = b
	clear(s.throttle.level)
}
