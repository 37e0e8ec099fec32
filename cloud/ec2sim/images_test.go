package ec2sim_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

const (
	fedoraOwner = "125523088429"
	otherOwner  = "999988887777"
	self        = "123456789012" // the emulator's default account
)

// seedImages registers a small catalogue in us-east-1 and returns the ids
// by name.
func seedImages(sim *ec2sim.Sim) map[string]string {
	day := func(n int) time.Time { return start.AddDate(0, 0, -n) }
	ids := map[string]string{}
	for _, img := range []ec2sim.Image{
		{Name: "Fedora-Cloud-Base-Generic-40-1.14.x86_64-hvm", OwnerID: fedoraOwner, Public: true, CreationDate: day(200), Architecture: "x86_64"},
		{Name: "Fedora-Cloud-Base-Generic-41-1.4.x86_64-hvm", OwnerID: fedoraOwner, Public: true, CreationDate: day(30), Architecture: "x86_64", RootVolumeGiB: 5},
		{Name: "Fedora-Cloud-Base-Generic-41-1.4.aarch64-hvm", OwnerID: fedoraOwner, Public: true, CreationDate: day(30), Architecture: "arm64"},
		{Name: "Fedora-Cloud-Base-Generic-41-1.2.x86_64-hvm", OwnerID: fedoraOwner, Public: true, CreationDate: day(60), Architecture: "x86_64", DeprecationTime: day(1)},
		{Name: "al2023-ami-2023.6-x86_64", OwnerID: "137112412989", OwnerAlias: "amazon", Public: true, CreationDate: day(10)},
		{Name: "team-private", OwnerID: otherOwner, CreationDate: day(5)},
		{Name: "our-golden", OwnerID: self, CreationDate: day(3), RootDeviceName: "/dev/sda1", RootVolumeGiB: 20},
		{Name: "our-old-golden", OwnerID: self, CreationDate: day(90), DeprecationTime: day(2)},
	} {
		ids[img.Name] = sim.AddImage("us-east-1", img)
	}
	return ids
}

func imageNames(imgs []types.Image) []string {
	var out []string
	for _, img := range imgs {
		out = append(out, aws.ToString(img.Name))
	}
	slices.Sort(out)
	return out
}

func describeImageNames(t *testing.T, c *ec2.Client, in *ec2.DescribeImagesInput) []string {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), in)
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	return imageNames(out.Images)
}

