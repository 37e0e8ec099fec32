package cloud

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// These tests drive the real aws-sdk-go-v2 client against the cloud/ec2sim
// emulator over loopback HTTP and check the state the emulator ends up in.

const defaultAccount = "123456789012"

var simStart = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

// newSim starts an emulator and returns it with its URL.
func newSim(tb testing.TB) (*ec2sim.Sim, string) {
	tb.Helper()
	sim := ec2sim.New(ec2sim.Options{Start: simStart})
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	return sim, srv.URL
}

// hermeticAWSEnv gives the SDK static base credentials and keeps it away from
// the host's AWS configuration.
func hermeticAWSEnv(tb testing.TB) {
	tb.Setenv("AWS_ACCESS_KEY_ID", "AKIDLAUNCHWARDENTEST")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	tb.Setenv("AWS_SESSION_TOKEN", "")
	tb.Setenv("AWS_PROFILE", "")
	tb.Setenv("AWS_REGION", "")
	tb.Setenv("AWS_CONFIG_FILE", "/nonexistent/launchwarden-test")
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/launchwarden-test")
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tb.Setenv("AWS_CA_BUNDLE", "")
}

// connect returns clients for the accounts (by default, the emulator's
// default account in us-east-1), talking to the emulator at url with
// near-zero retry backoff, paced by a pacer that counts tokens but never
// waits (pacer_test.go tests the waits).
func connect(tb testing.TB, url string, accounts ...Account) []*Client {
	tb.Helper()
	hermeticAWSEnv(tb)
	if len(accounts) == 0 {
		accounts = []Account{{Name: "default", ID: defaultAccount, Regions: []string{"us-east-1"}}}
	}
	clients, err := Connect(context.Background(), ConnectOptions{
		EndpointURL: url,
		Accounts:    accounts,
		MaxAttempts: 3,
		MaxBackoff:  time.Millisecond,
		Pacer:       noWaitPacer(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return clients
}

// seed creates n instances of project in the default account and region and
// returns their IDs, sorted.
func seed(sim *ec2sim.Sim, n int, project string, types ...string) []string {
	ids := make([]string, n)
	for i := range ids {
		in := ec2sim.SeedInstance{Tags: map[string]string{TagProject: project, TagTemplate: "fedora"}}
		if len(types) > 0 {
			in.InstanceType = types[i%len(types)]
		}
		ids[i] = sim.Seed(in)
	}
	slices.Sort(ids)
	return ids
}

func instanceIDs(instances []Instance) []string {
	ids := make([]string, 0, len(instances))
	for _, in := range instances {
		ids = append(ids, in.ID)
	}
	slices.Sort(ids)
	return ids
}

func simStates(sim *ec2sim.Sim, account, region string) map[string]string {
	states := make(map[string]string)
	for _, in := range sim.Instances(account, region) {
		states[in.ID] = in.State
	}
	return states
}

func TestObserveSeesOnlyOurs(t *testing.T) {
	tests := []struct {
		name          string
		ours, foreign int
		wantPages     int
	}{
		{name: "empty region", wantPages: 1},
		{name: "one page", ours: 999, foreign: 5, wantPages: 1},
		{name: "exactly one full page", ours: 1000, foreign: 5, wantPages: 1},
		{name: "three pages", ours: 2001, foreign: 5, wantPages: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, url := newSim(t)
			c := connect(t, url)[0]
			ours := seed(sim, tt.ours, "packit", "t3.micro", "m5.large")
			for range tt.foreign {
				sim.Seed(ec2sim.SeedInstance{Tags: map[string]string{"Name": "someone else's"}})
			}
			sim.Seed(ec2sim.SeedInstance{}) // untagged
			sim.ResetCalls()

			snap, err := c.Observe(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ours, instanceIDs(snap.Instances), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("observed instances (-want +got):\n%s", diff)
			}
			if got := sim.Calls("DescribeInstances"); got != tt.wantPages {
				t.Errorf("%d DescribeInstances calls, want %d", got, tt.wantPages)
			}
			if snap.Calls != total(sim.CallCounts()) {
				t.Errorf("snapshot counts %d calls, emulator received %v", snap.Calls, sim.CallCounts())
			}
			wantTypes := map[string]InstanceType{}
			if tt.ours > 0 {
				for _, name := range []string{"t3.micro", "m5.large"} {
					wantTypes[name] = InstanceType{Name: name}
				}
			}
			gotTypes := make(map[string]InstanceType)
			for name, it := range snap.InstanceTypes {
				if it.VCPUs <= 0 || it.MemoryMiB <= 0 {
					t.Errorf("instance type %s has no size: %+v", name, it)
				}
				gotTypes[name] = InstanceType{Name: it.Name}
			}
			if diff := cmp.Diff(wantTypes, gotTypes); diff != "" {
				t.Errorf("instance types (-want +got):\n%s", diff)
			}
		})
	}
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func TestObserveConvertsInstances(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0]
	c.Keys = testKeys(t, strings.Repeat("k", 32))
	lt, err := c.CreateTemplate(t.Context(), "lw-packit-fedora", TemplateData{ImageID: "ami-0123456789abcdef0"},
		map[string]string{TagManaged: "true", TagProject: "packit", TagTemplate: "fedora"})
	if err != nil {
		t.Fatal(err)
	}
	born := simStart.Add(-72 * time.Hour)
	launched := simStart.Add(-2 * time.Hour)
	id := sim.Seed(ec2sim.SeedInstance{
		InstanceType: "m5.large",
		LaunchTime:   launched,
		AttachTime:   born,
		Tags:         map[string]string{tagLaunchTemplateID: lt.ID},
	})
	if res := c.WriteState(t.Context(), map[string]map[string]string{id: {TagExpiresAt: "2026-11-26T00:00:00Z"}}); len(res.Failed) > 0 {
		t.Fatal(res.Failed)
	}

	snap, err := c.Observe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Instances) != 1 {
		t.Fatalf("observed %d instances, want 1", len(snap.Instances))
	}
	want := Instance{
		ID: id, ImageID: "ami-0123456789abcdef0", Type: "m5.large", State: "running",
		Project: "packit", Template: "fedora",
		LaunchTime: launched, BornAt: born,
		ExpiresAt:        time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		LaunchTemplateID: lt.ID,
		Region:           "us-east-1",
		Account:          defaultAccount,
	}
	ignore := cmpopts.IgnoreFields(Instance{}, "SecurityGroupIDs")
	if diff := cmp.Diff(want, snap.Instances[0], ignore); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
}

// armAfter arms a fault once the first call of the listing has been answered,
// so that a later page fails.
type armAfter struct {
	EC2
	arm   func()
	calls int
}

func (a *armAfter) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	a.calls++
	if a.calls == 2 {
		a.arm()
	}
	return a.EC2.DescribeInstances(ctx, in, opts...)
}

