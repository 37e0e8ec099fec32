package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/cloud/launchtest"
	"github.com/launchwarden/launchwarden/notify"
)

// These tests run launchwarden against EC2 as it is: regional image ids,
// images whose root device is /dev/sda1, instance types of one
// architecture, subnets of a configured VPC, credentials of another
// account, and launches that override the template as the provisioning
// service's do.

const euRegion = "eu-central-1"

// twoRegionAdmin manages us-east-1 (in the test VPC) and eu-central-1 (in
// its default VPC).
var twoRegionAdmin = strings.Replace(adminTOML, `regions = ["us-east-1"]
vpc_id = "vpc-0123456789abcdef0"`, `regions = ["us-east-1", "eu-central-1"]

[aws.accounts.networks.us-east-1]
vpc_id = "vpc-0123456789abcdef0"
subnet_ids = ["subnet-0123456789abcdef0"]`, 1)

const fedoraSelector = `[[templates]]
name = "fedora"
instance_type = "t3.large"

[templates.image]
owners = ["125523088429"]
name = "Fedora-Cloud-Base-Generic-41-*"
architecture = "x86_64"
`

func fedoraImage(id, date string) cloud.Image {
	created, err := time.Parse("20060102", date)
	if err != nil {
		panic(err)
	}
	return cloud.Image{
		ID: id, Name: "Fedora-Cloud-Base-Generic-41-" + date + ".0.x86_64", OwnerID: fedoraOwner, Architecture: "x86_64",
		RootDevice: "/dev/sda1", RootVolumeGiB: 5, CreationDate: created,
	}
}

func defaultData(t *testing.T, h *harness, region, name string) ec2sim.LaunchTemplateData {
	t.Helper()
	lt, ok := h.templatesIn(region)[name]
	if !ok {
		t.Fatalf("no template %s in %s", name, region)
	}
	v, ok := lt.Version(lt.DefaultVersion)
	if !ok {
		t.Fatalf("%s in %s has no default version", name, region)
	}
	return v.Data
}

func noticesOf(digests []notify.Digest, kind notify.Kind) []string {
	var out []string
	for _, d := range digests {
		for _, n := range d.Notices {
			if n.Kind == kind {
				out = append(out, d.Channel+": "+n.Reason)
			}
		}
	}
	return out
}

