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

// Pacer makes EC2 requests wait for a token of the bucket EC2 meters them
// in, per account and region, so that launchwarden by itself never exceeds
// EC2's request rates and a run makes no call that is throttled and
// retried. Buckets and their sizes are EC2's documented defaults (package
// ec2rate): every action has its own bucket, which starts full. Every
// attempt takes a token, retries included, as EC2 meters each request.
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

// NewPacer returns a Pacer with EC2's default buckets, all full.
func NewPacer() *Pacer {
	return &Pacer{levels: make(map[paceKey]*paceLevel), now: time.Now, sleep: sleepCtx}
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

// Wait takes a token for a request for action in account and region,
// waiting until the bucket has one. unfiltered says that the request has
// neither a filter nor pagination (see ec2rate.RequestBucket). If ctx ends
// first, Wait gives the token back and returns ctx's error.
func (p *Pacer) Wait(ctx context.Context, account, region, action string, unfiltered bool) error {
	if p == nil {
		return nil
	}
	name, b := ec2rate.RequestBucket(action, unfiltered)
	if b.Burst <= 0 || b.PerSecond <= 0 {
		return nil
	}
	rate := b.PerSecond * paceMargin
	p.mu.Lock()
	now := p.now()
	k := paceKey{account, region, name}
	lv := p.levels[k]
	if lv == nil {
		lv = &paceLevel{tokens: float64(b.Burst), at: now}
		p.levels[k] = lv
	}
	if now.After(lv.at) {
		lv.tokens = min(float64(b.Burst), lv.tokens+now.Sub(lv.at).Seconds()*rate)
		lv.at = now
	}
	lv.tokens--
	var wait time.Duration
	if lv.tokens < 0 {
		wait = time.Duration(-lv.tokens / rate * float64(time.Second))
	}
	p.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if err := p.sleep(ctx, wait); err != nil {
		// The request is not made: its token goes back. Requests that
		// reserved after it wait as if it had been made, which is safe.
		p.mu.Lock()
		lv.tokens = min(float64(b.Burst), lv.tokens+1)
		p.mu.Unlock()
		return err
	}
	return nil
}

// unfilteredKey is the stack value that says a request has neither a filter
// nor pagination.
type unfilteredKey struct{}

// pacing returns the SDK middleware that paces every EC2 request of a
// client for account and region. The request's input is looked at in the
// Initialize step (Finalize no longer has it); the wait is in the Finalize
// step right after the retryer, so every attempt waits for its own token,
// and before signing, so a long wait never makes a stale signature.
func pacing(p *Pacer, account, region string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("launchwarden.PaceInput",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if unfiltered(in.Parameters) {
					ctx = middleware.WithStackValue(ctx, unfilteredKey{}, true)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		if err != nil {
			return err
		}
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("launchwarden.Pace",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				unf, _ := middleware.GetStackValue(ctx, unfilteredKey{}).(bool)
				if err := p.Wait(ctx, account, region, awsmiddleware.GetOperationName(ctx), unf); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), "Retry", middleware.After)
	}
}

// unfiltered reports whether an SDK input has neither filters nor
// pagination: no Filters, MaxResults or NextToken.
func unfiltered(in any) bool {
	v := reflect.ValueOf(in)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return true
	}
	for _, name := range []string{"Filters", "MaxResults", "NextToken"} {
		f := v.FieldByName(name)
		switch {
		case !f.IsValid():
		case f.Kind() == reflect.Slice && f.Len() > 0:
			return false
		case f.Kind() == reflect.Pointer && !f.IsNil():
			return false
		}
	}
	return true
}
