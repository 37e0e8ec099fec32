package ec2sim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

func TestLaunchTemplateVersions(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	created, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("cockpit-rhel"),
		VersionDescription: aws.String("spec-1"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId:                           aws.String("ami-0000000000000000a"),
			InstanceType:                      types.InstanceTypeM5Large,
			UserData:                          aws.String("I2Nsb3VkLWNvbmZpZw=="),
			InstanceInitiatedShutdownBehavior: types.ShutdownBehaviorTerminate,
			DisableApiTermination:             aws.Bool(true),
			BlockDeviceMappings: []types.LaunchTemplateBlockDeviceMappingRequest{{
				DeviceName: aws.String("/dev/xvda"),
				Ebs:        &types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(40), VolumeType: types.VolumeTypeGp3, Encrypted: aws.Bool(true), DeleteOnTermination: aws.Bool(true)},
			}},
			TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("launchwarden:project"), Value: aws.String("cockpit")}}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	id := created.LaunchTemplate.LaunchTemplateId
	if _, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   id,
		SourceVersion:      aws.String("1"),
		VersionDescription: aws.String("spec-2"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0000000000000000b")},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	if _, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: id, DefaultVersion: aws.String("2")}); err != nil {
		t.Fatalf("ModifyLaunchTemplate: %v", err)
	}

	desc, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"cockpit-rhel"}})
	if err != nil {
		t.Fatalf("DescribeLaunchTemplates: %v", err)
	}
	if got := desc.LaunchTemplates[0]; aws.ToInt64(got.DefaultVersionNumber) != 2 || aws.ToInt64(got.LatestVersionNumber) != 2 {
		t.Errorf("default/latest = %d/%d, want 2/2", aws.ToInt64(got.DefaultVersionNumber), aws.ToInt64(got.LatestVersionNumber))
	}

	versions, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"$Default", "1"}})
	if err != nil {
		t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
	}
	type version struct {
		Number                   int64
		Default                  bool
		Description, Image, Type string
		UserData, Shutdown       string
		NoTermination            bool
		VolumeSize               int32
		Encrypted, DeleteOnTerm  bool
		InstanceTags             map[string]string
	}
	var got []version
	for _, v := range versions.LaunchTemplateVersions {
		d := v.LaunchTemplateData
		bd := d.BlockDeviceMappings[0].Ebs
		got = append(got, version{
			Number: aws.ToInt64(v.VersionNumber), Default: aws.ToBool(v.DefaultVersion), Description: aws.ToString(v.VersionDescription),
			Image: aws.ToString(d.ImageId), Type: string(d.InstanceType), UserData: aws.ToString(d.UserData), Shutdown: string(d.InstanceInitiatedShutdownBehavior),
			NoTermination: aws.ToBool(d.DisableApiTermination), VolumeSize: aws.ToInt32(bd.VolumeSize), Encrypted: aws.ToBool(bd.Encrypted), DeleteOnTerm: aws.ToBool(bd.DeleteOnTermination),
			InstanceTags: tagMap(d.TagSpecifications[0].Tags),
		})
	}
	common := version{Type: "m5.large", UserData: "I2Nsb3VkLWNvbmZpZw==", Shutdown: "terminate", NoTermination: true, VolumeSize: 40, Encrypted: true, DeleteOnTerm: true, InstanceTags: map[string]string{"launchwarden:project": "cockpit"}}
	v2, v1 := common, common
	v2.Number, v2.Default, v2.Description, v2.Image = 2, true, "spec-2", "ami-0000000000000000b"
	v1.Number, v1.Description, v1.Image = 1, "spec-1", "ami-0000000000000000a"
	if diff := cmp.Diff([]version{v2, v1}, got); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}

	// Launching $Default takes version 2 and its protection.
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: id}, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	inst := sim.Instances("", "")[0]
	if inst.ImageID != "ami-0000000000000000b" || inst.Tags["aws:ec2launchtemplate:version"] != "2" || !inst.TerminationProtection {
		t.Errorf("instance from $Default: image %s, version tag %q, protected %v", inst.ImageID, inst.Tags["aws:ec2launchtemplate:version"], inst.TerminationProtection)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}); errorCode(err) != "OperationNotPermitted" {
		t.Errorf("terminating a protected instance: %v, want OperationNotPermitted", err)
	}

	del, err := c.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"1", "2"}})
	if err != nil {
		t.Fatalf("DeleteLaunchTemplateVersions: %v", err)
	}
	if len(del.SuccessfullyDeletedLaunchTemplateVersions) != 1 || len(del.UnsuccessfullyDeletedLaunchTemplateVersions) != 1 ||
		string(del.UnsuccessfullyDeletedLaunchTemplateVersions[0].ResponseError.Code) != "launchTemplateVersionIsDefaultVersion" {
		t.Errorf("deleted %+v, failed %+v; want 1 deleted and the default refused", del.SuccessfullyDeletedLaunchTemplateVersions, del.UnsuccessfullyDeletedLaunchTemplateVersions)
	}
	if _, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("cockpit-rhel")}); err != nil {
		t.Fatalf("DeleteLaunchTemplate: %v", err)
	}
	if got := sim.LaunchTemplates("", ""); len(got) != 0 {
		t.Errorf("templates after delete = %d, want 0", len(got))
	}
}

func TestDescribeLaunchTemplatesFiltersAndPages(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	for i := range 7 {
		project := "packit"
		if i%2 == 1 {
			project = "cockpit"
		}
		_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(fmt.Sprintf("%s-%d", project, i)),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")},
			TagSpecifications:  []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: []types.Tag{{Key: aws.String("launchwarden:project"), Value: aws.String(project)}}}},
		})
		if err != nil {
			t.Fatalf("CreateLaunchTemplate: %v", err)
		}
	}
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"by tag", filters("tag:launchwarden:project", "cockpit"), []string{"cockpit-1", "cockpit-3", "cockpit-5"}},
		{"by name wildcard", filters("launch-template-name", "packit-*"), []string{"packit-0", "packit-2", "packit-4", "packit-6"}},
		{"by tag key", filters("tag-key", "launchwarden:project"), []string{"cockpit-1", "cockpit-3", "cockpit-5", "packit-0", "packit-2", "packit-4", "packit-6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			pages := 0
			p := ec2.NewDescribeLaunchTemplatesPaginator(c, &ec2.DescribeLaunchTemplatesInput{Filters: tt.filters, MaxResults: aws.Int32(2)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("DescribeLaunchTemplates: %v", err)
				}
				pages++
				for _, lt := range page.LaunchTemplates {
					got = append(got, aws.ToString(lt.LaunchTemplateName))
				}
			}
			if diff := cmp.Diff(tt.want, sortedCopy(got)); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if want := (len(tt.want) + 1) / 2; pages != want {
				t.Errorf("pages = %d, want %d", pages, want)
			}
		})
	}
}
