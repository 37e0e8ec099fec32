package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/reconcile"
)

// The example config repo's state key variable; startEmulator sets it to
// testenv.StateKey, as it sets testenv.StateKeyEnv, which the test admin
// files name (testenv.StateTOML).
const exampleStateKeyEnv = "LAUNCHWARDEN_STATE_KEY"

// exampleEnv answers the example config repo's state key variable.
func exampleEnv(name string) string {
	if name == exampleStateKeyEnv || name == testenv.StateKeyEnv {
		return testenv.StateKey
	}
	return ""
}

// announced is the notice value a run gave when it announced stage for a
// project's instance with the given deadline: the run was min_notice (2h
// in the test admin files) before the deadline.
func announced(stage, project string, deadline time.Time) string {
	return stage + "@" + deadline.Add(-2*time.Hour).UTC().Format(time.RFC3339) + " p=" + project + " r=earlier-run"
}

// templateID returns the ID of the launch template of a project's
// template in the emulator, as EC2 puts it on the instances launched from
// it (aws:ec2launchtemplate:id). A missing template of the config in dir is
// created as a run creates it (a templates-only run, which tells nobody
// anything); one the config does not have is created as an earlier config
// would have had launchwarden create it. Creating resets the emulator's
// call counts.
func templateID(t testing.TB, sim *ec2sim.Sim, dir, endpoint, keysURL, account, region, project, template string) string {
	t.Helper()
	name := reconcile.Name(project, template)
	find := func() string {
		for _, lt := range sim.LaunchTemplates(account, region) {
			if lt.Name == name {
				return lt.ID
			}
		}
		return ""
	}
	if id := find(); id != "" {
		return id
	}
	// The calls made here are the test's setup, not launchwarden's: the
	// tests count only what comes after.
	defer sim.ResetCalls()
	ctx := context.Background()
	if dir != "" {
		w := worker{config: dir, endpointURL: endpoint, githubURL: keysURL, log: slog.New(slog.DiscardHandler), getenv: os.Getenv}
		plan, clients, _, err := w.plan(ctx, sim.Now(), "setup")
		if err != nil {
			t.Fatalf("planning templates: %v", err)
		}
		p := plan.TemplatesOnly()
		p.Enforce = true
		if _, err := reconcile.Apply(ctx, p, reconcile.Deps{Clients: clients}); err != nil {
			t.Fatalf("creating templates: %v", err)
		}
		if id := find(); id != "" {
			return id
		}
	}
	clients := testenv.Connect(t, endpoint, 2, cloud.Account{ID: account, Regions: []string{region}})
	return testenv.EarlierTemplate(t, clients[0], name, project, template)
}
