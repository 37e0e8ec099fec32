package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

const (
	testAccount = testenv.Account
	testRegion  = testenv.Region
	adminChan   = "#lw-admins"
)

var t0 = testenv.T0

// adminTOML is the admin file of the test config repos.
const adminTOML = `
schedule = "@every 1h"

[aws]
[[aws.accounts]]
name = "test"
id = "123456789012"
regions = ["us-east-1"]
vpc_id = "vpc-0123456789abcdef0"

[slack]
admin_channel = "#lw-admins"
token_env = "LW_TEST_SLACK_TOKEN"

[defaults.lifecycle]
ttl = "1d"
warn_before = "6h"
on_expiry = "stop"
terminate_stopped_after = "2d"

[caps]
max_instances = 10
max_vcpus = 64
allowed_instance_types = ["t3.*", "m6i.*"]
max_volume_gib = 500
max_ttl = "14d"
max_lifetime = "30d"
min_notice = "2h"

[safety]
max_destructive_per_run = 20
orphan_grace = "3d"
enforce = true
`

// projectTOML returns a project file with the given templates and extra text.
func projectTOML(channel string, owners []string, templates ...string) string {
	return fmt.Sprintf("owners = %s\n\n[slack]\nchannel = %q\n\n%s\n", tomlList(owners), channel, strings.Join(templates, "\n"))
}

func templateTOML(name, typ string, gib int, sshFrom ...string) string {
	cidrs := ""
	if len(sshFrom) > 0 {
		cidrs = "ssh_from = " + tomlList(sshFrom) + "\n"
	}
	return fmt.Sprintf("[[templates]]\nname = %q\nimage = \"ami-0123456789abcdef0\"\ninstance_type = %q\nvolume_gib = %d\n%s", name, typ, gib, cidrs)
}

func tomlList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// recorder is a notify.Sender that keeps what it delivered and can be made
// to fail, like a Slack outage.
type recorder struct {
	mu        sync.Mutex
	down      bool
	failing   string // a channel whose digests fail, "" for none
	delivered []notify.Digest
}

func (r *recorder) Send(_ context.Context, d notify.Digest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down || (r.failing != "" && d.Channel == r.failing) {
		return errors.New("slack is down")
	}
	r.delivered = append(r.delivered, d)
	return nil
}

// failChannel makes the digests of channel fail ("" for none).
func (r *recorder) failChannel(channel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing = channel
}

func (r *recorder) take() []notify.Digest {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.delivered
	r.delivered = nil
	return d
}

// harness is a config repo, an EC2 emulator reached by the real SDK over
// loopback HTTP, a GitHub keys server and a recording Slack (testenv).
type harness struct {
	t        testing.TB
	env      *testenv.Env
	sim      *ec2sim.Sim
	dir      string
	clients  []*cloud.Client
	keysURL  string
	endpoint string
	slack    *recorder
	// memory, if set, is what a serve process remembers across runs.
	memory *Memory
}

func newHarness(t testing.TB, files map[string]string) *harness {
	t.Helper()
	return newHarnessIn(t, files, testRegion)
}

// newHarnessIn is newHarness with clients for the given regions of the test
// account (the config's launchwarden.toml must name the same); only
// testRegion has the test network and image.
func newHarnessIn(t testing.TB, files map[string]string, regions ...string) *harness {
	t.Helper()
	env := testenv.New(t, testenv.Options{Start: t0})
	clients := env.Connect(t, 2, cloud.Account{Name: "test", ID: testAccount, Regions: regions})
	h := &harness{t: t, env: env, sim: env.Sim, dir: t.TempDir(), clients: clients, keysURL: env.KeysURL, endpoint: env.Endpoint, slack: &recorder{}}
	h.write(files)
	return h
}

// The VPC and subnet adminTOML configures, and the owner of the images
// templateTOML names.
const (
	testVPC     = testenv.VPC
	testSubnet  = testenv.Subnet
	fedoraOwner = testenv.ImageOwner
)

// addImage registers a public image like im in region.
func addImage(sim *ec2sim.Sim, region string, im cloud.Image) string {
	return sim.AddImage(region, ec2sim.Image{
		ID: im.ID, OwnerID: cmp.Or(im.OwnerID, fedoraOwner), Name: im.Name, Architecture: im.Architecture,
		RootDeviceName: im.RootDevice, RootVolumeGiB: im.RootVolumeGiB, CreationDate: im.CreationDate,
		DeprecationTime: im.DeprecationTime, Public: true,
	})
}

// write replaces the config repo's files (launchwarden.toml defaults to adminTOML).
func (h *harness) write(files map[string]string) {
	h.t.Helper()
	if err := os.RemoveAll(filepath.Join(h.dir, "projects")); err != nil {
		h.t.Fatal(err)
	}
	if _, ok := files["launchwarden.toml"]; !ok {
		files["launchwarden.toml"] = adminTOML
	}
	testenv.WriteRepo(h.t, h.dir, files)
}

