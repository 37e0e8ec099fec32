package reconcile

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
)

func twoProjects() map[string]string {
	return map[string]string{
		"projects/packit.toml": projectTOML("#packit", []string{"alice", "bob"},
			templateTOML("fedora", "t3.large", 40, "203.0.113.0/24", "2001:db8::/32"),
			templateTOML("centos", "m6i.xlarge", 80)),
		"projects/cockpit.toml": projectTOML("#cockpit", []string{"carol"},
			templateTOML("debian", "t3.medium", 20, "198.51.100.7/32")),
	}
}

func TestFreshAccountGetsEveryTemplateAndGroup(t *testing.T) {
	h := newHarness(t, twoProjects())
	_, rep := h.run()
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}

	groups := h.groups()
	templates := h.templates()
	wantNames := []string{"lw-cockpit-debian", "lw-packit-centos", "lw-packit-fedora"}
	if got := mapKeys(templates); !cmp.Equal(got, wantNames) {
		t.Fatalf("templates = %v, want %v", got, wantNames)
	}
	if got := mapKeys(groups); !cmp.Equal(got, wantNames) {
		t.Fatalf("groups = %v, want %v", got, wantNames)
	}

	// SSH only from ssh_from; none at all when it is empty.
	wantRules := map[string][]string{
		"lw-packit-fedora":  {"tcp 22-22 2001:db8::/32", "tcp 22-22 203.0.113.0/24"},
		"lw-packit-centos":  nil,
		"lw-cockpit-debian": {"tcp 22-22 198.51.100.7/32"},
	}
	for name, want := range wantRules {
		g := groups[name]
		var got []string
		for _, r := range g.Ingress {
			got = append(got, ruleString(r))
		}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s ingress (-want +got):\n%s", name, diff)
		}
		if g.VpcID != "vpc-0123456789abcdef0" {
			t.Errorf("%s in VPC %q, want the admin's", name, g.VpcID)
		}
		if g.Tags[cloud.TagManaged] != "true" {
			t.Errorf("%s tags = %v, want managed", name, g.Tags)
		}
	}

	lt := templates["lw-packit-fedora"]
	v, ok := lt.Version(lt.DefaultVersion)
	if !ok {
		t.Fatalf("no default version: %+v", lt)
	}
	d := v.Data
	if d.ImageID != "ami-0123456789abcdef0" || d.InstanceType != "t3.large" {
		t.Errorf("image/type = %s/%s", d.ImageID, d.InstanceType)
	}
	if len(d.BlockDevices) != 1 || d.BlockDevices[0].DeviceName != "/dev/sda1" || d.BlockDevices[0].VolumeSize != 40 || d.BlockDevices[0].VolumeType != "gp3" || !aws.ToBool(d.BlockDevices[0].Encrypted) {
		t.Errorf("block devices = %+v, want one encrypted 40 GiB gp3 on the image's root device /dev/sda1", d.BlockDevices)
	}
	if d.Metadata == nil || d.Metadata.HTTPTokens != "required" || d.Metadata.HopLimit != 1 {
		t.Errorf("metadata = %+v, want IMDSv2 with hop limit 1", d.Metadata)
	}
	if len(d.NetworkInterfaces) != 1 || !cmp.Equal(d.NetworkInterfaces[0].SecurityGroupIDs, []string{groups["lw-packit-fedora"].ID}) || d.NetworkInterfaces[0].SubnetID != testSubnet {
		t.Errorf("network interfaces = %+v, want one with the template's own group in the admin's subnet", d.NetworkInterfaces)
	}
	for _, user := range []string{"alice", "bob"} {
		if !strings.Contains(decode(t, d.UserData), testenv.KeyLine(t, user)) {
			t.Errorf("user data lacks %s's key:\n%s", user, decode(t, d.UserData))
		}
	}
	for _, ts := range d.TagSpecifications {
		tags := map[string]string{}
		for _, tag := range ts.Tags {
			tags[tag.Key] = tag.Value
		}
		if tags[cloud.TagProject] != "packit" || tags[cloud.TagTemplate] != "fedora" {
			t.Errorf("tag specification %s = %v, want project and template tags", ts.ResourceType, tags)
		}
	}
	if ts, _ := h.observed(testRegion); ts[lt.Name].Spec == "" || ts[lt.Name].Tags[TagVersion] != "1" || ts[lt.Name].Tags[cloud.TagManaged] != "true" || ts[lt.Name].Forged != nil {
		t.Errorf("template tags = %v, forged %v", ts[lt.Name].Tags, ts[lt.Name].Forged)
	}
}