// TestDescribeImagesOwnersAndFilters_APIModelDescribeImagesRequest checks
// the Owners values (ids, self, amazon) and the name, architecture,
// is-public and owner-id filters with * and ? wildcards, as the API model's
// DescribeImagesRequest documents them; private images of other accounts
// are never visible.
func TestDescribeImagesOwnersAndFilters_APIModelDescribeImagesRequest(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	seedImages(sim)
	c := newClient(t, srv)
	tests := []struct {
		name string
		in   ec2.DescribeImagesInput
		want []string
	}{
		{"selector: owner, name wildcard, architecture", ec2.DescribeImagesInput{
			Owners:  []string{fedoraOwner},
			Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"Fedora-Cloud-Base-Generic-41-*"}}, {Name: aws.String("architecture"), Values: []string{"x86_64"}}},
		}, []string{"Fedora-Cloud-Base-Generic-41-1.4.x86_64-hvm"}},
		{"? matches one character", ec2.DescribeImagesInput{
			Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"Fedora-Cloud-Base-Generic-4?-1.?4.x86_64-hvm"}}},
		}, []string{"Fedora-Cloud-Base-Generic-40-1.14.x86_64-hvm"}},
		{"self", ec2.DescribeImagesInput{Owners: []string{"self"}}, []string{"our-golden", "our-old-golden"}},
		{"amazon alias", ec2.DescribeImagesInput{Owners: []string{"amazon"}}, []string{"al2023-ami-2023.6-x86_64"}},
		{"self and an account", ec2.DescribeImagesInput{Owners: []string{"self", "137112412989"}}, []string{"al2023-ami-2023.6-x86_64", "our-golden", "our-old-golden"}},
		{"private images of others are invisible", ec2.DescribeImagesInput{Owners: []string{otherOwner}}, nil},
		{"is-public false: only our own", ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("is-public"), Values: []string{"false"}}}}, []string{"our-golden", "our-old-golden"}},
		{"owner-id filter", ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{fedoraOwner}}, {Name: aws.String("architecture"), Values: []string{"arm64"}}}}, []string{"Fedora-Cloud-Base-Generic-41-1.4.aarch64-hvm"}},
		{"state", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{{Name: aws.String("state"), Values: []string{"pending"}}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, describeImageNames(t, c, &tt.in)); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDescribeImagesHidesDeprecated_APIModelIncludeDeprecated: deprecated
// images are left out for non-owners unless IncludeDeprecated is set or
// they are named by id (API model IncludeDeprecated; user guide
// ami-deprecate.md); the owner always sees its own.
func TestDescribeImagesHidesDeprecated_APIModelIncludeDeprecated(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	ids := seedImages(sim)
	c := newClient(t, srv)
	fedora41 := []types.Filter{{Name: aws.String("name"), Values: []string{"Fedora-Cloud-Base-Generic-41-*x86_64*"}}}
	if got := describeImageNames(t, c, &ec2.DescribeImagesInput{Owners: []string{fedoraOwner}, Filters: fedora41}); !slices.Equal(got, []string{"Fedora-Cloud-Base-Generic-41-1.4.x86_64-hvm"}) {
		t.Errorf("default: %v, want the deprecated 1.2 hidden", got)
	}
	got := describeImageNames(t, c, &ec2.DescribeImagesInput{Owners: []string{fedoraOwner}, Filters: fedora41, IncludeDeprecated: aws.Bool(true)})
	if want := []string{"Fedora-Cloud-Base-Generic-41-1.2.x86_64-hvm", "Fedora-Cloud-Base-Generic-41-1.4.x86_64-hvm"}; !slices.Equal(got, want) {
		t.Errorf("IncludeDeprecated: %v, want %v", got, want)
	}
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{ids["Fedora-Cloud-Base-Generic-41-1.2.x86_64-hvm"]}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].DeprecationTime) == "" {
		t.Errorf("by id: %v, %v; want the deprecated image with its DeprecationTime", out, err)
	}
	if got := describeImageNames(t, c, &ec2.DescribeImagesInput{Owners: []string{"self"}}); !slices.Contains(got, "our-old-golden") {
		t.Errorf("owner: %v, want its deprecated image too", got)
	}
}

// TestDescribeImagesByIDAndRegion_InvalidAMIIDNotFound: ids are regional
// ("The image id '[ami-…]' does not exist" elsewhere); another account's
// private image is left out of DescribeImages and is AuthFailure to launch
// or deregister; a malformed id is InvalidAMIID.Malformed.
func TestDescribeImagesByIDAndRegion_InvalidAMIIDNotFound(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	ids := seedImages(sim)
	c := newClient(t, srv)
	ctx := context.Background()
	id := ids["Fedora-Cloud-Base-Generic-41-1.4.x86_64-hvm"]
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	img := out.Images[0]
	want := types.Image{
		ImageId: aws.String(id), Name: aws.String("Fedora-Cloud-Base-Generic-41-1.4.x86_64-hvm"), OwnerId: aws.String(fedoraOwner),
		Architecture: types.ArchitectureValuesX8664, RootDeviceName: aws.String("/dev/xvda"), RootDeviceType: types.DeviceTypeEbs,
		State: types.ImageStateAvailable, Public: aws.Bool(true), CreationDate: aws.String(start.AddDate(0, 0, -30).Format("2006-01-02T15:04:05.000Z")),
	}
	got := types.Image{
		ImageId: img.ImageId, Name: img.Name, OwnerId: img.OwnerId, Architecture: img.Architecture, RootDeviceName: img.RootDeviceName,
		RootDeviceType: img.RootDeviceType, State: img.State, Public: img.Public, CreationDate: img.CreationDate,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(types.Image{})); diff != "" {
		t.Errorf("image (-want +got):\n%s", diff)
	}
	if len(img.BlockDeviceMappings) != 1 || aws.ToInt32(img.BlockDeviceMappings[0].Ebs.VolumeSize) != 5 || aws.ToString(img.BlockDeviceMappings[0].DeviceName) != "/dev/xvda" {
		t.Errorf("block devices = %+v, want the 5 GiB root snapshot", img.BlockDeviceMappings)
	}

	europe := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "eu-central-1", 3))
	for name, call := range map[string]func() error{
		"another region": func() error {
			_, err := europe.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
			return err
		},
		"launch in another region": func() error {
			_, err := europe.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(id), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		},
	} {
		if code := errorCode(call()); code != "InvalidAMIID.NotFound" {
			t.Errorf("%s: error %q, want InvalidAMIID.NotFound", name, code)
		}
	}
	// Another account's private image exists, but not for the caller:
	// DescribeImages leaves it out and RunInstances is not authorized.
	private := ids["team-private"]
	if out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{private}}); err != nil || len(out.Images) != 0 {
		t.Errorf("another account's private image by id: %v, %v; want no images", out, err)
	}
	if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(private), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); errorCode(err) != "AuthFailure" {
		t.Errorf("launch of another account's private image: %v, want AuthFailure", err)
	}
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)}); errorCode(err) != "AuthFailure" {
		t.Errorf("deregistering another account's public image: %v, want AuthFailure", err)
	}
	if _, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-xyz"}}); errorCode(err) != "InvalidAMIID.Malformed" {
		t.Errorf("malformed id: %v, want InvalidAMIID.Malformed", err)
	}
}