// config loads the repo; project problems are allowed (they freeze), admin
// problems are not.
func (h *harness) config() *projects.Config {
	h.t.Helper()
	cfg, problems := projects.Load(h.dir)
	if cfg.Admin == nil {
		h.t.Fatalf("admin file invalid: %v", problems)
	}
	return cfg
}

// plan observes and plans at the emulator's time.
func (h *harness) plan() *RunPlan {
	h.t.Helper()
	cfg := h.config()
	obs, err := Observe(context.Background(), cfg, h.clients, &sshkeys.Fetcher{BaseURL: h.keysURL}, nil)
	if err != nil {
		h.t.Fatalf("observe: %v", err)
	}
	obs.Memory = h.memory
	return Plan(cfg, obs, h.sim.Now(), "test-run")
}

// run plans and applies once.
func (h *harness) run() (*RunPlan, *Report) {
	h.t.Helper()
	plan := h.plan()
	rep, err := Apply(context.Background(), plan, Deps{Clients: h.clients, Sender: h.slack})
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	return plan, rep
}

// mutatingCalls counts the emulator's calls other than Describe* and
// GetCallerIdentity.
func (h *harness) mutatingCalls() map[string]int {
	out := map[string]int{}
	for action, n := range h.sim.CallCounts() {
		if !strings.HasPrefix(action, "Describe") && action != "GetCallerIdentity" && n > 0 {
			out[action] = n
		}
	}
	return out
}

// templateID returns the ID of the launch template of a project's template,
// as EC2 puts it on the instances it launches (aws:ec2launchtemplate:id).
// A template of the current config is created the way a run creates it (a
// templates-only run, which tells nobody anything); one the config does
// not have is created as an earlier config would have had launchwarden
// create it.
func (h *harness) templateID(project, template string) string {
	h.t.Helper()
	name := Name(project, template)
	if lt, ok := h.templates()[name]; ok {
		return lt.ID
	}
	plan := h.plan().TemplatesOnly()
	plan.Enforce = true // even where the test's admin file has the kill switch on
	if _, err := Apply(context.Background(), plan, Deps{Clients: h.clients}); err != nil {
		h.t.Fatalf("creating templates: %v", err)
	}
	if lt, ok := h.templates()[name]; ok {
		return lt.ID
	}
	return testenv.EarlierTemplate(h.t, h.clients[0], name, project, template)
}

// launched returns tags as an instance launched from a project's template
// has them: EC2's aws:ec2launchtemplate:id, and the template's labels.
// State tags in extra are signed for instance id as launchwarden writes them.
func (h *harness) launched(id, project, template string, extra map[string]string) map[string]string {
	h.t.Helper()
	return testenv.Launched(h.templateID(project, template), id, project, template, extra)
}

// stateTag returns the value of an instance's state tag if its signature
// verifies, and the raw value marked "unsigned: " if it does not.
func (h *harness) stateTag(id, key string) string {
	h.t.Helper()
	raw, ok := h.instance(id).Tags[key]
	if !ok {
		return ""
	}
	return testenv.Verify(id, key, raw)
}

func (h *harness) templates() map[string]ec2sim.LaunchTemplate {
	return h.templatesIn(testRegion)
}

func (h *harness) templatesIn(region string) map[string]ec2sim.LaunchTemplate {
	out := map[string]ec2sim.LaunchTemplate{}
	for _, lt := range h.sim.LaunchTemplates(testAccount, region) {
		out[lt.Name] = lt
	}
	return out
}

// observed returns the managed templates and groups of a region as a run
// reads them, by name: markers verified and without their signatures.
func (h *harness) observed(region string) (map[string]cloud.Template, map[string]cloud.SecurityGroup) {
	h.t.Helper()
	for _, c := range h.clients {
		if c.Region != region {
			continue
		}
		snap, err := c.Observe(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		ts, gs := map[string]cloud.Template{}, map[string]cloud.SecurityGroup{}
		for _, t := range snap.Templates {
			ts[t.Name] = t
		}
		for _, g := range snap.SecurityGroups {
			gs[g.Name] = g
		}
		return ts, gs
	}
	h.t.Fatalf("no client for %s", region)
	return nil, nil
}

func (h *harness) groups() map[string]ec2sim.SecurityGroup {
	out := map[string]ec2sim.SecurityGroup{}
	for _, g := range h.sim.SecurityGroups(testAccount, testRegion) {
		out[g.Name] = g
	}
	return out
}

func (h *harness) instance(id string) ec2sim.Instance {
	h.t.Helper()
	for _, in := range h.sim.Instances(testAccount, testRegion) {
		if in.ID == id {
			return in
		}
	}
	h.t.Fatalf("instance %s not found", id)
	return ec2sim.Instance{}
}