func TestObserveFailsOnAnyFailedPage(t *testing.T) {
	tests := []struct {
		name     string
		fault    ec2sim.Fault
		timeout  time.Duration
		wantCode string
	}{
		{name: "server error after retries", fault: ec2sim.Fault{Code: "InternalError", Times: 100}, wantCode: "InternalError"},
		{name: "throttled after retries", fault: ec2sim.Fault{Code: "RequestLimitExceeded", Times: 100}, wantCode: "RequestLimitExceeded"},
		{name: "permission lost", fault: ec2sim.Fault{Code: "UnauthorizedOperation"}, wantCode: "UnauthorizedOperation"},
		{name: "page never answers", fault: ec2sim.Fault{Hang: true, Times: 100}, timeout: 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, url := newSim(t)
			c := connect(t, url)[0]
			seed(sim, 2500, "packit")
			c.api = &armAfter{EC2: c.api, arm: func() { sim.InjectFault("DescribeInstances", tt.fault) }}
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}

			snap, err := c.Observe(ctx)
			if err == nil {
				t.Fatalf("Observe succeeded with %d instances despite a failed page", len(snap.Instances))
			}
			if snap != nil {
				t.Errorf("Observe returned a partial snapshot with %d instances", len(snap.Instances))
			}
			if got := Code(err); got != tt.wantCode {
				t.Errorf("error code %q, want %q (error: %v)", got, tt.wantCode, err)
			}
			if tt.timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want a deadline exceeded", err)
			}
		})
	}
}

