package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
	slacknotify "github.com/launchwarden/launchwarden/notify/slack"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// clickTimeout bounds the EC2 calls of one click once it holds the fleet.
const clickTimeout = 30 * time.Second

// clicks answers the Extend buttons of team digests: serve's POST
// /slack/interactions (the Slack app's interactivity request URL).
//
// A request is verified first (Slack's signature with the admin file's
// signing secret, a timestamp within five minutes, never seen before) and
// acknowledged at once, as Slack asks; the click is then handled in the
// background and answered to the clicker alone through its response_url.
// Nothing of the payload is trusted beyond the signature: the button names
// an instance, and the instance's ownership, project, channel, state and
// caps are read again from EC2 (one DescribeInstances) and from the config
// of the last run. Then the signed expires-at, the reason and a signed
// launchwarden:extended record (for the next admin digest) are written in
// one CreateTags.
//
// Runs and clicks hold one lock: a run from observation to the end of
// Apply, a click while it checks and writes. A run therefore never acts on
// an observation older than a click, and a click is checked against the
// config and templates of the last run that observed the fleet.
type clicks struct {
	log *slog.Logger
	// now is the time expiries are computed at (serve's clock).
	now     func() time.Time
	getenv  func(string) string
	verify  *slacknotify.Verifier
	replier slacknotify.Replier
	// counted, if set, counts each request's outcome (clickExtended,
	// clickRefused, clickRejected) for /metrics.
	counted func(outcome string)

	// secretMu guards secret: where the signing secret is, from the last
	// admin file that loaded.
	secretMu sync.Mutex
	secret   projects.SecretRef

	// mu is held by a run from observation to the end of Apply, and by a
	// click while it checks and writes; fleet is what the last run used.
	mu    sync.Mutex
	fleet *clickFleet

	// pending are clicks being handled, which shutdown waits for.
	pending sync.WaitGroup
}

// clickFleet is what a click is checked against: the config of the last
// run (the last good one), its clients, and its observation, whose managed
// templates say which launch templates make an instance ours.
type clickFleet struct {
	cfg     *projects.Config
	clients []*cloud.Client
	snaps   []*cloud.Snapshot
}

// setSecret records where the signing secret is (admin file reloaded).
func (c *clicks) setSecret(ref projects.SecretRef) {
	c.secretMu.Lock()
	c.secret = ref
	c.secretMu.Unlock()
}

// errNoSecret: the admin file names no signing secret, so no click can be
// verified and the endpoint is off.
var errNoSecret = errors.New("[slack] in launchwarden.toml names no signing_secret_env or signing_secret_file")

func (c *clicks) signingSecret() (string, error) {
	c.secretMu.Lock()
	ref := c.secret
	c.secretMu.Unlock()
	if ref.IsZero() {
		return "", errNoSecret
	}
	s, err := ref.Resolve(c.getenv)
	if err != nil {
		return "", fmt.Errorf("[slack] signing secret (%s): %w", ref, err)
	}
	return s, nil
}

