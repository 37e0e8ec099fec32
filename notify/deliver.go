package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// maxParallel bounds how many digests are in flight at once: Slack rate
// limits chat.postMessage per workspace, so more would only earn 429s.
const maxParallel = 4

// Deliver attempts every digest, a few at a time, and returns one Result
// per digest in input order. A failed digest does not stop the others.
func Deliver(ctx context.Context, s Sender, ds []Digest) []Result {
	results := make([]Result, len(ds))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, d := range ds {
		results[i].Digest = d
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				results[i].Err = fmt.Errorf("digest for %q not sent: %w", d.Channel, err)
				return
			}
			results[i].Err = s.Send(ctx, d)
		})
	}
	wg.Wait()
	return results
}

// Undelivered turns every failed delivery among results, permanent or
// retryable, into a notice of kind KindUndelivered for the admin channel,
// so that admins learn which teams are not being told (and therefore whose
// instances are not being acted on). A Slack outage of days is as worth
// knowing as a channel Slack refuses for good; the notice says which it is.
// ErrNotSent (notifications turned off on purpose) and the admin channel's
// own failures are left out: admins cannot be told through a channel that
// failed.
func Undelivered(results []Result, adminChannel string) []Notice {
	var ns []Notice
	for _, r := range results {
		if r.Err == nil || errors.Is(r.Err, ErrNotSent) || r.Digest.Channel == adminChannel {
			continue
		}
		how := "temporary failure, tried again next run"
		if IsPermanent(r.Err) {
			how = "permanent failure, retrying cannot fix it"
		}
		ns = append(ns, Notice{
			Kind:    KindUndelivered,
			Channel: adminChannel,
			Project: r.Digest.Project,
			Reason:  fmt.Sprintf("digest for %s not delivered (%s)", channelName(r.Digest.Channel), how),
			Detail:  r.Err.Error(),
		})
	}
	return ns
}

// LogSender writes each digest as plain text to W (--notify=log). It fails
// only when W does. Use it as a pointer: it serialises concurrent sends so
// that digests do not interleave.
type LogSender struct {
	W  io.Writer
	mu sync.Mutex
}

// Send writes RenderText(d) followed by a blank line.
func (l *LogSender) Send(_ context.Context, d Digest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.W, RenderText(d)+"\n"); err != nil {
		return fmt.Errorf("write digest for %q: %w", d.Channel, err)
	}
	return nil
}

// Discard is the Sender for --notify=none. It delivers nothing and says so:
// every Send returns ErrNotSent, so with notifications off the gate holds
// and no instance is stopped or terminated.
type Discard struct{}

// Send returns ErrNotSent.
func (Discard) Send(context.Context, Digest) error { return ErrNotSent }