func TestSteadyRunMakesNoMutatingCalls(t *testing.T) {
	h := newHarness(t, twoProjects())
	h.run()
	h.sim.ResetCalls()
	plan, _ := h.run()
	if c := plan.Counts(); c != (Counts{}) {
		t.Errorf("second plan = %+v, want nothing to do", c)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("second run made mutating calls: %v", got)
	}
	// The lower bound: the account's identity, one page per resource kind,
	// the templates' instance types (for their architectures) and image ids
	// in one call each, and the configured subnet.
	want := map[string]int{
		"GetCallerIdentity": 1, "DescribeInstances": 1, "DescribeLaunchTemplates": 1, "DescribeSecurityGroups": 1,
		"DescribeInstanceTypes": 1, "DescribeImages": 1, "DescribeSubnets": 1,
	}
	if diff := cmp.Diff(want, h.sim.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestEditingSizeMakesOneNewDefaultVersion(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run()
	before := h.templates()

	files["projects/packit.toml"] = strings.Replace(files["projects/packit.toml"], "volume_gib = 40", "volume_gib = 60", 1)
	h.write(files)
	h.sim.ResetCalls()
	h.run()

	after := h.templates()
	for name, lt := range after {
		if name == "lw-packit-fedora" {
			continue
		}
		if lt.LatestVersion != before[name].LatestVersion {
			t.Errorf("%s got a new version", name)
		}
	}
	lt := after["lw-packit-fedora"]
	if lt.LatestVersion != 2 || lt.DefaultVersion != 2 {
		t.Fatalf("fedora versions latest=%d default=%d, want 2 and 2", lt.LatestVersion, lt.DefaultVersion)
	}
	v, _ := lt.Version(2)
	if got := v.Data.BlockDevices[0].VolumeSize; got != 60 {
		t.Errorf("new version volume = %d GiB, want 60", got)
	}
	want := map[string]int{"CreateLaunchTemplateVersion": 1, "ModifyLaunchTemplate": 1, "CreateTags": 1}
	if diff := cmp.Diff(want, h.mutatingCalls()); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	h.sim.ResetCalls()
	h.run()
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("run after the update made mutating calls: %v", got)
	}
}

func TestRemovedTemplateIsDeletedWithItsGroup(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run()
	files["projects/packit.toml"] = projectTOML("#packit", []string{"alice", "bob"},
		templateTOML("fedora", "t3.large", 40, "203.0.113.0/24", "2001:db8::/32"))
	h.write(files)
	h.run()
	if _, ok := h.templates()["lw-packit-centos"]; ok {
		t.Error("template of the removed entry still exists")
	}
	if _, ok := h.groups()["lw-packit-centos"]; ok {
		t.Error("group of the removed entry still exists")
	}
	if len(h.templates()) != 2 || len(h.groups()) != 2 {
		t.Errorf("other templates or groups were touched: %v %v", mapKeys(h.templates()), mapKeys(h.groups()))
	}
}

func TestHandChangedDefaultVersionIsRestored(t *testing.T) {
	h := newHarness(t, twoProjects())
	h.run()
	lt := h.templates()["lw-cockpit-debian"]

	// Someone adds a version by hand and makes it the default.
	api := rawEC2(t, h)
	_, err := api.CreateLaunchTemplateVersion(context.Background(), &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(lt.ID),
		SourceVersion:      aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Xlarge},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.ModifyLaunchTemplate(context.Background(), &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: aws.String(lt.ID),
		DefaultVersion:   aws.String("2"),
	}); err != nil {
		t.Fatal(err)
	}

	plan, _ := h.run()
	var reasons []string
	for _, tc := range plan.Regions[0].Templates {
		reasons = append(reasons, tc.Op+" "+tc.Name)
	}
	if diff := cmp.Diff([]string{"restore-default lw-cockpit-debian"}, reasons); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if got := h.templates()["lw-cockpit-debian"].DefaultVersion; got != 1 {
		t.Errorf("default version = %d, want 1 restored", got)
	}
}

