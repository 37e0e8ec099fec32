package ec2sim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

func TestErrorCodes(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()

	running := sim.Seed(ec2sim.SeedInstance{})
	protected := sim.Seed(ec2sim.SeedInstance{TerminationProtection: true})
	terminated := sim.Seed(ec2sim.SeedInstance{State: ec2sim.StateTerminated})
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("existing"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("existing"), Description: aws.String("d"), VpcId: aws.String("vpc-0123456789abcdef0")})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	ssh := []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: ssh}); err != nil {
		t.Fatalf("AuthorizeSecurityGroupIngress: %v", err)
	}
	inUse, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("in-use"), Description: aws.String("d")})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SecurityGroupIds: []string{aws.ToString(inUse.GroupId)}}); err != nil {
		t.Fatalf("RunInstances: %v", err)
	}

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"describe unknown instance", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{running, "i-0000000000000dead"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"describe malformed instance id", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"web-1"}})
			return err
		}, "InvalidInstanceID.Malformed"},
		{"max results too small", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
			return err
		}, "InvalidParameterValue"},
		{"max results with instance ids", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{running}})
			return err
		}, "InvalidParameterCombination"},
		{"unknown filter", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: filters("colour", "red")})
			return err
		}, "InvalidParameterValue"},
		{"bad next token", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("!!!")})
			return err
		}, "InvalidParameterValue"},
		{"stop unknown instance fails the whole call", func() error {
			_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{running, "i-0000000000000dead"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"terminate protected instance", func() error {
			_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{running, protected}})
			return err
		}, "OperationNotPermitted"},
		{"start terminated instance", func() error {
			_, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{terminated}})
			return err
		}, "IncorrectInstanceState"},
		{"stop terminated instance", func() error {
			_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{terminated}})
			return err
		}, "IncorrectInstanceState"},
		{"dry run", func() error {
			_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{running}, DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation"},
		{"run without image", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "MissingParameter"},
		{"run unknown instance type", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: "z9.huge", MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "InvalidParameterValue"},
		{"run unknown template name", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("missing")}, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"run unknown template version", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("7")}, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
		{"describe unknown template name", func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"missing"}})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"describe unknown template id", func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0000000000000dead"}})
			return err
		}, "InvalidLaunchTemplateId.NotFound"},
		{"duplicate template name", func() error {
			_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("existing"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
			return err
		}, "InvalidLaunchTemplateName.AlreadyExistsException"},
		{"duplicate security group", func() error {
			_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("existing"), Description: aws.String("d"), VpcId: aws.String("vpc-0123456789abcdef0")})
			return err
		}, "InvalidGroup.Duplicate"},
		{"unknown security group", func() error {
			_, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000dead"}})
			return err
		}, "InvalidGroup.NotFound"},
		{"duplicate rule", func() error {
			_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: ssh})
			return err
		}, "InvalidPermission.Duplicate"},
		{"revoke missing rule outside the default VPC", func() error {
			_, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
			return err
		}, "InvalidPermission.NotFound"},
		{"delete group in use", func() error {
			_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: inUse.GroupId})
			return err
		}, "DependencyViolation"},
		{"tag unknown volume", func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{running, "vol-0000000000000dead"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}, "InvalidVolume.NotFound"},
		{"tag reserved key", func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{running}, Tags: []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("v")}}})
			return err
		}, "InvalidParameterValue"},
		{"unknown instance type", func() error {
			_, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"z9.huge"}})
			return err
		}, "InvalidInstanceType"},
		{"unsupported action", func() error {
			_, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
			return err
		}, "UnsupportedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorCode(tt.call()); got != tt.want {
				t.Errorf("error code = %q, want %q", got, tt.want)
			}
		})
	}

	// Failed calls change nothing: the unknown id and the protected
	// instance kept the others running.
	for _, in := range sim.Instances("", "") {
		if in.ID == running && in.State != ec2sim.StateRunning {
			t.Errorf("instance %s is %s after failed calls, want running", in.ID, in.State)
		}
	}
}
