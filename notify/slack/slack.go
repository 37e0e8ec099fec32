// Package slack delivers launchwarden digests to Slack with slack-go: by
// chat.postMessage with a bot token, or by an incoming webhook where one is
// configured for the channel. It decides how a digest looks in Block Kit,
// when a failed delivery is worth retrying within the run, and which
// failures are permanent (see notify.IsPermanent).
//
// The bot token and webhook URLs are secrets: they never appear in logs,
// errors, or the printed Options.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/launchwarden/launchwarden/notify"
)

// Options configures a Sender.
type Options struct {
	// Token is the bot token for chat.postMessage; it may be empty when
	// every channel has a webhook.
	Token string
	// Webhooks maps a channel to its incoming webhook URL, which takes
	// precedence over the token for that channel.
	Webhooks map[string]string
	// APIURL overrides Slack's API URL (slack.OptionAPIURL), for tests; it
	// must end with "/".
	APIURL string
	// HTTPClient is used for both the API and webhooks; nil means a client
	// with a 30s timeout.
	HTTPClient *http.Client
	// Logger gets retries and delivery failures; nil discards them.
	Logger *slog.Logger
	// MaxWait caps how long one delivery honours Slack's Retry-After before
	// giving up for this run; 0 means one minute. The context's deadline
	// caps it too.
	MaxWait time.Duration
	// Backoff is the first wait after a retryable failure that names no
	// Retry-After, doubled for the next; 0 means 2s.
	Backoff time.Duration
}

const secret = "<secret>"

// String prints the options with the token and webhook URLs hidden.
func (o Options) String() string {
	channels := make([]string, 0, len(o.Webhooks))
	for c := range o.Webhooks {
		channels = append(channels, c+":"+secret)
	}
	sort.Strings(channels)
	token := `""`
	if o.Token != "" {
		token = secret
	}
	return fmt.Sprintf("slack.Options{Token: %s, Webhooks: map[%s], APIURL: %q, MaxWait: %s}",
		token, strings.Join(channels, " "), o.APIURL, o.MaxWait)
}

// GoString is String, so that %#v hides the secrets too.
func (o Options) GoString() string { return o.String() }

// LogValue keeps the secrets out of slog output.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// Sender sends digests to Slack. It implements notify.Sender and is safe
// for concurrent use.
type Sender struct {
	client   *slack.Client // nil without a token
	webhooks map[string]string
	http     *http.Client
	log      *slog.Logger
	maxWait  time.Duration
	// secrets are redacted from every error the Sender returns or logs.
	secrets []string

	attempts int           // per digest, including the first
	backoff  time.Duration // first wait after a retryable failure that names none
}

var _ notify.Sender = (*Sender)(nil)