func TestSelectorResolvesPerRegionAndANewerImageIsAnnounced(t *testing.T) {
	h := newHarnessIn(t, map[string]string{
		"launchwarden.toml":    twoRegionAdmin,
		"projects/packit.toml": projectTOML("#packit", []string{"alice"}, fedoraSelector),
	}, testRegion, euRegion)
	us1 := fedoraImage("ami-0000000000000a001", "20261105")
	eu1 := fedoraImage("ami-0000000000000e001", "20261105")
	addImage(h.sim, testRegion, us1)
	addImage(h.sim, euRegion, eu1)
	// Neither another name, nor an arm64 build, nor another owner's copy match.
	addImage(h.sim, testRegion, cloud.Image{ID: "ami-0000000000000a0ff", Name: "Fedora-Cloud-Base-Generic-42-20261130.0.x86_64", Architecture: "x86_64", RootDevice: "/dev/sda1", CreationDate: t0})
	addImage(h.sim, testRegion, cloud.Image{ID: "ami-0000000000000a0fe", Name: "Fedora-Cloud-Base-Generic-41-20261130.0.aarch64", Architecture: "arm64", RootDevice: "/dev/sda1", CreationDate: t0})
	addImage(h.sim, testRegion, cloud.Image{ID: "ami-0000000000000a0fd", OwnerID: "999999999999", Name: "Fedora-Cloud-Base-Generic-41-20261130.0.x86_64", Architecture: "x86_64", RootDevice: "/dev/sda1", CreationDate: t0})

	plan, rep := h.run()
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := plan.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"launch template lw-packit-fedora: create (new template): Fedora-Cloud-Base-Generic-41-20261105.0.x86_64 (ami-0000000000000a001), t3.large, root /dev/sda1 (the image's 5 GiB",
		"launch template lw-packit-fedora: create (new template): Fedora-Cloud-Base-Generic-41-20261105.0.x86_64 (ami-0000000000000e001), t3.large, root /dev/sda1 (the image's 5 GiB",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, text.String())
		}
	}
	for region, want := range map[string]string{testRegion: us1.ID, euRegion: eu1.ID} {
		d := defaultData(t, h, region, "lw-packit-fedora")
		if d.ImageID != want {
			t.Errorf("%s: template image %s, want %s", region, d.ImageID, want)
		}
		if len(d.BlockDevices) != 1 || d.BlockDevices[0].DeviceName != "/dev/sda1" || d.BlockDevices[0].VolumeSize != 0 {
			t.Errorf("%s: block devices %+v, want the root /dev/sda1 with the image's size", region, d.BlockDevices)
		}
	}
	if d := defaultData(t, h, testRegion, "lw-packit-fedora"); len(d.NetworkInterfaces) != 1 || d.NetworkInterfaces[0].SubnetID != testSubnet {
		t.Errorf("us-east-1 interfaces %+v, want the configured subnet", d.NetworkInterfaces)
	}
	if d := defaultData(t, h, euRegion, "lw-packit-fedora"); len(d.NetworkInterfaces) != 1 || d.NetworkInterfaces[0].SubnetID != "" {
		t.Errorf("eu-central-1 interfaces %+v, want no subnet (the default VPC's)", d.NetworkInterfaces)
	}
	// A launch gets one encrypted root volume, on the image's /dev/sda1 and
	// of the image's size: no second, empty disk.
	lt := h.templatesIn(euRegion)["lw-packit-fedora"]
	ids, err := launchtest.Launch(context.Background(), launchtest.Client(h.endpoint, euRegion, "AKIDUSER"), launchtest.Request{TemplateID: lt.ID})
	if err != nil {
		t.Fatal(err)
	}
	var launched ec2sim.Instance
	for _, in := range h.sim.Instances(testAccount, euRegion) {
		if in.ID == ids[0] {
			launched = in
		}
	}
	if len(launched.Volumes) != 1 || launched.Volumes[0].DeviceName != "/dev/sda1" || launched.Volumes[0].SizeGiB != 5 || !launched.Volumes[0].Encrypted {
		t.Errorf("launched volumes %+v, want one encrypted 5 GiB root on /dev/sda1", launched.Volumes)
	}
	h.slack.take()

	// Fedora publishes a newer build in us-east-1 only.
	us2 := fedoraImage("ami-0000000000000a002", "20261122")
	addImage(h.sim, testRegion, us2)
	plan, rep = h.run()
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if got := defaultData(t, h, testRegion, "lw-packit-fedora").ImageID; got != us2.ID {
		t.Errorf("us-east-1 template launches %s, want the newer %s", got, us2.ID)
	}
	if ts, _ := h.observed(testRegion); ts["lw-packit-fedora"].DefaultVersion != 2 || ts["lw-packit-fedora"].Tags[TagImage] != us2.ID+" "+us2.Name {
		lt := ts["lw-packit-fedora"]
		t.Errorf("us-east-1 template default %d, tags %v; want version 2 naming the new image", lt.DefaultVersion, lt.Tags)
	}
	if lt := h.templatesIn(euRegion)["lw-packit-fedora"]; lt.DefaultVersion != 1 {
		t.Errorf("eu-central-1 template default %d, want 1 (no newer image there)", lt.DefaultVersion)
	}
	want := []string{"#packit: image updated: Fedora-Cloud-Base-Generic-41-20261105.0.x86_64 → Fedora-Cloud-Base-Generic-41-20261122.0.x86_64"}
	if diff := cmp.Diff(want, noticesOf(h.slack.take(), notify.KindTemplateChanged)); diff != "" {
		t.Errorf("template notices (-want +got):\n%s", diff)
	}

	// Then all is steady: nothing written, nothing said.
	h.sim.ResetCalls()
	plan, _ = h.run()
	if c := plan.Counts(); c != (Counts{}) {
		t.Errorf("third plan %+v, want nothing", c)
	}
	if got := h.mutatingCalls(); len(got) != 0 {
		t.Errorf("steady run made mutating calls: %v", got)
	}
	if got := h.slack.take(); len(got) != 0 {
		t.Errorf("steady run sent %d digests", len(got))
	}
}

