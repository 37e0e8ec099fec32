package cloud

import (
	"context"
	"reflect"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/launchwarden/launchwarden/cloud/ec2rate"
)

// paceMargin slows the pacer's refill a little below EC2's rate: a request
// reaches EC2 a variable time after the pacer let it go, and two requests
// metered closer together than they left would otherwise find the bucket a
// fraction of a token short. 2% of a 200 ms gap absorbs 4 ms of jitter per
// request, and the slack adds up while the bucket is drawn on.
const paceMargin = 0.98

// Pacer makes EC2 requests wait for tokens of the buckets EC2 meters them
// in, per account and region, so that launchwarden by itself never exceeds
// EC2's request rates and a run makes no call that is throttled and
// retried. Buckets and their sizes are EC2's documented defaults (package
// ec2rate): every action has its own request bucket, and the instance
// actions a resource bucket besides, which counts instances; all start
// full. Every attempt takes its tokens, retries included, as EC2 meters
// each request.
//
// Other tools calling EC2 in the same account and region draw from the same
// buckets without the pacer knowing, so throttling remains possible; the
// SDK's retries handle it. A Pacer is safe for concurrent use; a nil
// *Pacer never waits.
type Pacer struct {
	mu     sync.Mutex
	levels map[paceKey]*paceLevel
	now    func() time.Time
	// sleep waits d or until ctx is done, whichever is first, and returns
	// ctx.Err() in the latter case.
	sleep func(ctx context.Context, d time.Duration) error
}

type paceKey struct{ account, region, bucket string }

// paceLevel is a bucket's tokens at a time. tokens goes negative when
// requests have reserved tokens that have not arrived yet.
type paceLevel struct {
	tokens float64
	at     time.Time
}

// Request is what the pacer needs to know of an EC2 request.
type Request struct {
	Action string
	// Unfiltered says that the request has neither a filter nor
	// pagination (see ec2rate.RequestBucket).
	Unfiltered bool
	// Instances is the number of instances the request acts on:
	// RunInstances' MaxCount, the InstanceIds of Start, Stop and
	// TerminateInstances.
	Instances int
}

// NewPacer returns a Pacer with EC2's default buckets, all full.
func NewPacer() *Pacer { return NewPacerOn(time.Now, sleepCtx) }

// NewPacerOn returns a Pacer like NewPacer's that reads the time from now
// and waits with sleep, which must wait d or until ctx is done and then
// return ctx.Err(). Tests give it a clock that moves only when the pacer
// waits: requests draw on the buckets as they would, and nobody sleeps.
func NewPacerOn(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *Pacer {
	return &Pacer{levels: make(map[paceKey]*paceLevel), now: now, sleep: sleep}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait takes the tokens of a request in account and region: one of its
// action's request bucket, and one per instance of its resource bucket if
// it has one (at most the bucket's burst: a larger request waits for a
// full bucket). It waits until the buckets hold them. If ctx ends first,
// Wait gives the tokens back and returns ctx's error.
func (p *Pacer) Wait(ctx context.Context, account, region string, r Request) error {
	if p == nil {
		return nil
	}
	type draw struct {
		lv     *paceLevel
		burst  float64
		tokens float64
	}
	var draws []draw
	var wait time.Duration
	p.mu.Lock()
	now := p.now()
	take := func(bucket string, b ec2rate.Bucket, n int) {
		if b.Burst <= 0 || b.PerSecond <= 0 || n <= 0 {
			return
		}
		rate := b.PerSecond * paceMargin
		burst := float64(b.Burst)
		k := paceKey{account, region, bucket}
		lv := p.levels[k]
		if lv == nil {
			lv = &paceLevel{tokens: burst, at: now}
			p.levels[k] = lv
		}
		if now.After(lv.at) {
			lv.tokens = min(burst, lv.tokens+now.Sub(lv.at).Seconds()*rate)
			lv.at = now
		}
		tokens := min(float64(n), burst)
		lv.tokens -= tokens
		if lv.tokens < 0 {
			wait = max(wait, time.Duration(-lv.tokens/rate*float64(time.Second)))
		}
		draws = append(draws, draw{lv, burst, tokens})
	}
	name, b := ec2rate.RequestBucket(r.Action, r.Unfiltered)
	take(name, b, 1)
	if name, b, ok := ec2rate.ResourceBucket(r.Action); ok {
		take(name, b, r.Instances)
	}
	p.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if err := p.sleep(ctx, wait); err != nil {
		// The request is not made: its tokens go back. Requests that
		// reserved after it wait as if it had been made, which is safe.
		p.mu.Lock()
		for _, d := range draws {
			d.lv.tokens = min(d.burst, d.lv.tokens+d.tokens)
		}
		p.mu.Unlock()
		return err
	}
	return nil
}

// requestKey is the stack value that holds what the Initialize step found
// out about a request (a Request without its action).
type requestKey struct{}

// pacing returns the SDK middleware that paces every EC2 request of a
// client for account and region. The request's input is looked at in the
// Initialize step (Finalize no longer has it); the wait is in the Finalize
// step right after the retryer, so every attempt waits for its own tokens,
// and before signing, so a long wait never makes a stale signature.
func pacing(p *Pacer, account, region string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("launchwarden.PaceInput",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx = middleware.WithStackValue(ctx, requestKey{}, requestOf(in.Parameters))
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		if err != nil {
			return err
		}
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("launchwarden.Pace",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				r, _ := middleware.GetStackValue(ctx, requestKey{}).(Request)
				r.Action = awsmiddleware.GetOperationName(ctx)
				if err := p.Wait(ctx, account, region, r); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), "Retry", middleware.After)
	}
}

// requestOf reads from an SDK input whether it has neither filters nor
// pagination (no Filters, MaxResults or NextToken), and how many instances
// it acts on (InstanceIds, or MaxCount for RunInstances).
func requestOf(in any) Request {
	r := Request{Unfiltered: true}
	v := reflect.ValueOf(in)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return r
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return r
	}
	for _, name := range []string{"Filters", "MaxResults", "NextToken"} {
		f := v.FieldByName(name)
		switch {
		case !f.IsValid():
		case f.Kind() == reflect.Slice && f.Len() > 0,
			f.Kind() == reflect.Pointer && !f.IsNil():
			r.Unfiltered = false
		}
	}
	if f := v.FieldByName("InstanceIds"); f.IsValid() && f.Kind() == reflect.Slice {
		r.Instances = f.Len()
	}
	if f := v.FieldByName("MaxCount"); f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().CanInt() {
		r.Instances = int(f.Elem().Int())
	}
	return r
}
