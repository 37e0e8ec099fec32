package ec2sim_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestArchitectureMismatch_InvalidParameterValue: an instance type whose
// ProcessorInfo.SupportedArchitectures (API model) exclude the image's
// architecture cannot launch it, in EC2's words (skypilot-org/skypilot
// issue 6315); the Graviton families are arm64.
func TestArchitectureMismatch_InvalidParameterValue(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	arm := sim.AddImage("us-east-1", ec2sim.Image{Name: "fedora-aarch64", Architecture: "arm64"})
	c := newClient(t, srv)
	ctx := context.Background()
	types_, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"t4g.micro", "m7g.large", "c7g.xlarge", "t3.micro", "m6i.large"}})
	if err != nil {
		t.Fatal(err)
	}
	arch := map[string][]types.ArchitectureType{}
	for _, it := range types_.InstanceTypes {
		arch[string(it.InstanceType)] = it.ProcessorInfo.SupportedArchitectures
	}
	want := map[string][]types.ArchitectureType{
		"t4g.micro": {"arm64"}, "m7g.large": {"arm64"}, "c7g.xlarge": {"arm64"}, "t3.micro": {"x86_64"}, "m6i.large": {"x86_64"},
	}
	if diff := cmp.Diff(want, arch); diff != "" {
		t.Errorf("supported architectures (-want +got):\n%s", diff)
	}
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(arm), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if errorCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "The architecture 'x86_64' of the specified instance type does not match the architecture 'arm64' of the specified AMI") {
		t.Errorf("arm64 image on t3.micro: %v", err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(arm), InstanceType: types.InstanceTypeT4gMicro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatalf("arm64 image on t4g.micro: %v", err)
	}
	if run.Instances[0].Architecture != types.ArchitectureValuesArm64 {
		t.Errorf("architecture = %q, want arm64", run.Instances[0].Architecture)
	}
}

// TestRootDeviceFromImage_BlockDeviceMappingConcepts: the root volume is
// the image's root device, sized by its snapshot unless a mapping on that
// device asks for more; a mapping smaller than the snapshot is
// InvalidBlockDeviceMapping (scylladb/scylladb issue 6999); a mapping on
// another device name is a second volume, so a template that names
// /dev/xvda for an image whose root is /dev/sda1 gets a second, empty disk
// (user guide block-device-mapping-concepts.md).
func TestRootDeviceFromImage_BlockDeviceMappingConcepts(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	centos := sim.AddImage("us-east-1", ec2sim.Image{Name: "CentOS-Stream-ec2-9", RootDeviceName: "/dev/sda1", RootVolumeGiB: 10})
	c := newClient(t, srv)
	ctx := context.Background()
	launch := func(mappings ...types.BlockDeviceMapping) ([]ec2sim.Volume, error) {
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(centos), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), BlockDeviceMappings: mappings})
		if err != nil {
			return nil, err
		}
		for _, in := range sim.Instances("", "") {
			if in.ID == aws.ToString(run.Instances[0].InstanceId) {
				return in.Volumes, nil
			}
		}
		return nil, nil
	}
	sizes := func(vols []ec2sim.Volume) map[string]int {
		out := map[string]int{}
		for _, v := range vols {
			out[v.DeviceName] = v.SizeGiB
		}
		return out
	}
	mapping := func(dev string, gib int32) types.BlockDeviceMapping {
		return types.BlockDeviceMapping{DeviceName: aws.String(dev), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(gib), Encrypted: aws.Bool(true)}}
	}

	vols, err := launch()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"/dev/sda1": 10}, sizes(vols)); diff != "" {
		t.Errorf("no mapping (-want +got):\n%s", diff)
	}
	if vols, err = launch(mapping("/dev/sda1", 40)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"/dev/sda1": 40}, sizes(vols)); diff != "" || !vols[0].Encrypted {
		t.Errorf("root mapping (-want +got):\n%s; encrypted %v", diff, vols[0].Encrypted)
	}
	if vols, err = launch(mapping("/dev/xvda", 40)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"/dev/sda1": 10, "/dev/xvda": 40}, sizes(vols)); diff != "" || vols[0].Encrypted {
		t.Errorf("mapping on the wrong root device (-want +got):\n%s; root encrypted %v, want the image's", diff, vols[0].Encrypted)
	}
	_, err = launch(mapping("/dev/sda1", 5))
	if errorCode(err) != "InvalidBlockDeviceMapping" || !strings.Contains(err.Error(), "Volume of size 5GB is smaller than snapshot") {
		t.Errorf("root smaller than the snapshot: %v", err)
	}
}

