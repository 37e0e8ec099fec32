package reconcile

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	adminChan   = "#lw-admins"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

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
// loopback HTTP, a GitHub keys server and a recording Slack.
type harness struct {
	t        testing.TB
	sim      *ec2sim.Sim
	dir      string
	clients  []*cloud.Client
	keysURL  string
	endpoint string
	slack    *recorder
	// state signs and verifies state tags, as the admin file's key would.
	state *cloud.StateKeys
}

// testStateKey is the state key of the test harnesses.
const testStateKey = "test-state-key-0123456789abcdef-0123456789abcdef"

func newStateKeys(t testing.TB) *cloud.StateKeys {
	k, err := cloud.NewStateKeys([]byte(testStateKey))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newHarness(t testing.TB, files map[string]string) *harness {
	t.Helper()
	return newHarnessIn(t, files, testRegion)
}

// newHarnessIn is newHarness with clients for the given regions of the test
// account (the config's launchwarden.toml must name the same).
func newHarnessIn(t testing.TB, files map[string]string, regions ...string) *harness {
	t.Helper()
	sim := ec2sim.New(ec2sim.Options{Start: t0})
	seedNetworkAndImage(sim)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	gh := httptest.NewServer(keysHandler(t))
	t.Cleanup(gh.Close)

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", testRegion)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	clients, err := cloud.Connect(context.Background(), cloud.ConnectOptions{
		EndpointURL: srv.URL,
		Accounts:    []cloud.Account{{Name: "test", ID: testAccount, Regions: regions}},
		MaxAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	state := newStateKeys(t)
	for _, c := range clients {
		c.Keys = state
	}
	h := &harness{t: t, sim: sim, dir: t.TempDir(), clients: clients, keysURL: gh.URL, endpoint: srv.URL, slack: &recorder{}, state: state}
	h.write(files)
	return h
}

// The VPC and subnet adminTOML configures, and the image templateTOML names.
const (
	testVPC     = "vpc-0123456789abcdef0"
	testSubnet  = "subnet-0123456789abcdef0"
	fedoraOwner = "125523088429"
)

// seedNetworkAndImage gives the emulator what the test config names: its
// VPC with one subnet, and testImage, public in the test region.
func seedNetworkAndImage(sim *ec2sim.Sim) {
	sim.AddVPC(testAccount, testRegion, ec2sim.VPC{ID: testVPC, CIDR: "10.0.0.0/16"})
	sim.AddSubnet(testAccount, testRegion, ec2sim.Subnet{ID: testSubnet, VPCID: testVPC, AvailabilityZone: "us-east-1a", CIDR: "10.0.1.0/24"})
	addImage(sim, testRegion, testImage)
}

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
	if err := os.MkdirAll(filepath.Join(h.dir, "projects"), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if _, ok := files["launchwarden.toml"]; !ok {
		files["launchwarden.toml"] = adminTOML
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(h.dir, name), []byte(text), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
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
	lt, err := h.clients[0].CreateTemplate(context.Background(), name, cloud.TemplateData{ImageID: "ami-0123456789abcdef0"}, managedTags(project, template))
	if err != nil {
		h.t.Fatal(err)
	}
	return lt.ID
}

// launched returns tags as an instance launched from a project's template
// has them: EC2's aws:ec2launchtemplate:id, and the template's labels.
// State tags in extra are signed for instance id as launchwarden writes them.
func (h *harness) launched(id, project, template string, extra map[string]string) map[string]string {
	h.t.Helper()
	tags := map[string]string{"aws:ec2launchtemplate:id": h.templateID(project, template), cloud.TagProject: project, cloud.TagTemplate: template}
	for k, v := range extra {
		if cloud.IsStateTag(k) {
			scope := id
			if k == cloud.TagNotice {
				scope = ""
			}
			v = h.state.Sign(scope, k, v)
		}
		tags[k] = v
	}
	return tags
}

// stateTag returns the value of an instance's state tag if its signature
// verifies, and the raw value marked "unsigned: " if it does not.
func (h *harness) stateTag(id, key string) string {
	h.t.Helper()
	raw, ok := h.instance(id).Tags[key]
	if !ok {
		return ""
	}
	scope := id
	if key == cloud.TagNotice {
		scope = ""
	}
	if v, ok := h.state.Verify(scope, key, raw); ok {
		return v
	}
	return "unsigned: " + raw
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

// userKeys are deterministic ed25519 keys per GitHub user.
var userKeys sync.Map

func keyLine(t testing.TB, user string) string {
	if v, ok := userKeys.Load(user); ok {
		return v.(string)
	}
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, user)
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	userKeys.Store(user, line)
	return line
}

// keysHandler serves /<user>.keys; users named "ghost" do not exist, and
// under /broken-for-carol/ carol's keys fail with a 503.
func keysHandler(t testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := strings.TrimSuffix(path.Base(r.URL.Path), ".keys")
		if user == "ghost" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/broken-for-carol/carol.keys" {
			http.Error(w, "unicorn", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, keyLine(t, user))
	})
}
