package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
	"github.com/launchwarden/launchwarden/reconcile/userdata"
)

// Observe reads everything a run plans from. First it checks that each
// account's credentials are of the configured account (cloud.VerifyAccounts),
// then it observes every account and region with the lookups the config
// needs there: the templates' instance types and images, and the configured
// VPC and subnets, which must exist as configured. All or nothing: a wrong
// account, a missing subnet or a failed listing fails the observation, so no
// run ever acts in the wrong place or on a partial inventory. Then it settles
// cfg's contested channels with the channel owners the templates record
// (projects.Config.Settle, ChannelOwners). Last, the SSH keys of the
// config's users; for templates whose users' keys could not all be fetched
// it also reads the current default version, whose keys are then kept.
func Observe(ctx context.Context, cfg *projects.Config, clients []*cloud.Client, keys *sshkeys.Fetcher, log *slog.Logger) (*Observation, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cloud.VerifyAccounts(ctx, clients); err != nil {
		return nil, fmt.Errorf("checking accounts: %w", err)
	}
	snaps, err := cloud.ObserveAllWith(ctx, clients, func(c *cloud.Client) cloud.Lookups {
		return LookupsFor(cfg, c.Account, c.Region)
	})
	if err != nil {
		return nil, fmt.Errorf("observing: %w", err)
	}
	obs := &Observation{Snapshots: snaps, CurrentKeys: map[string][]string{}}
	owners := ChannelOwners(obs)
	for _, name := range cfg.Settle(func(channel string) string { return owners[channel] }) {
		log.Info("project kept working: launchwarden recorded the channel its file shares with another as its own", "project", name)
	}
	if keys != nil {
		obs.Keys = keys.Fetch(ctx, allKeyUsers(cfg))
	}
	for user, err := range obs.Keys.Failed {
		log.Warn("fetching SSH keys failed", "user", user, "err", err)
	}
	for _, w := range obs.Keys.Weak {
		log.Warn("dropped weak SSH key", "user", w.User, "type", w.Type, "bits", w.Bits, "reason", w.Reason)
	}
	if len(obs.Keys.Failed) == 0 {
		return obs, nil
	}
	for i, snap := range snaps {
		for _, t := range snap.Templates {
			if !t.Managed || !needsCurrentKeys(cfg, obs.Keys, t) {
				continue
			}
			data, _, err := clients[i].TemplateVersionData(ctx, t.ID, "$Default")
			if err != nil {
				// Without the current keys the template is left unchanged.
				log.Warn("reading current template version failed", "template", t.Name, "err", err)
				continue
			}
			obs.CurrentKeys[t.ID] = userdata.KeysFromUserData(data.UserData)
		}
	}
	return obs, nil
}

// needsCurrentKeys reports whether some user of template t's config entry
// had keys that could not be fetched.
func needsCurrentKeys(cfg *projects.Config, keys sshkeys.Result, t cloud.Template) bool {
	p := cfg.Project(t.Project)
	if p == nil {
		return false
	}
	pt := p.Template(t.TemplateName)
	if pt == nil {
		return false
	}
	return slices.ContainsFunc(keyUsers(p, pt), func(u string) bool {
		err, failed := keys.Failed[u]
		return failed && !errors.Is(err, sshkeys.ErrUserNotFound)
	})
}