// TestLaunchOverridesTemplate_RunInstancesInputLaunchTemplate: launch
// parameters overwrite the template's ("Any additional parameters that you
// specify for the new instance overwrite the corresponding parameters
// included in the launch template", API model RunInstancesRequest
// .LaunchTemplate), the way the provisioning service launches; instance
// tags merge, a key in both taking the launch's value (user guide
// launch-instances-from-launch-template.md); and EC2 adds
// aws:ec2launchtemplate:id and :version whatever the tags say.
func TestLaunchOverridesTemplate_RunInstancesInputLaunchTemplate(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("lw-packit-fedora"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Micro, KeyName: aws.String("template-key"),
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("#cloud-config from the template"))),
			TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
				{Key: aws.String("Name"), Value: aws.String("from-template")}, {Key: aws.String("launchwarden:project"), Value: aws.String("packit")},
			}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	userData := base64.StdEncoding.EncodeToString([]byte("#cloud-config from Launch"))
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId},
		InstanceType:   types.InstanceTypeM6iLarge, ImageId: aws.String("ami-0abcdef1234567890"), KeyName: aws.String("launch-key"), UserData: aws.String(userData),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("my-vm")}}}},
		MinCount:          aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	in := sim.Instances("", "")[0]
	got := []string{in.InstanceType, in.ImageID, in.KeyName, in.UserData}
	if diff := cmp.Diff([]string{"m6i.large", "ami-0abcdef1234567890", "launch-key", userData}, got); diff != "" {
		t.Errorf("type, image, key, user data (-want +got):\n%s", diff)
	}
	wantTags := map[string]string{
		"Name": "my-vm", "launchwarden:project": "packit",
		"aws:ec2launchtemplate:id": aws.ToString(lt.LaunchTemplate.LaunchTemplateId), "aws:ec2launchtemplate:version": "1",
	}
	if diff := cmp.Diff(wantTags, tagMap(run.Instances[0].Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{
		LaunchTemplate:    &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("aws:ec2launchtemplate:id"), Value: aws.String("lt-0000000000000beef")}}}},
		MinCount:          aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if errorCode(err) != "InvalidParameterValue" {
		t.Errorf("launch with an aws: tag: %v, want InvalidParameterValue", err)
	}
}

// TestReservedTagsCannotBeChanged_UsingTags: nobody creates, changes or
// deletes an aws: tag (user guide Using_Tags.md); CreateTags and DeleteTags
// of such a key fail with InvalidParameterValue and change nothing, and a
// DeleteTags of every tag keeps them.
func TestReservedTagsCannotBeChanged_UsingTags(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("lw-a-b"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("lw-a-b")}, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	ltID := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	for name, call := range map[string]func() error{
		"create": func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("aws:ec2launchtemplate:id"), Value: aws.String("lt-0000000000000beef")}}})
			return err
		},
		"create, upper case": func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("AWS:ec2launchtemplate:id"), Value: aws.String("x")}}})
			return err
		},
		"delete": func() error {
			_, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("aws:ec2launchtemplate:id")}}})
			return err
		},
	} {
		if err := call(); errorCode(err) != "InvalidParameterValue" {
			t.Errorf("%s: %v, want InvalidParameterValue", name, err)
		}
	}
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"aws:ec2launchtemplate:id": ltID, "aws:ec2launchtemplate:version": "1"}
	if diff := cmp.Diff(want, sim.Instances("", "")[0].Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}