func TestPinKeepsTheCurrentImage(t *testing.T) {
	h := newHarness(t, map[string]string{
		"projects/packit.toml": projectTOML("#packit", []string{"alice"}, fedoraSelector+"pin = true\n"),
	})
	old := fedoraImage("ami-0000000000000a001", "20261105")
	addImage(h.sim, testRegion, old)
	h.run()
	addImage(h.sim, testRegion, fedoraImage("ami-0000000000000a002", "20261122"))
	plan, _ := h.run()
	if c := plan.Counts(); c.TemplateChanges != 0 {
		t.Errorf("pinned template changed: %+v", plan.Regions[0].Templates)
	}
	if got := defaultData(t, h, testRegion, "lw-packit-fedora").ImageID; got != old.ID {
		t.Errorf("pinned template launches %s, want %s", got, old.ID)
	}
}

func TestNoImageInARegionHoldsThatRegionOnlyAndIsToldOnce(t *testing.T) {
	h := newHarnessIn(t, map[string]string{
		"launchwarden.toml":    twoRegionAdmin,
		"projects/packit.toml": projectTOML("#packit", []string{"alice"}, fedoraSelector),
	}, testRegion, euRegion)
	addImage(h.sim, testRegion, fedoraImage("ami-0000000000000a001", "20261105"))

	plan, _ := h.run()
	if _, ok := h.templatesIn(testRegion)["lw-packit-fedora"]; !ok {
		t.Error("us-east-1 template not created")
	}
	if _, ok := h.templatesIn(euRegion)["lw-packit-fedora"]; ok {
		t.Error("eu-central-1 template created without an image")
	}
	if len(plan.HeldTemplates) != 1 || plan.HeldTemplates[0].Region != euRegion {
		t.Fatalf("held templates %+v, want eu-central-1's", plan.HeldTemplates)
	}
	wantProblem := `projects/packit.toml:10: image: no available x86_64 image named "Fedora-Cloud-Base-Generic-41-*" owned by 125523088429 in eu-central-1`
	if diff := cmp.Diff([]string{wantProblem}, plan.HeldTemplates[0].Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	want := []string{
		"#packit: lw-packit-fedora left as it is in 123456789012/eu-central-1",
		"#lw-admins: lw-packit-fedora left as it is in 123456789012/eu-central-1",
	}
	if diff := cmp.Diff(want, noticesOf(h.slack.take(), notify.KindTemplateHeld)); diff != "" {
		t.Errorf("held notices (-want +got):\n%s", diff)
	}
	h.run()
	if got := noticesOf(h.slack.take(), notify.KindTemplateHeld); len(got) != 0 {
		t.Errorf("the same problem was announced again: %v", got)
	}

	// The image appears in eu-central-1: the template follows.
	eu := fedoraImage("ami-0000000000000e001", "20261105")
	addImage(h.sim, euRegion, eu)
	plan, _ = h.run()
	if len(plan.HeldTemplates) != 0 {
		t.Errorf("still held: %+v", plan.HeldTemplates)
	}
	if got := defaultData(t, h, euRegion, "lw-packit-fedora").ImageID; got != eu.ID {
		t.Errorf("eu-central-1 template launches %s, want %s", got, eu.ID)
	}
	for _, g := range h.sim.SecurityGroups(testAccount, euRegion) {
		if g.Tags[TagHeld] != "" {
			t.Errorf("group %s still carries %s", g.Name, TagHeld)
		}
	}
}

func TestImageChecksHoldTemplatesWithTheirLine(t *testing.T) {
	h := newHarness(t, map[string]string{
		"projects/packit.toml": projectTOML("#packit", []string{"alice"},
			templateTOML("fedora", "t3.large", 40),
			templateTOML("graviton", "t3.large", 40)+"\n", // replaced below
		),
	})
	// t4g runs arm64 only; the image is x86_64. And 4 GiB is below its 5.
	files := map[string]string{"projects/packit.toml": projectTOML("#packit", []string{"alice"},
		templateTOML("fedora", "t3.large", 40),
		"[[templates]]\nname = \"graviton\"\nimage = \"ami-0123456789abcdef0\"\ninstance_type = \"t4g.large\"\n",
		"[[templates]]\nname = \"tiny\"\nimage = \"ami-0123456789abcdef0\"\ninstance_type = \"t3.large\"\nvolume_gib = 4\n",
	)}
	files["launchwarden.toml"] = strings.Replace(adminTOML, `allowed_instance_types = ["t3.*", "m6i.*"]`, `allowed_instance_types = ["t3.*", "t4g.*", "m6i.*"]`, 1)
	h.write(files)
	plan, rep := h.run()
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, held := range plan.HeldTemplates {
		got = append(got, held.Problems...)
	}
	want := []string{
		"projects/packit.toml:15: instance_type: t4g.large runs arm64, not x86_64, the architecture of image Fedora-Cloud-Base-Generic-41-20261101.0.x86_64 (ami-0123456789abcdef0)",
		"projects/packit.toml:21: volume_gib: 4 GiB is smaller than the 5 GiB snapshot of image Fedora-Cloud-Base-Generic-41-20261101.0.x86_64 (ami-0123456789abcdef0); use at least 5 or leave volume_gib out",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"lw-packit-fedora"}, mapKeys(h.templates())); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
}

