package testenv

import (
	"context"
	"maps"
	"testing"

	"github.com/launchwarden/launchwarden/cloud"
)

// The state key of the tests: New puts it in the environment under
// StateKeyEnv, which test admin files name in their [state] table
// (StateTOML).
const (
	StateKey    = "test-state-key-0123456789abcdef-0123456789abcdef"
	StateKeyEnv = "LW_TEST_STATE_KEY"
	StateTOML   = "\n[state]\nkey_env = \"" + StateKeyEnv + "\"\n"
)

// State signs and verifies state tags under StateKey; Env.Connect gives
// it to the clients.
var State = func() *cloud.StateKeys {
	k, err := cloud.NewStateKeys([]byte(StateKey))
	if err != nil {
		panic(err)
	}
	return k
}()

// scope is the scope launchwarden signs a state tag of instance id in: the
// instance, but nothing for a notice, which is shared by the instances it
// was given to (cloud's stateScope).
func scope(id, tag string) string {
	if tag == cloud.TagNotice {
		return ""
	}
	return id
}

// Sign returns tags with the value of every state tag signed for instance
// id under StateKey, as launchwarden writes them.
func Sign(id string, tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if cloud.IsStateTag(k) {
			v = State.Sign(scope(id, k), k, v)
		}
		out[k] = v
	}
	return out
}

// Verify returns the value of instance id's state tag value raw if its
// signature verifies, and "unsigned: " and raw if it does not.
func Verify(id, tag, raw string) string {
	if v, ok := State.Verify(scope(id, tag), tag, raw); ok {
		return v
	}
	return "unsigned: " + raw
}

// Launched returns the tags of instance id launched from the launch
// template ltID of a project's template: EC2's aws:ec2launchtemplate:id and
// the template's labels, then extra (which may override them) with its
// state tags signed.
func Launched(ltID, id, project, template string, extra map[string]string) map[string]string {
	tags := map[string]string{"aws:ec2launchtemplate:id": ltID, cloud.TagProject: project, cloud.TagTemplate: template}
	maps.Copy(tags, Sign(id, extra))
	return tags
}

// EarlierTemplate creates, through c, the launch template name of a
// project's template as an earlier config would have had launchwarden
// create it (managed, labelled, with Image and nothing else), and returns
// its ID. A run then brings it up to date or deletes it.
func EarlierTemplate(t testing.TB, c *cloud.Client, name, project, template string) string {
	t.Helper()
	lt, err := c.CreateTemplate(context.Background(), name, cloud.TemplateData{ImageID: Image},
		map[string]string{cloud.TagManaged: "true", cloud.TagProject: project, cloud.TagTemplate: template})
	if err != nil {
		t.Fatal(err)
	}
	return lt.ID
}
