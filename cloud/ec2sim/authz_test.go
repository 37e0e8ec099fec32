package ec2sim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

const launchRole = "arn:aws:iam::123456789012:role/provisioning"

// roleClients assumes roleARN through the emulator and returns EC2 and STS
// clients signed with the session's credentials.
func roleClients(t *testing.T, srv *httptest.Server, roleARN string) (*ec2.Client, *sts.Client) {
	t.Helper()
	base := awsConfig(srv.URL, "AKIDEXAMPLE", "us-east-1", 3)
	out, err := sts.NewFromConfig(base).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("launch"),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	cfg := base.Copy()
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return ec2.NewFromConfig(cfg), sts.NewFromConfig(cfg)
}

// deniedBy returns the Sid of the statement that refused err, checking that
// the refusal has EC2's shape: UnauthorizedOperation, HTTP 403, and the
// documented message with an encoded part that sts:DecodeAuthorizationMessage
// decodes ("Troubleshooting API request errors", EC2 API Reference; STS
// DecodeAuthorizationMessage).
func deniedBy(t *testing.T, stsc *sts.Client, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("call succeeded, want UnauthorizedOperation")
	}
	if code := errorCode(err); code != "UnauthorizedOperation" {
		t.Fatalf("error %v, want UnauthorizedOperation", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("HTTP status of %v, want 403", err)
	}
	const prefix = "You are not authorized to perform this operation. Encoded authorization failure message: "
	msg := err.Error()
	i := strings.Index(msg, prefix)
	if i < 0 {
		t.Fatalf("message %q lacks %q", msg, prefix)
	}
	out, derr := stsc.DecodeAuthorizationMessage(context.Background(), &sts.DecodeAuthorizationMessageInput{
		EncodedMessage: aws.String(msg[i+len(prefix):]),
	})
	if derr != nil {
		t.Fatalf("DecodeAuthorizationMessage: %v", derr)
	}
	f, derr := ec2sim.DecodeAuthorizationFailure(msg)
	if derr != nil {
		t.Fatal(derr)
	}
	if !strings.Contains(aws.ToString(out.DecodedMessage), `"explicitDeny":true`) || len(f.MatchedStatements.Items) != 1 {
		t.Fatalf("decoded %s, want one explicit deny", aws.ToString(out.DecodedMessage))
	}
	return f.MatchedStatements.Items[0].StatementID
}

const guardPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Closed", "Effect": "Deny", "Action": "ec2:RunInstances",
     "Resource": "arn:aws:ec2:*:*:launch-template/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/launchwarden:launch": "closed"}}},
    {"Sid": "NoTemplate", "Effect": "Deny", "Action": "ec2:RunInstances",
     "Resource": "arn:aws:ec2:*:*:instance/*",
     "Condition": {"Null": {"ec2:LaunchTemplate": "true"}}},
    {"Sid": "Types", "Effect": "Deny", "Action": "ec2:RunInstances",
     "Resource": "arn:aws:ec2:*:*:instance/*",
     "Condition": {"StringNotLike": {"ec2:InstanceType": ["t3.*", "m7i.*"]}}},
    {"Sid": "Volumes", "Effect": "Deny", "Action": "ec2:RunInstances",
     "Resource": "arn:aws:ec2:*:*:volume/*",
     "Condition": {"NumericGreaterThan": {"ec2:VolumeSize": 100}}},
    {"Sid": "AllowIsIgnored", "Effect": "Allow", "Action": "*", "Resource": "*"}
  ]
}`

// TestRunInstancesDenies checks each kind of Deny on RunInstances with the
// resource it is scoped to (Service Authorization Reference, ec2:RunInstances:
// ec2:InstanceType on instance, ec2:VolumeSize on volume, aws:ResourceTag on
// the launch template, ec2:LaunchTemplate on every resource).
func TestRunInstancesDenies(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	ctx := context.Background()
	admin := newClient(t, srv)
	lt, err := admin.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("builder"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Small},
	})
	if err != nil {
		t.Fatal(err)
	}
	ltID := lt.LaunchTemplate.LaunchTemplateId
	if err := sim.AttachPolicy(launchRole, []byte(guardPolicy)); err != nil {
		t.Fatal(err)
	}
	launcher, stsc := roleClients(t, srv, launchRole)

	run := func(c *ec2.Client, in ec2.RunInstancesInput) error {
		in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)
		_, err := c.RunInstances(ctx, &in)
		return err
	}
	fromTemplate := func(typ types.InstanceType) ec2.RunInstancesInput {
		return ec2.RunInstancesInput{
			LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: ltID},
			InstanceType:   typ,
			ImageId:        aws.String("ami-0fedcba9876543210"),
		}
	}

	if err := run(launcher, fromTemplate(types.InstanceTypeM7iLarge)); err != nil {
		t.Errorf("allowed type from the template: %v", err)
	}
	if sid := deniedBy(t, stsc, run(launcher, fromTemplate(types.InstanceTypeC7i8xlarge))); sid != "Types" {
		t.Errorf("c7i.8xlarge refused by %q, want Types", sid)
	}
	if sid := deniedBy(t, stsc, run(launcher, ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Small})); sid != "NoTemplate" {
		t.Errorf("launch without a template refused by %q, want NoTemplate", sid)
	}
	big := fromTemplate(types.InstanceTypeT3Small)
	big.BlockDeviceMappings = []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(101)}}}
	if sid := deniedBy(t, stsc, run(launcher, big)); sid != "Volumes" {
		t.Errorf("101 GiB root volume refused by %q, want Volumes", sid)
	}
	big.BlockDeviceMappings[0].Ebs.VolumeSize = aws.Int32(100)
	if err := run(launcher, big); err != nil {
		t.Errorf("100 GiB root volume: %v", err)
	}

	if _, err := admin.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(ltID)}, Tags: []types.Tag{{Key: aws.String("launchwarden:launch"), Value: aws.String("closed")}}}); err != nil {
		t.Fatal(err)
	}
	if sid := deniedBy(t, stsc, run(launcher, fromTemplate(types.InstanceTypeT3Small))); sid != "Closed" {
		t.Errorf("launch from a closed template refused by %q, want Closed", sid)
	}
	// DryRun answers as the launch would be authorized, launching nothing
	// (API model, RunInstances DryRun: DryRunOperation if allowed, else
	// UnauthorizedOperation).
	dry := fromTemplate(types.InstanceTypeT3Small)
	dry.DryRun = aws.Bool(true)
	if sid := deniedBy(t, stsc, run(launcher, dry)); sid != "Closed" {
		t.Errorf("dry run from a closed template refused by %q, want Closed", sid)
	}
	open, err := admin.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("open"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	dry.LaunchTemplate.LaunchTemplateId = open.LaunchTemplate.LaunchTemplateId
	if err := run(launcher, dry); errorCode(err) != "DryRunOperation" {
		t.Errorf("dry run from an open template: %v, want DryRunOperation", err)
	}
	// The policy is the role's: other callers are not bound by it.
	if err := run(admin, fromTemplate(types.InstanceTypeC7i8xlarge)); err != nil {
		t.Errorf("base credentials: %v", err)
	}
	if got := len(sim.Instances("", "")); got != 3 {
		t.Errorf("%d instances, want the 3 allowed launches", got)
	}

	who, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(who.Arn), "arn:aws:sts::123456789012:assumed-role/provisioning/launch"; got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}
	sim.DetachPolicies(launchRole)
	if err := run(launcher, fromTemplate(types.InstanceTypeC7i8xlarge)); err != nil {
		t.Errorf("after detaching: %v", err)
	}
}

// A Deny with Resource "*" and no condition applies to any action.
func TestDenyOtherActions(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	ctx := context.Background()
	id := sim.Seed(ec2sim.SeedInstance{})
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"NoStop","Effect":"Deny","Action":"ec2:Stop*","Resource":"*"}]}`
	resp, err := http.Post(srv.URL+"/_sim/policies", "application/json", bytes.NewBufferString(`{"principal":"`+launchRole+`","policy":`+policy+`}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_sim/policies: %s", resp.Status)
	}
	launcher, stsc := roleClients(t, srv, launchRole)
	_, err = launcher.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	if sid := deniedBy(t, stsc, err); sid != "NoStop" {
		t.Errorf("StopInstances refused by %q, want NoStop", sid)
	}
	if _, err := launcher.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances: %v", err)
	}

	resp, err = http.Post(srv.URL+"/_sim/policies", "application/json", bytes.NewBufferString(`{"principal":"`+launchRole+`","policy":{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a policy with an operator the emulator does not model: %s, want 400", resp.Status)
	}
}