func TestConfiguredNetworkThatIsNotThereAbortsBeforeAnyAction(t *testing.T) {
	tests := []struct {
		name, network, want string
		seed                func(*ec2sim.Sim)
	}{
		{
			name:    "subnet does not exist",
			network: "vpc_id = \"vpc-0123456789abcdef0\"\nsubnet_ids = [\"subnet-0123456789abcdef0\", \"subnet-0000000000000dead\"]",
			want:    "launchwarden.toml:10: 123456789012/us-east-1: subnet subnet-0000000000000dead does not exist",
		},
		{
			name:    "subnet of another VPC",
			network: "vpc_id = \"vpc-0123456789abcdef0\"\nsubnet_ids = [\"subnet-0000000000000beef\"]",
			seed: func(sim *ec2sim.Sim) {
				sim.AddVPC(testAccount, testRegion, ec2sim.VPC{ID: "vpc-00000000000000abc", CIDR: "10.9.0.0/16"})
				sim.AddSubnet(testAccount, testRegion, ec2sim.Subnet{ID: "subnet-0000000000000beef", VPCID: "vpc-00000000000000abc", CIDR: "10.9.1.0/24"})
			},
			want: "launchwarden.toml:10: 123456789012/us-east-1: subnet subnet-0000000000000beef is in vpc-00000000000000abc, not in the configured VPC vpc-0123456789abcdef0",
		},
		{
			name:    "VPC does not exist",
			network: "vpc_id = \"vpc-00000000000000bad\"",
			want:    "launchwarden.toml:9: 123456789012/us-east-1: VPC vpc-00000000000000bad does not exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin := strings.Replace(adminTOML, `vpc_id = "vpc-0123456789abcdef0"`, tt.network, 1)
			h := newHarness(t, map[string]string{"launchwarden.toml": admin, "projects/packit.toml": twoProjects()["projects/packit.toml"]})
			if tt.seed != nil {
				tt.seed(h.sim)
			}
			_, err := Observe(context.Background(), h.config(), h.clients, nil, nil)
			var ne *cloud.NetworkError
			if !errors.As(err, &ne) {
				t.Fatalf("Observe error %v, want a network error", err)
			}
			if ne.Error() != tt.want {
				t.Errorf("error %q, want %q", ne.Error(), tt.want)
			}
			if got := h.mutatingCalls(); len(got) != 0 {
				t.Errorf("mutating calls: %v", got)
			}
		})
	}
}