// New returns a Sender for o.
func New(o Options) *Sender {
	s := &Sender{
		webhooks: o.Webhooks,
		http:     o.HTTPClient,
		log:      o.Logger,
		maxWait:  o.MaxWait,
		attempts: 3,
		backoff:  o.Backoff,
	}
	if s.backoff <= 0 {
		s.backoff = 2 * time.Second
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 30 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxWait <= 0 {
		s.maxWait = time.Minute
	}
	if o.Token != "" {
		opts := []slack.Option{slack.OptionHTTPClient(s.http)}
		if o.APIURL != "" {
			opts = append(opts, slack.OptionAPIURL(o.APIURL))
		}
		s.client = slack.New(o.Token, opts...)
		s.secrets = append(s.secrets, secretForms(o.Token)...)
	}
	for _, u := range o.Webhooks {
		s.secrets = append(s.secrets, secretForms(u)...)
		// The path alone identifies the webhook and suffices to post to it,
		// and so does its last segment with the rest of the path known.
		if p, err := url.Parse(strings.TrimSpace(u)); err == nil && len(p.Path) > 1 {
			s.secrets = append(s.secrets, secretForms(p.Path)...)
			if i := strings.LastIndexByte(p.Path, '/'); len(p.Path)-i > minSecretForm {
				s.secrets = append(s.secrets, secretForms(p.Path[i+1:])...)
			}
		}
	}
	// Longest first, so that a URL is replaced whole before its path is.
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
	s.secrets = slices.Compact(s.secrets)
	return s
}

// minSecretForm is the shortest text redacted: shorter forms of a secret
// would blank ordinary words.
const minSecretForm = 8

// secretForms returns the ways sec can show in a message: as it is, with
// surrounding whitespace trimmed, Go-quoted (as %q and net/url's errors
// print it), JSON-escaped, and percent-encoded (as a path or a query).
func secretForms(sec string) []string {
	forms := []string{sec, strings.TrimSpace(sec)}
	for _, v := range []string{sec, strings.TrimSpace(sec)} {
		q := strconv.Quote(v)
		forms = append(forms, q[1:len(q)-1])
		if j, err := json.Marshal(v); err == nil {
			forms = append(forms, string(j[1:len(j)-1]))
		}
		forms = append(forms, url.PathEscape(v), url.QueryEscape(v))
	}
	if u, err := url.Parse(strings.TrimSpace(sec)); err == nil {
		forms = append(forms, u.String(), u.EscapedPath())
	}
	out := forms[:0]
	for _, f := range forms {
		if len(f) >= minSecretForm && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// String keeps the secrets out of %v.
func (s *Sender) String() string {
	return fmt.Sprintf("slack.Sender{webhooks: %d, token: %t}", len(s.webhooks), s.client != nil)
}

// Send posts the digest to its channel, retrying rate limits, 5xx and
// network errors within ctx's deadline. A nil error means Slack accepted
// the message. Errors that retrying cannot fix are notify.Permanent.
func (s *Sender) Send(ctx context.Context, d notify.Digest) error {
	post, how, err := s.poster(d)
	if err != nil {
		return fmt.Errorf("slack: digest for %q: %w", d.Channel, err)
	}
	for attempt := 1; ; attempt++ {
		err := s.classify(post(ctx))
		if err == nil {
			s.log.Debug("slack digest delivered", "channel", d.Channel, "via", how, "notices", len(d.Notices), "run", d.RunID)
			return nil
		}
		err = fmt.Errorf("slack: digest for %q via %s: %w", d.Channel, how, err)
		if notify.IsPermanent(err) {
			return err
		}
		if attempt >= s.attempts {
			return fmt.Errorf("%w (after %d attempts)", err, attempt)
		}
		wait := s.backoff << (attempt - 1)
		if rl := (*slack.RateLimitedError)(nil); errors.As(err, &rl) {
			wait = rl.RetryAfter
		}
		if wait > s.maxWait {
			return fmt.Errorf("%w (retry after %s is beyond the %s limit)", err, wait, s.maxWait)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (retry after %s is beyond the run's deadline)", err, wait)
		}
		s.log.Warn("slack delivery failed, retrying", "channel", d.Channel, "via", how, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// poster picks how the digest goes out: the channel's webhook, else the
// bot token. With neither, the digest cannot be delivered this run or the
// next, so the error is permanent.
func (s *Sender) poster(d notify.Digest) (post func(context.Context) error, how string, err error) {
	if d.Channel == "" {
		return nil, "", notify.Permanent(errors.New("no channel configured"))
	}
	if u, ok := s.webhooks[d.Channel]; ok {
		if u == "" {
			return nil, "", notify.Permanent(errors.New("empty webhook URL"))
		}
		// No Extend buttons: a click goes to the interactivity URL of the
		// app that posted the message, and a webhook may belong to another
		// app (or to none, for a legacy one), whose signing secret serve
		// does not have. Such teams extend by pull request.
		d.ExtendBy = nil
		blocks, text := Blocks(d), FallbackText(d)
		msg := &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
		return func(ctx context.Context) error {
			return slack.PostWebhookCustomHTTPContext(ctx, u, s.http, msg)
		}, "webhook", nil
	}
	if s.client == nil {
		return nil, "", notify.Permanent(errors.New("no bot token and no webhook for this channel"))
	}
	blocks, text := Blocks(d), FallbackText(d)
	return func(ctx context.Context) error {
		_, _, err := s.client.PostMessageContext(ctx, d.Channel,
			slack.MsgOptionText(text, false),
			slack.MsgOptionBlocks(blocks...),
			slack.MsgOptionDisableLinkUnfurl(),
		)
		return err
	}, "chat.postMessage", nil
}

// permanentAPIErrors are Slack API error codes that no retry can fix: the
// channel or the credentials are wrong until someone changes them.
var permanentAPIErrors = []string{
	"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived",
	"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
	"no_permission", "missing_scope", "restricted_action", "ekm_access_denied",
	"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_attachments",
	"invalid_arguments", "no_text", "no_service",
}

// classify redacts err and marks it notify.Permanent when retrying cannot
// help. Rate limits, 5xx, timeouts and network errors stay retryable.
func (s *Sender) classify(err error) error {
	if err == nil {
		return nil
	}
	permanent := isPermanent(err)
	err = s.redact(err)
	if permanent {
		return notify.Permanent(err)
	}
	return err
}

func isPermanent(err error) bool {
	var api slack.SlackErrorResponse
	if errors.As(err, &api) {
		return slices.Contains(permanentAPIErrors, api.Err)
	}
	// Webhooks answer with a status only: 400 invalid_payload,
	// 403 action_prohibited, 404 channel_not_found or no_service,
	// 410 channel_is_archived.
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		return status.Code >= 400 && status.Code < 500 && status.Code != http.StatusTooManyRequests
	}
	return false
}

// redact removes the token and webhook URLs from err. net/http puts the
// request URL, which for a webhook is the secret itself, in its *url.Error;
// that is blanked in place so the error keeps its chain (for errors.Is and
// errors.As). If a secret still shows in the message, the error is
// flattened to its redacted text.
func (s *Sender) redact(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) && s.hasSecret(ue.URL) {
		ue.URL = secret
	}
	msg := err.Error()
	if !s.hasSecret(msg) {
		return err
	}
	for _, sec := range s.secrets {
		msg = strings.ReplaceAll(msg, sec, secret)
	}
	return errors.New(msg)
}

func (s *Sender) hasSecret(v string) bool {
	return slices.ContainsFunc(s.secrets, func(sec string) bool { return strings.Contains(v, sec) })
}
