package ec2sim

import (
	"strings"
	"sync"
	"time"
)

// Bucket is a token bucket: Burst calls at once, refilled at PerSecond.
type Bucket struct {
	Burst     int
	PerSecond float64
}

// Throttle classes. EC2 meters API calls per account and region in
// buckets: Describe* share one, most mutating calls another, and a few
// actions have buckets of their own.
const (
	ClassDescribe = "describe"
	ClassMutating = "mutating"
)

// DefaultBuckets are the buckets SetThrottling(true) enforces, after EC2's
// documented request-rate defaults.
func DefaultBuckets() map[string]Bucket {
	return map[string]Bucket{
		ClassDescribe:                 {Burst: 100, PerSecond: 20},
		ClassMutating:                 {Burst: 50, PerSecond: 5},
		"CreateTags":                  {Burst: 100, PerSecond: 10},
		"TerminateInstances":          {Burst: 100, PerSecond: 5},
		"CreateLaunchTemplateVersion": {Burst: 100, PerSecond: 5},
		"ModifyLaunchTemplate":        {Burst: 100, PerSecond: 5},
		"RunInstances":                {Burst: 5, PerSecond: 2},
		"StartInstances":              {Burst: 5, PerSecond: 2},
	}
}

// throttler meters calls in real time, so benchmarks and demos see EC2's
// rate limits; the simulated clock does not refill buckets.
type throttler struct {
	mu      sync.Mutex
	on      bool
	buckets map[string]Bucket
	level   map[bucketKey]*tokens
	now     func() time.Time
}

type bucketKey struct{ account, region, class string }

type tokens struct {
	n    float64
	last time.Time
}

func (t *throttler) init() {
	t.buckets = DefaultBuckets()
	t.level = map[bucketKey]*tokens{}
	t.now = time.Now
}

// class returns the bucket an action draws from; "" is never throttled.
func (t *throttler) class(action string) string {
	if _, ok := t.buckets[action]; ok {
		return action
	}
	if strings.HasPrefix(action, "Describe") {
		return ClassDescribe
	}
	if _, ok := handlers[action]; ok {
		return ClassMutating
	}
	return ""
}

func (t *throttler) allow(account, region, action string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return true
	}
	class := t.class(action)
	b, ok := t.buckets[class]
	if !ok {
		return true
	}
	now := t.now()
	k := bucketKey{account, region, class}
	lv, ok := t.level[k]
	if !ok {
		lv = &tokens{n: float64(b.Burst), last: now}
		t.level[k] = lv
	}
	lv.n = min(float64(b.Burst), lv.n+now.Sub(lv.last).Seconds()*b.PerSecond)
	lv.last = now
	if lv.n < 1 {
		return false
	}
	lv.n--
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

// SetThrottleBucket replaces the bucket of a class (ClassDescribe,
// ClassMutating, or an action name such as "RunInstances") and refills it.
func (s *Sim) SetThrottleBucket(class string, b Bucket) {
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	s.throttle.buckets[class] = b
	clear(s.throttle.level)
}