func TestFrozenProjectIsLeftAlone(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run()
	h.slack.take()
	// A broken edit that would also drop a template: nothing may change.
	files["projects/packit.toml"] = projectTOML("#packit", []string{"alice"}, templateTOML("fedora", "t3.large", 40)) + "\nunknown_key = 1\n"
	h.write(files)
	h.sim.ResetCalls()
	plan, _ := h.run()
	if !cmp.Equal(plan.Frozen, []string{"packit"}) {
		t.Fatalf("frozen = %v, want [packit]", plan.Frozen)
	}
	if _, ok := h.templates()["lw-packit-centos"]; !ok {
		t.Error("frozen project's template was deleted")
	}
	if got := h.templates()["lw-packit-fedora"].LatestVersion; got != 1 {
		t.Errorf("frozen project's template got version %d", got)
	}
	// The admins and the team, which owns the file, hear of it once.
	var kinds []string
	for _, d := range h.slack.take() {
		for _, n := range d.Notices {
			kinds = append(kinds, d.Channel+" "+string(n.Kind)+" "+n.Project)
		}
	}
	slices.Sort(kinds)
	if diff := cmp.Diff([]string{"#lw-admins frozen packit", "#packit frozen packit"}, kinds); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	h.run()
	if got := h.slack.take(); len(got) != 0 {
		t.Errorf("second run with the same problem sent %d digests", len(got))
	}
}

func TestLaunchFromTemplateCarriesTagsIMDSv2AndEncryption(t *testing.T) {
	h := newHarness(t, twoProjects())
	h.run()
	api := rawEC2(t, h)
	out, err := api.RunInstances(context.Background(), &ec2.RunInstancesInput{
		MinCount:       aws.Int32(1),
		MaxCount:       aws.Int32(1),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("lw-packit-fedora"), Version: aws.String("$Default")},
	})
	if err != nil {
		t.Fatal(err)
	}
	in := h.instance(aws.ToString(out.Instances[0].InstanceId))
	if in.Tags[cloud.TagProject] != "packit" || in.Tags[cloud.TagTemplate] != "fedora" {
		t.Errorf("instance tags = %v", in.Tags)
	}
	if in.Metadata.HTTPTokens != "required" {
		t.Errorf("metadata = %+v, want IMDSv2 required", in.Metadata)
	}
	if len(in.Volumes) == 0 || !in.Volumes[0].Encrypted || in.Volumes[0].Tags[cloud.TagProject] != "packit" {
		t.Errorf("root volume = %+v, want encrypted and tagged", in.Volumes)
	}
	// The next run sees it as packit's and leaves it alone while young.
	plan := h.plan()
	if c := plan.Counts(); c != (Counts{}) {
		t.Errorf("plan after launch = %+v, want nothing", c)
	}
	if u := plan.Usage["packit"]; u.Instances != 1 {
		t.Errorf("packit usage = %+v, want 1 instance", u)
	}
}

func TestGitHubDownKeepsCurrentKeys(t *testing.T) {
	files := twoProjects()
	h := newHarness(t, files)
	h.run()
	before := h.templates()["lw-cockpit-debian"]

	// carol's keys can no longer be fetched and a second user is added.
	files["projects/cockpit.toml"] = projectTOML("#cockpit", []string{"carol"},
		templateTOML("debian", "t3.medium", 20, "198.51.100.7/32")+"ssh_keys_from_github = [\"carol\", \"dave\"]\n")
	h.write(files)
	h.keysURL = h.keysURL + "/broken-for-carol"
	plan, _ := h.run()
	lt := h.templates()["lw-cockpit-debian"]
	v, _ := lt.Version(lt.DefaultVersion)
	if lt.LatestVersion == before.LatestVersion {
		t.Fatalf("no new version for the added user")
	}
	ud := decode(t, v.Data.UserData)
	if !strings.Contains(ud, testenv.KeyLine(t, "carol")) {
		t.Errorf("carol's key was dropped while GitHub failed:\n%s", ud)
	}
	if !strings.Contains(ud, testenv.KeyLine(t, "dave")) {
		t.Errorf("dave's key is missing:\n%s", ud)
	}
	var warned bool
	for _, w := range plan.Warnings {
		warned = warned || strings.Contains(w, "kept the current SSH keys of carol")
	}
	if !warned {
		t.Errorf("plan warnings = %q, want one about carol's kept keys", plan.Warnings)
	}
}

func ruleString(r ec2sim.Rule) string {
	return fmt.Sprintf("%s %d-%d %s%s", r.Protocol, r.FromPort, r.ToPort, r.CIDR, r.CIDRv6)
}

// decode returns user data as EC2 stores it (base64) in plain text.
func decode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("user data is not base64: %v", err)
	}
	return string(b)
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rawEC2 is an SDK client for the emulator, standing for a user outside
// launchwarden (the Launch service, or someone with the console).
func rawEC2(t *testing.T, h *harness) *ec2.Client {
	t.Helper()
	return ec2.New(ec2.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(h.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDUSER", "secret", ""),
	})
}
