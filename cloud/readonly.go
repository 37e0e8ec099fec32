package cloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// ReadOnly returns an EC2 whose Describe calls go to api and whose writes fail
// with ErrReadOnly without calling anything. It is the one place where dry runs
// live: a dry run is a normal run with its clients wrapped, so no write can slip
// through a forgotten "if dryRun".
//
// Every method is spelled out rather than embedding api, so that an operation
// added to EC2 later cannot pass through unnoticed.
func ReadOnly(api EC2) EC2 { return readOnly{api: api} }

type readOnly struct{ api EC2 }

func refuse(op string) error { return fmt.Errorf("%s: %w", op, ErrReadOnly) }

func (r readOnly) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return r.api.DescribeInstances(ctx, in, opts...)
}

func (r readOnly) DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	return r.api.DescribeLaunchTemplates(ctx, in, opts...)
}

func (r readOnly) DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	return r.api.DescribeLaunchTemplateVersions(ctx, in, opts...)
}

func (r readOnly) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return r.api.DescribeSecurityGroups(ctx, in, opts...)
}

func (r readOnly) DescribeInstanceTypes(ctx context.Context, in *ec2.DescribeInstanceTypesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	return r.api.DescribeInstanceTypes(ctx, in, opts...)
}

func (r readOnly) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return r.api.DescribeImages(ctx, in, opts...)
}

func (r readOnly) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	return r.api.DescribeSubnets(ctx, in, opts...)
}

func (r readOnly) DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	return r.api.DescribeVpcs(ctx, in, opts...)
}

func (readOnly) CreateLaunchTemplate(context.Context, *ec2.CreateLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	return nil, refuse("CreateLaunchTemplate")
}

func (readOnly) CreateLaunchTemplateVersion(context.Context, *ec2.CreateLaunchTemplateVersionInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	return nil, refuse("CreateLaunchTemplateVersion")
}

func (readOnly) ModifyLaunchTemplate(context.Context, *ec2.ModifyLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error) {
	return nil, refuse("ModifyLaunchTemplate")
}

func (readOnly) DeleteLaunchTemplate(context.Context, *ec2.DeleteLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error) {
	return nil, refuse("DeleteLaunchTemplate")
}

func (readOnly) CreateSecurityGroup(context.Context, *ec2.CreateSecurityGroupInput, ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	return nil, refuse("CreateSecurityGroup")
}

func (readOnly) DeleteSecurityGroup(context.Context, *ec2.DeleteSecurityGroupInput, ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error) {
	return nil, refuse("DeleteSecurityGroup")
}

func (readOnly) AuthorizeSecurityGroupIngress(context.Context, *ec2.AuthorizeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	return nil, refuse("AuthorizeSecurityGroupIngress")
}

func (readOnly) RevokeSecurityGroupIngress(context.Context, *ec2.RevokeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	return nil, refuse("RevokeSecurityGroupIngress")
}

func (readOnly) StopInstances(context.Context, *ec2.StopInstancesInput, ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	return nil, refuse("StopInstances")
}

func (readOnly) TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	return nil, refuse("TerminateInstances")
}

func (readOnly) CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return nil, refuse("CreateTags")
}

func (readOnly) DeleteTags(context.Context, *ec2.DeleteTagsInput, ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	return nil, refuse("DeleteTags")
}