func TestZoneAndPublicIPPlaceTheInstance(t *testing.T) {
	admin := strings.Replace(adminTOML, `vpc_id = "vpc-0123456789abcdef0"`, `vpc_id = "vpc-0123456789abcdef0"
subnet_ids = ["subnet-0123456789abcdef0", "subnet-0000000000000000b"]
public_ip = false`, 1)
	h := newHarness(t, map[string]string{
		"launchwarden.toml": admin,
		"projects/packit.toml": projectTOML("#packit", []string{"alice"},
			templateTOML("fedora", "t3.large", 40)+"availability_zone = \"us-east-1b\"\n"),
	})
	h.sim.AddSubnet(testAccount, testRegion, ec2sim.Subnet{ID: "subnet-0000000000000000b", VPCID: testVPC, AvailabilityZone: "us-east-1b", CIDR: "10.0.2.0/24", MapPublicIPOnLaunch: true})
	if _, rep := h.run(); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	d := defaultData(t, h, testRegion, "lw-packit-fedora")
	if len(d.NetworkInterfaces) != 1 || d.NetworkInterfaces[0].SubnetID != "subnet-0000000000000000b" || d.NetworkInterfaces[0].AssociatePublicIP == nil || *d.NetworkInterfaces[0].AssociatePublicIP {
		t.Fatalf("interfaces %+v, want the us-east-1b subnet without a public IP", d.NetworkInterfaces)
	}
	lt := h.templates()["lw-packit-fedora"]
	ids, err := launchtest.Launch(context.Background(), launchtest.Client(h.endpoint, testRegion, "AKIDUSER"), launchtest.Request{TemplateID: lt.ID})
	if err != nil {
		t.Fatal(err)
	}
	in := h.instance(ids[0])
	if in.SubnetID != "subnet-0000000000000000b" || in.VpcID != testVPC || in.PublicIP != "" {
		t.Errorf("instance in %s/%s with public IP %q, want the us-east-1b subnet of the test VPC and none", in.VpcID, in.SubnetID, in.PublicIP)
	}
}

func TestWrongAccountCredentialsAbortBeforeAnyAction(t *testing.T) {
	h := newHarness(t, twoProjects())
	// The admin file says 210987654321; the credentials are the emulator's
	// default account's, 123456789012.
	clients := h.env.Connect(t, 2, cloud.Account{Name: "ci", ID: "210987654321", Regions: []string{testRegion}, Where: "launchwarden.toml:7"})
	_, err := Observe(context.Background(), h.config(), clients, nil, nil)
	var ae *cloud.AccountError
	if !errors.As(err, &ae) {
		t.Fatalf("Observe error %v, want an account error", err)
	}
	if want := "launchwarden.toml:7: account ci: the credentials are of account 123456789012, not 210987654321"; ae.Error() != want {
		t.Errorf("error %q, want %q", ae.Error(), want)
	}
	calls := h.sim.CallCounts()
	if fmt.Sprint(calls) != "map[GetCallerIdentity:1]" {
		t.Errorf("calls %v, want only the identity check", calls)
	}
}

// TestLaunchStyleInstanceIsJudgedByWhatItRuns launches as the provisioning
// service does, overriding the template's type and image and bringing its
// own key pair, user data and Name tag: launchwarden counts the instance for
// its project and judges the type it actually runs.
func TestLaunchStyleInstanceIsJudgedByWhatItRuns(t *testing.T) {
	h := newHarness(t, twoProjects())
	h.run()
	h.slack.take()
	other := addImage(h.sim, testRegion, cloud.Image{ID: "ami-0000000000000c0de", Name: "CentOS-Stream-9-x86_64", Architecture: "x86_64", RootDevice: "/dev/sda1", RootVolumeGiB: 10, CreationDate: t0})
	lt := h.templates()["lw-packit-fedora"]
	ids, err := launchtest.Launch(context.Background(), launchtest.Client(h.endpoint, testRegion, "AKIDUSER"), launchtest.Request{
		TemplateID: lt.ID, InstanceType: "c6i.large", ImageID: other, KeyName: "maintainer-key",
		UserData: "#cloud-config\nruncmd: [echo hi]\n", Name: "alice-debug",
	})
	if err != nil {
		t.Fatal(err)
	}
	in := h.instance(ids[0])
	if in.InstanceType != "c6i.large" || in.ImageID != other || in.Tags["Name"] != "alice-debug" {
		t.Fatalf("launched %s from %s named %q, want the launch's overrides", in.InstanceType, in.ImageID, in.Tags["Name"])
	}
	h.sim.Advance(time.Minute) // running: pending instances are left alone
	plan := h.plan()
	if u := plan.Usage["packit"]; u.Instances != 1 || u.VCPUs != 2 {
		t.Errorf("packit usage %+v, want the instance and its 2 vCPUs counted", u)
	}
	var disallowed []string
	for _, n := range plan.Notices {
		if n.Kind == notify.KindDisallowedType {
			disallowed = append(disallowed, n.InstanceID+" "+n.InstanceType)
		}
	}
	if diff := cmp.Diff([]string{ids[0] + " c6i.large"}, disallowed); diff != "" {
		t.Errorf("disallowed-type notices (-want +got):\n%s", diff)
	}
}
