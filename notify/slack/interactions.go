package slack

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/launchwarden/launchwarden/notify"
)

// Slack's interactivity, as launchwarden uses it
// (https://docs.slack.dev/interactivity/handling-user-interaction): a
// click on a button of a message the app posted is POSTed to the app's
// request URL as a form with one "payload" field of JSON, signed with the
// app's signing secret (v0 = HMAC-SHA256 of "v0:<timestamp>:<body>",
// https://docs.slack.dev/authentication/verifying-requests-from-slack). The
// app acknowledges with HTTP 200 within 3 seconds and answers later through
// the payload's response_url, which takes a few messages within 30 minutes.

// MaxInteractionBody bounds the body read from one interaction request.
// Slack sends the whole message the button sits in (at most 50 blocks of
// 3,000 characters), so a few hundred KiB is the most a real one needs.
const MaxInteractionBody = 1 << 20

// replayWindow is how long a signature stays valid: slack-go's verifier
// refuses timestamps more than five minutes from now, either way, so a
// request seen within the last ten minutes covers every one it accepts.
const replayWindow = 10 * time.Minute

// Errors of VerifyClick that say why a request was refused.
var (
	// ErrUnverified: the signature is missing or wrong, or the timestamp
	// is more than five minutes off.
	ErrUnverified = errors.New("not verified as Slack's")
	// ErrReplayed: the same signature or trigger was seen within the
	// replay window.
	ErrReplayed = errors.New("replayed request: its signature or trigger was seen before")
	// ErrBusy: the replay cache is full of recent requests, so this one
	// cannot be remembered and is refused rather than risk a replay.
	ErrBusy = errors.New("too many interaction requests in the replay window")
)

// Click is a verified click on one of launchwarden's Extend buttons.
type Click struct {
	// Request is the button's value, parsed: which instance, where, and
	// the run whose digest carried it. It is what the message said, not a
	// fact: the handler re-reads the instance.
	Request notify.ExtendRequest
	// UserID and User are who clicked (Slack's user id and name).
	UserID, User string
	// ChannelID and ChannelName are where the message with the button is.
	ChannelID, ChannelName string
	// ResponseURL is where the answer to the click goes (see Reply).
	ResponseURL string
}

// Verifier checks interaction requests: Slack's signature with the signing
// secret, its timestamp, and that the request was not seen before. It is
// safe for concurrent use.
type Verifier struct {
	// Now is the wall clock of the replay window; nil means time.Now.
	// (slack-go checks the timestamp against time.Now itself.)
	Now func() time.Time
	// Max bounds how many recent requests are remembered; 0 means 10,000.
	Max int

	mu   sync.Mutex
	seen map[string]time.Time // signature or trigger id → when first seen
}

// VerifyClick verifies an interaction request with the signing secret and
// parses it. A nil Click with a nil error is a verified interaction that is
// not a click on an Extend button (nothing to do but acknowledge it).
// Errors mean the request must be refused: a missing or bad signature, a
// timestamp more than five minutes off (slack.NewSecretsVerifier; all
// ErrUnverified), a
// request already seen (ErrReplayed), or a payload that does not parse.
func (v *Verifier) VerifyClick(header http.Header, body []byte, secret string) (*Click, error) {
	sv, err := slack.NewSecretsVerifier(header, secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	if _, err := sv.Write(body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	if err := sv.Ensure(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	// Signed by Slack: from here on the payload is Slack's word.
	r := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body: io.NopCloser(bytes.NewReader(body))}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		return nil, fmt.Errorf("interaction payload: %w", err)
	}
	keys := []string{"sig:" + header.Get("X-Slack-Signature")}
	if ic.TriggerID != "" {
		keys = append(keys, "trigger:"+ic.TriggerID)
	}
	if err := v.first(keys...); err != nil {
		return nil, err
	}
	if ic.Type != slack.InteractionTypeBlockActions {
		return nil, nil
	}
	for _, a := range ic.ActionCallback.BlockActions {
		if a == nil || !strings.HasPrefix(a.ActionID, notify.ExtendAction) {
			continue
		}
		req, err := notify.ParseExtendRequest(a.Value)
		if err != nil {
			return nil, err
		}
		return &Click{
			Request: req, UserID: ic.User.ID, User: cmp.Or(ic.User.Name, ic.User.ID),
			ChannelID: ic.Channel.ID, ChannelName: ic.Channel.Name, ResponseURL: ic.ResponseURL,
		}, nil
	}
	return nil, nil
}

// first records the keys (a signature, a trigger id) as seen now, or
// fails with ErrReplayed if one was seen within the replay window. Keys
// older than the window are forgotten; when Max recent keys are held, new
// requests are refused (ErrBusy) rather than forgotten early.
func (v *Verifier) first(keys ...string) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	max := v.Max
	if max <= 0 {
		max = 10000
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	for _, k := range keys {
		if at, ok := v.seen[k]; ok && now.Sub(at) < replayWindow {
			return ErrReplayed
		}
	}
	if len(v.seen)+len(keys) > max {
		for k, at := range v.seen {
			if now.Sub(at) >= replayWindow {
				delete(v.seen, k)
			}
		}
		if len(v.seen)+len(keys) > max {
			return ErrBusy
		}
	}
	for _, k := range keys {
		v.seen[k] = now
	}
	return nil
}

// Replier answers clicks through their response_url.
type Replier struct {
	// HTTPClient posts the answers; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// Hosts are the hosts a response_url may name besides hooks.slack.com
	// (a test server); every other URL is refused, so that a payload can
	// make launchwarden post nowhere but to Slack.
	Hosts []string
}

// Reply posts text to the clicker alone (response_type ephemeral), leaving
// the digest as it is. The answer goes to the click's response_url rather
// than chat.postEphemeral: it needs no token, it answers exactly this
// click in its channel, and it works whichever way the message was posted.
func (r Replier) Reply(ctx context.Context, responseURL, text string) error {
	u, err := url.Parse(responseURL)
	if err != nil || !(u.Scheme == "https" && u.Host == "hooks.slack.com" || slices.Contains(r.Hosts, u.Host)) {
		return fmt.Errorf("response_url %q is not Slack's", responseURL)
	}
	client := r.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return slack.PostWebhookCustomHTTPContext(ctx, responseURL, client,
		&slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false, Text: text})
}