// ServeHTTP verifies, acknowledges and hands over one interaction request.
// It answers 404 without a configured signing secret, 503 when the secret
// cannot be read, 413 for a body over MaxInteractionBody, 401 for a
// request whose signature, timestamp or freshness fails, 400 for a payload
// that does not parse, and 200 for everything verified.
func (c *clicks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secret, err := c.signingSecret()
	if errors.Is(err, errNoSecret) {
		http.Error(w, "Slack interactivity is not configured: "+err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		c.log.Error("cannot check Slack interactions", "err", err)
		http.Error(w, "the signing secret cannot be read", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, slacknotify.MaxInteractionBody))
	if err != nil {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	click, err := c.verify.VerifyClick(r.Header, body, secret)
	if err != nil {
		c.count(clickRejected)
	}
	switch {
	case errors.Is(err, slacknotify.ErrBusy):
		c.log.Error("slack interaction refused", "reason", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case errors.Is(err, slacknotify.ErrUnverified) || errors.Is(err, slacknotify.ErrReplayed):
		c.log.Warn("slack interaction refused", "reason", err, "remote", r.RemoteAddr)
		http.Error(w, "refused: "+err.Error(), http.StatusUnauthorized)
		return
	case err != nil:
		c.log.Warn("slack interaction not understood", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case click == nil:
		w.WriteHeader(http.StatusOK) // verified, but not an Extend click
		return
	}
	// Acknowledge now: Slack waits 3 seconds, and a run may hold the fleet
	// for longer.
	w.WriteHeader(http.StatusOK)
	c.pending.Go(func() {
		ctx := context.Background()
		text := c.extend(ctx, *click)
		if err := c.replier.Reply(ctx, click.ResponseURL, text); err != nil {
			c.log.Warn("could not answer a Slack click", "instance", click.Request.Instance, "user", click.UserID, "err", err)
		}
	})
}

// extend handles one verified click and returns the answer for the
// clicker: what was extended, or why nothing was.
func (c *clicks) extend(ctx context.Context, k slacknotify.Click) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, clickTimeout)
	defer cancel()
	text, extended := c.decide(ctx, k)
	log := c.log.With("instance", k.Request.Instance, "user", k.UserID, "user_name", k.User, "channel", k.ChannelID, "run", k.Request.Run)
	if extended {
		log.Info("extended from Slack", "answer", text)
		c.count(clickExtended)
	} else {
		log.Info("extension from Slack refused", "answer", text)
		c.count(clickRefused)
	}
	return text
}

func (c *clicks) count(outcome string) {
	if c.counted != nil {
		c.counted(outcome)
	}
}

// decide checks the click against EC2 and the config, and extends when
// every check passes. It returns the answer and whether it extended.
func (c *clicks) decide(ctx context.Context, k slacknotify.Click) (string, bool) {
	req, id := k.Request, k.Request.Instance
	f := c.fleet
	if f == nil {
		return "launchwarden has not finished a run since it started, so it cannot check this instance yet: try again after the next run.", false
	}
	var client *cloud.Client
	var snap *cloud.Snapshot
	for _, cl := range f.clients {
		if cl.Account == req.Account && cl.Region == req.Region {
			client = cl
		}
	}
	for _, sn := range f.snaps {
		if sn.Account == req.Account && sn.Region == req.Region {
			snap = sn
		}
	}
	if client == nil || snap == nil {
		return fmt.Sprintf("%s: launchwarden does not look after %s/%s (not in launchwarden.toml): not extended.", id, req.Account, req.Region), false
	}
	in, err := client.LookupInstance(ctx, id, snap)
	if err != nil {
		c.log.Warn("looking up an instance for a Slack click", "instance", id, "err", err)
		return fmt.Sprintf("%s: could not look it up in EC2 just now: nothing changed, try again in a minute.", id), false
	}
	if in == nil || in.State == "shutting-down" || in.State == "terminated" {
		return fmt.Sprintf("%s is gone (terminated): nothing to extend.", id), false
	}
	if in.Project == "" {
		return fmt.Sprintf("%s is not launchwarden's (no managed template launched it and no admin adopted it): not extended.", id), false
	}
	if fp, frozen := f.cfg.Frozen[in.Project]; frozen {
		return fmt.Sprintf("%s: project %s is frozen by config problems (%d in its file): fix the file first, then extend.", id, in.Project, len(fp)), false
	}
	p := f.cfg.Project(in.Project)
	if p == nil || (in.Template != "" && p.Template(in.Template) == nil) {
		return fmt.Sprintf("%s: its project or template was removed from the config, and orphans are not extended (put the entry back to keep them).", id), false
	}
	if !sameChannel(p.SlackChannel, k.ChannelID, k.ChannelName) {
		return fmt.Sprintf("%s belongs to project %s, whose digests go to %s: its Extend button works only there. Not extended.", id, p.Name, p.SlackChannel), false
	}
	for _, e := range p.Extensions {
		if e.Instance == id {
			return fmt.Sprintf("%s has an [[extensions]] entry in %s (until %s), which wins over the button: change it there in a pull request. Not extended.",
				id, p.File, notify.FormatTime(e.Until)), false
		}
	}
	if last, err := lifecycle.ParseNotice(in.Notice); err == nil && !last.IsZero() && last.Run != req.Run && last.At.After(req.RunTime()) {
		return fmt.Sprintf("This message is older than the latest notice about %s (run %s): use the Extend button of the newest digest.", id, last.Run), false
	}
	if prev, err := reconcile.ParseExtended(in.Extended); err == nil && prev.Run == req.Run {
		return fmt.Sprintf("@%s already extended %s from this message, to %s. A message's button extends once; the next digest about it carries a new one.",
			prev.User, id, notify.FormatTime(prev.Until)), false
	}

	now := c.now().UTC()
	caps := f.cfg.Admin.EffectiveCaps(p.Name)
	policy := reconcile.Policy(f.cfg.Admin, p)
	li := lifecycle.Instance{ID: in.ID, BornAt: in.BornAt, ExpiresAt: in.ExpiresAt}
	before := lifecycle.Expiry(li, policy)
	until, capped, err := lifecycle.Extend(li, policy, time.Duration(caps.ButtonExtend), now)
	if err != nil {
		return fmt.Sprintf("%s: %v. Not extended: only an admin can keep it longer.", id, err), false
	}
	rec := reconcile.Extended{At: now.Truncate(time.Second), Until: until, UserID: k.UserID, User: k.User, Run: req.Run}
	res := client.WriteState(ctx, map[string]map[string]string{id: {
		cloud.TagExpiresAt: until.Format(time.RFC3339),
		TagExtension:       reconcile.ExtendedBy(k.User),
		cloud.TagExtended:  rec.String(),
	}})
	if err := res.Failed[id]; err != nil {
		c.log.Warn("writing an extension from Slack", "instance", id, "err", err)
		return fmt.Sprintf("%s: could not write the new expiry just now: not extended, try again in a minute.", id), false
	}
	note := ""
	if capped {
		note = fmt.Sprintf(" That is the max lifetime (%s): it cannot be extended further.", projects.Duration(policy.MaxLifetime))
	}
	return fmt.Sprintf("Extended %s (%s/%s): it now expires %s (was %s).%s The next run counts from the new expiry; admins are told who extended it.",
		id, in.Project, in.Template, notify.FormatTime(until), notify.FormatTime(before), note), true
}

// sameChannel reports whether the click came from the project's channel,
// configured as a Slack channel id (compared with the click's channel id)
// or a #name (compared with its name, in any case). Both come from the
// signed payload.
func sameChannel(configured, id, name string) bool {
	if n, ok := strings.CutPrefix(configured, "#"); ok {
		return name != "" && strings.EqualFold(n, name)
	}
	return configured != "" && configured == id
}

// hold takes the fleet for a run: clicks wait until release. A run calls
// it before observing, and release with what it used once Apply is done
// (a nil config keeps the previous fleet).
func (c *clicks) hold() { c.mu.Lock() }

func (c *clicks) release(cfg *projects.Config, clients []*cloud.Client, obs *reconcile.Observation) {
	if cfg != nil && obs != nil {
		c.fleet = &clickFleet{cfg: cfg, clients: clients, snaps: obs.Snapshots}
	}
	c.mu.Unlock()
}
