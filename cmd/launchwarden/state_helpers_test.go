package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/reconcile"
)

// The state key of the command tests: startEmulator puts it in the
// environment under testStateKeyEnv, and the test admin files name that
// variable in their [state] table (stateTOML); examples/config-repo names
// exampleStateKeyEnv.
const (
	testStateKeyEnv    = "LW_TEST_STATE_KEY"
	exampleStateKeyEnv = "LAUNCHWARDEN_STATE_KEY"
	testStateKey       = "cmd-test-state-key-0123456789abcdef-0123456789"
	stateTOML          = "\n[state]\nkey_env = \"" + testStateKeyEnv + "\"\n"
)

// exampleEnv answers the example config repo's state key variable.
func exampleEnv(name string) string {
	if name == exampleStateKeyEnv || name == testStateKeyEnv {
		return testStateKey
	}
	return ""
}

func testStateKeys(t testing.TB) *cloud.StateKeys {
	t.Helper()
	k, err := cloud.NewStateKeys([]byte(testStateKey))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signed returns tags with the value of every state tag signed for
// instance id, as launchwarden writes them.
func signed(t testing.TB, id string, tags map[string]string) map[string]string {
	t.Helper()
	k := testStateKeys(t)
	out := make(map[string]string, len(tags))
	for key, v := range tags {
		if cloud.IsStateTag(key) {
			scope := id
			if key == cloud.TagNotice {
				scope = ""
			}
			v = k.Sign(scope, key, v)
		}
		out[key] = v
	}
	return out
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
	clients, err := cloud.Connect(ctx, cloud.ConnectOptions{EndpointURL: endpoint, Accounts: []cloud.Account{{ID: account, Regions: []string{region}}}, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	lt, err := clients[0].CreateTemplate(ctx, name, cloud.TemplateData{ImageID: "ami-0123456789abcdef0"},
		map[string]string{cloud.TagManaged: "true", cloud.TagProject: project, cloud.TagTemplate: template})
	if err != nil {
		t.Fatal(err)
	}
	return lt.ID
}

// launchedTags returns the tags of an instance launched from a project's
// template (EC2's launch template tag and the template's labels), with
// extra tags, state tags signed for id.
func launchedTags(t testing.TB, ltID, id, project, template string, extra map[string]string) map[string]string {
	t.Helper()
	tags := map[string]string{"aws:ec2launchtemplate:id": ltID, cloud.TagProject: project, cloud.TagTemplate: template}
	for k, v := range signed(t, id, extra) {
		tags[k] = v
	}
	return tags
}