func TestStopAndTerminateInBatches(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0]
	ids := seed(sim, 2500, "packit")
	toStop, toTerminate := ids[:2100], ids[2100:]
	sim.ResetCalls()

	stopped := c.StopInstances(t.Context(), toStop)
	terminated := c.TerminateInstances(t.Context(), toTerminate)
	sim.Advance(time.Minute)

	if diff := cmp.Diff(BatchResult{Done: toStop}, stopped, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stop result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(BatchResult{Done: toTerminate}, terminated, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("terminate result (-want +got):\n%s", diff)
	}
	want := make(map[string]string)
	for _, id := range toStop {
		want[id] = "stopped"
	}
	for _, id := range toTerminate {
		want[id] = "terminated"
	}
	if diff := cmp.Diff(want, simStates(sim, defaultAccount, "us-east-1")); diff != "" {
		t.Errorf("instance states (-want +got):\n%s", diff)
	}
	if got := sim.Calls("StopInstances"); got != 3 {
		t.Errorf("%d StopInstances calls for 2100 instances, want 3", got)
	}
	if got := sim.Calls("TerminateInstances"); got != 1 {
		t.Errorf("%d TerminateInstances calls for 400 instances, want 1", got)
	}
}

func TestTerminateSinglesOutProtectedInstance(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0]
	ids := seed(sim, 10, "packit")
	protected := sim.Seed(ec2sim.SeedInstance{
		Tags:                  map[string]string{TagProject: "packit"},
		TerminationProtection: true,
	})
	all := append(slices.Clone(ids), protected)

	res := c.TerminateInstances(t.Context(), all)
	sim.Advance(time.Minute)

	if diff := cmp.Diff(ids, slices.Sorted(slices.Values(res.Done))); diff != "" {
		t.Errorf("done (-want +got):\n%s", diff)
	}
	if err := res.Failed[protected]; !IsTerminationProtected(err) || len(res.Failed) != 1 {
		t.Errorf("failed: %v, want only %s, protected", res.Failed, protected)
	}
	want := map[string]string{protected: "running"}
	for _, id := range ids {
		want[id] = "terminated"
	}
	if diff := cmp.Diff(want, simStates(sim, defaultAccount, "us-east-1")); diff != "" {
		t.Errorf("instance states (-want +got):\n%s", diff)
	}
}

func TestApplyTagsE2E(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0]
	c.Keys = testKeys(t, strings.Repeat("k", 32))
	ids := seed(sim, 1500, "packit")
	changes := make(map[string]map[string]string)
	for i, id := range ids {
		changes[id] = map[string]string{TagNotice: fmt.Sprintf("stop@2026-11-2%dT10:00:00Z", 6+i%2)}
	}
	sim.ResetCalls()

	// Notices are shared values: signed the same on every instance.
	res := c.WriteState(t.Context(), changes)
	if len(res.Failed) > 0 {
		t.Fatalf("tagging failed: %v", res.Failed)
	}
	// Two values over 750 instances each: one call per value.
	if got := sim.Calls("CreateTags"); got != 2 {
		t.Errorf("%d CreateTags calls, want 2", got)
	}
	if res := c.DeleteTags(t.Context(), ids[:10], []string{TagNotice}); len(res.Failed) > 0 {
		t.Fatalf("untagging failed: %v", res.Failed)
	}

	snap, err := c.Observe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]map[string]string)
	for _, in := range snap.Instances {
		if in.Notice != "" {
			got[in.ID] = map[string]string{TagNotice: in.Notice}
		}
	}
	for _, id := range ids[:10] {
		delete(changes, id)
	}
	if diff := cmp.Diff(changes, got); diff != "" {
		t.Errorf("notice tags (-want +got):\n%s", diff)
	}
}