// TestDescribeImagesPages_APIModelPaginator: DescribeImages pages with
// MaxResults and NextToken (botocore paginators-1.json), so the SDK's
// paginator sees every visible image once.
func TestDescribeImagesPages_APIModelPaginator(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	for i := range 12 {
		sim.AddImage("us-west-2", ec2sim.Image{Name: fmt.Sprintf("img-%02d", i), OwnerID: self})
	}
	c := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "us-west-2", 3))
	p := ec2.NewDescribeImagesPaginator(c, &ec2.DescribeImagesInput{Owners: []string{"self"}, MaxResults: aws.Int32(5)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		names = append(names, imageNames(page.Images)...)
	}
	slices.Sort(names)
	if len(names) != 12 || pages != 3 || len(slices.Compact(slices.Clone(names))) != 12 {
		t.Errorf("%d images in %d pages: %v; want 12 distinct in 3", len(names), pages, names)
	}
}

// TestRegisterAndDeregisterImage_APIModel: any EC2 client can add an image
// with RegisterImage (owned by the caller; root device and the root
// mapping's VolumeSize; InvalidAMIName.Duplicate for a name already used)
// and remove it with DeregisterImage, after which it cannot be launched.
func TestRegisterAndDeregisterImage_APIModel(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	in := &ec2.RegisterImageInput{
		Name:           aws.String("CentOS-Stream-ec2-9-20261101.0.x86_64"),
		Architecture:   types.ArchitectureValuesX8664,
		RootDeviceName: aws.String("/dev/sda1"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{
			DeviceName: aws.String("/dev/sda1"),
			Ebs:        &types.EbsBlockDevice{SnapshotId: aws.String("snap-0123456789abcdef0"), VolumeSize: aws.Int32(10)},
		}},
	}
	reg, err := c.RegisterImage(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(reg.ImageId)
	imgs := slices.DeleteFunc(sim.Images("us-east-1"), func(img ec2sim.Image) bool { return img.OwnerID != self })
	if len(imgs) != 1 || imgs[0].ID != id || imgs[0].OwnerID != self || imgs[0].RootDeviceName != "/dev/sda1" || imgs[0].RootVolumeGiB != 10 || imgs[0].Architecture != "x86_64" || imgs[0].State != "available" {
		t.Errorf("registered = %+v", imgs)
	}
	if _, err := c.RegisterImage(ctx, in); errorCode(err) != "InvalidAMIName.Duplicate" {
		t.Errorf("same name again: %v, want InvalidAMIName.Duplicate", err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(id), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(run.Instances[0].RootDeviceName); got != "/dev/sda1" {
		t.Errorf("instance root device = %q, want the image's /dev/sda1", got)
	}
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(id), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); errorCode(err) != "InvalidAMIID.NotFound" {
		t.Errorf("launch after deregistering: %v, want InvalidAMIID.NotFound", err)
	}
	if got := sim.Instances("", ""); len(got) != 1 || got[0].State == ec2sim.StateTerminated {
		t.Errorf("instances = %+v, want the one launched before still there", got)
	}
}