func TestTemplateLifecycle(t *testing.T) {
	_, url := newSim(t)
	c := connect(t, url)[0]
	c.Keys = testKeys(t, strings.Repeat("k", 32))
	ctx := t.Context()
	tags := map[string]string{TagManaged: "true", TagProject: "packit", TagTemplate: "fedora", TagSpec: "v1"}

	tpl, err := c.CreateTemplate(ctx, "lw-packit-fedora", fedora, tags)
	if err != nil {
		t.Fatal(err)
	}
	want := Template{
		ID: tpl.ID, Name: "lw-packit-fedora", DefaultVersion: 1, LatestVersion: 1, Tags: tags,
		Project: "packit", TemplateName: "fedora", Spec: "v1", Managed: true,
		Region: "us-east-1", Account: defaultAccount,
	}
	if diff := cmp.Diff(want, tpl); diff != "" {
		t.Errorf("created template (-want +got):\n%s", diff)
	}
	if _, err := c.CreateTemplate(ctx, "lw-packit-fedora", fedora, tags); !IsAlreadyExists(err) {
		t.Errorf("creating the template twice: got %v, want already exists", err)
	}

	data, version, err := c.TemplateVersionData(ctx, tpl.ID, "$Default")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fedora, data); diff != "" || version != 1 {
		t.Errorf("version %d read back (-want +got):\n%s", version, diff)
	}

	bigger := fedora
	bigger.VolumeGiB = 100
	bigger.UserData = ""
	bigger.HTTPTokensRequired = false
	v2, err := c.CreateTemplateVersion(ctx, tpl.ID, bigger)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDefaultVersion(ctx, tpl.ID, v2); err != nil {
		t.Fatal(err)
	}
	if err := c.TagTemplate(ctx, tpl.ID, tpl.Name, map[string]string{TagSpec: "v2"}); err != nil {
		t.Fatal(err)
	}
	data, version, err = c.TemplateVersionData(ctx, tpl.ID, "$Default")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bigger, data); diff != "" || version != v2 {
		t.Errorf("version %d read back, want %d (-want +got):\n%s", version, v2, diff)
	}

	// A template launchwarden does not manage is not observed.
	if _, err := c.api.CreateLaunchTemplate(ctx, CreateLaunchTemplateInput("someone-elses", fedora, map[string]string{"team": "x"})); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want.DefaultVersion, want.LatestVersion, want.Spec = 2, 2, "v2"
	want.Tags = map[string]string{TagManaged: "true", TagProject: "packit", TagTemplate: "fedora", TagSpec: "v2"}
	if diff := cmp.Diff([]Template{want}, snap.Templates); diff != "" {
		t.Errorf("observed templates (-want +got):\n%s", diff)
	}

	if err := c.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTemplate(ctx, tpl.ID); !IsNotFound(err) {
		t.Errorf("deleting the template twice: got %v, want not found", err)
	}
	if _, _, err := c.TemplateVersionData(ctx, tpl.ID, "$Default"); !IsNotFound(err) {
		t.Errorf("reading a deleted template: got %v, want not found", err)
	}
}

func TestSecurityGroupLifecycle(t *testing.T) {
	_, url := newSim(t)
	c := connect(t, url)[0]
	ctx := t.Context()
	tags := map[string]string{TagManaged: "true", TagProject: "packit", TagTemplate: "fedora"}

	// No VPC: EC2 uses the region's default VPC.
	id, err := c.CreateSecurityGroup(ctx, "lw-packit-fedora", "", "SSH to packit's fedora machines", tags)
	if err != nil {
		t.Fatal(err)
	}
	ssh := []Rule{
		{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "2001:db8::/32"},
		{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "10.0.0.0/8"},
		{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "192.0.2.0/24"},
	}
	if err := c.AuthorizeIngress(ctx, id, ssh); err != nil {
		t.Fatal(err)
	}
	if err := c.AuthorizeIngress(ctx, id, ssh[:1]); !IsAlreadyExists(err) {
		t.Errorf("authorizing a rule twice: got %v, want already exists", err)
	}
	if err := c.RevokeIngress(ctx, id, ssh[2:]); err != nil {
		t.Fatal(err)
	}

	snap, err := c.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.SecurityGroups) != 1 {
		t.Fatalf("observed %d security groups, want 1: %+v", len(snap.SecurityGroups), snap.SecurityGroups)
	}
	got := snap.SecurityGroups[0]
	if got.VPCID == "" {
		t.Error("observed group has no VPC")
	}
	want := SecurityGroup{
		ID: id, Name: "lw-packit-fedora", VPCID: got.VPCID, Tags: tags,
		Project: "packit", TemplateName: "fedora", Managed: true,
		Ingress: ssh[:2],
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b Rule) bool { return a.CIDR < b.CIDR })); diff != "" {
		t.Errorf("observed group (-want +got):\n%s", diff)
	}

	if err := c.DeleteSecurityGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSecurityGroup(ctx, id); !IsNotFound(err) {
		t.Errorf("deleting the group twice: got %v, want not found", err)
	}
}

func TestAssumeRoleSeparatesAccounts(t *testing.T) {
	sim, url := newSim(t)
	clients := connect(t, url,
		Account{Name: "ci", RoleARN: "arn:aws:iam::111111111111:role/launchwarden", Regions: []string{"us-east-1"}},
		Account{Name: "lab", RoleARN: "arn:aws:iam::222222222222:role/launchwarden", Regions: []string{"us-east-1", "eu-west-1"}},
	)
	want := make(map[string][]string) // "account/region" → instance IDs
	for _, c := range clients {
		n := len(c.Account)/4 + len(c.Region) // a different count per account and region
		for range n {
			id := sim.Seed(ec2sim.SeedInstance{Account: c.Account, Region: c.Region, Tags: map[string]string{TagProject: "packit"}})
			want[c.String()] = append(want[c.String()], id)
		}
		slices.Sort(want[c.String()])
	}

	snaps, err := ObserveAll(t.Context(), clients)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string][]string)
	for _, s := range snaps {
		got[s.Account+"/"+s.Region] = instanceIDs(s.Instances)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances per account and region (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"111111111111/us-east-1", "222222222222/eu-west-1", "222222222222/us-east-1"},
		slices.Sorted(maps.Keys(got))); diff != "" {
		t.Errorf("observed account/regions (-want +got):\n%s", diff)
	}

	// Stopping in one account leaves the other alone.
	lab := clients[2]
	if res := lab.StopInstances(t.Context(), want[lab.String()]); len(res.Failed) > 0 {
		t.Fatalf("stopping: %v", res.Failed)
	}
	sim.Advance(time.Minute)
	for _, c := range clients {
		wantState := "running"
		if c == lab {
			wantState = "stopped"
		}
		for id, state := range simStates(sim, c.Account, c.Region) {
			if state != wantState {
				t.Errorf("%s in %s is %s, want %s", id, c, state, wantState)
			}
		}
	}
}

func TestObserveAllIsAllOrNothing(t *testing.T) {
	sim, url := newSim(t)
	clients := connect(t, url, Account{Name: "ci", ID: defaultAccount, Regions: []string{"us-east-1", "eu-west-1", "ap-south-1"}})
	for _, c := range clients {
		sim.Seed(ec2sim.SeedInstance{Region: c.Region, Tags: map[string]string{TagProject: "packit"}})
	}
	sim.InjectFault("DescribeSecurityGroups", ec2sim.Fault{Code: "UnauthorizedOperation"})

	snaps, err := ObserveAll(t.Context(), clients)
	if !IsAuth(err) {
		t.Errorf("ObserveAll error %v, want the authorization failure", err)
	}
	if snaps != nil {
		t.Errorf("ObserveAll returned %d snapshots despite a failed region", len(snaps))
	}
}

func TestReadOnlyClientReachesNothing(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0].ReadOnly()
	ids := seed(sim, 3, "packit")
	sim.ResetCalls()

	snap, err := c.Observe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	res := c.TerminateInstances(t.Context(), instanceIDs(snap.Instances))

	if len(res.Done) != 0 || len(res.Failed) != len(ids) {
		t.Errorf("read-only terminate: %+v", res)
	}
	for id, state := range simStates(sim, defaultAccount, "us-east-1") {
		if state != "running" {
			t.Errorf("%s is %s after a read-only run", id, state)
		}
	}
	if got := sim.Calls("TerminateInstances"); got != 0 {
		t.Errorf("%d TerminateInstances calls reached EC2", got)
	}
}

func TestObserveStoppedInstance(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0]
	born := simStart.Add(-24 * time.Hour)
	id := sim.Seed(ec2sim.SeedInstance{LaunchTime: born, AttachTime: born, Tags: map[string]string{TagProject: "packit"}})
	sim.Advance(time.Hour)
	stoppedAt := sim.Now()
	if res := c.StopInstances(t.Context(), []string{id}); len(res.Failed) > 0 {
		t.Fatal(res.Failed)
	}
	sim.Advance(time.Hour)

	snap, err := c.Observe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Instances) != 1 {
		t.Fatalf("observed %d instances, want 1", len(snap.Instances))
	}
	type times struct {
		State             string
		BornAt, StoppedAt time.Time
	}
	in := snap.Instances[0]
	want := times{State: "stopped", BornAt: born, StoppedAt: stoppedAt}
	if diff := cmp.Diff(want, times{in.State, in.BornAt, in.StoppedAt}); diff != "" {
		t.Errorf("stopped instance (-want +got):\n%s", diff)
	}
}

func TestObserveWaitsOutThrottling(t *testing.T) {
	sim, url := newSim(t)
	c := connect(t, url)[0] // 3 attempts per call
	ids := seed(sim, 1500, "packit")
	sim.InjectFault("DescribeInstances", ec2sim.Fault{Code: "RequestLimitExceeded", Times: 2})

	snap, err := c.Observe(t.Context())
	if err != nil {
		t.Fatalf("Observe gave up on a throttle the retryer should wait out: %v", err)
	}
	if diff := cmp.Diff(ids, instanceIDs(snap.Instances)); diff != "" {
		t.Errorf("observed instances (-want +got):\n%s", diff)
	}
}
