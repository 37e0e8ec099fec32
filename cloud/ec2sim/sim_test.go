package ec2sim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

var start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// newServer starts an emulator on a loopback httptest server.
func newServer(t *testing.T, opts ec2sim.Options) (*ec2sim.Sim, *httptest.Server) {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = start
	}
	sim := ec2sim.New(opts)
	seedFixtures(sim)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

// Images and the VPC the tests launch with and create groups in: public
// x86_64 images in every region the tests use, and a non-default VPC in the
// default account's us-east-1.
const testVPC = "vpc-0123456789abcdef0"

func seedFixtures(sim *ec2sim.Sim) {
	for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1", "ap-south-1"} {
		for _, id := range []string{"ami-0123456789abcdef0", "ami-0abcdef1234567890", "ami-0000000000000000a", "ami-0000000000000000b", "ami-0fedcba9876543210"} {
			sim.AddImage(region, ec2sim.Image{ID: id, OwnerID: "210987654321", Name: "fixture-" + id, Public: true})
		}
	}
	sim.AddVPC("", "us-east-1", ec2sim.VPC{ID: testVPC, CIDR: "10.0.0.0/16"})
}

// awsConfig is a client configuration for the emulator at url: static
// credentials and the SDK's standard retryer without backoff delays.
//
// Clients need at least two attempts: with aws-sdk-go-v2 and Go 1.26,
// a server that answers as fast as the emulator sometimes makes the SDK
// close the request body while net/http still checks it for extra bytes;
// net/http then drops the connection under the response being read, and
// the SDK retries the call ("use of closed network connection").
func awsConfig(url, accessKey, region string, attempts int) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   plainBodyClient{awshttp.NewBuildableClient()},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = noBackoff{}
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// plainBodyClient hides the request body's WriteTo, as cloud.Connect does:
// the SDK closes the body once response headers arrive, and net/http's
// final copy of a body whose WriteTo reports io.EOF on a closed body takes
// it for a failed write and closes the connection under the response. See
// plainBodyClient in cloud/connect.go for the whole story.
type plainBodyClient struct{ next aws.HTTPClient }

func (c plainBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = struct{ io.ReadCloser }{req.Body}
	}
	return c.next.Do(req)
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func newClient(t *testing.T, srv *httptest.Server) *ec2.Client {
	t.Helper()
	return ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "us-east-1", 3))
}

// newClientNoRetry returns a client that makes one attempt per call, for
// tests of retryable errors (throttling, faults); keep their responses small.
func newClientNoRetry(t *testing.T, srv *httptest.Server) *ec2.Client {
	t.Helper()
	return ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "us-east-1", 1))
}

// errorCode returns the EC2 error code of err, or "" when it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func tagMap(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func instanceIDs(out []types.Reservation) []string {
	var ids []string
	for _, r := range out {
		for _, in := range r.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	sort.Strings(ids)
	return ids
}

func describeAll(t *testing.T, c *ec2.Client, in *ec2.DescribeInstancesInput) []types.Instance {
	t.Helper()
	var out []types.Instance
	p := ec2.NewDescribeInstancesPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("DescribeInstances: %v", err)
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out
}

func TestRunInstancesFromTemplate(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()

	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         aws.String("packit-ssh"),
		Description:       aws.String("ssh for packit"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("launchwarden:managed"), Value: aws.String("true")}}}},
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("packit-fedora"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId:               aws.String("ami-0abcdef1234567890"),
			InstanceType:          types.InstanceTypeT3Medium,
			DisableApiTermination: aws.Bool(false),
			SecurityGroupIds:      []string{aws.ToString(sg.GroupId)},
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{
				HttpTokens:              types.LaunchTemplateHttpTokensStateRequired,
				HttpPutResponseHopLimit: aws.Int32(2),
			},
			BlockDeviceMappings: []types.LaunchTemplateBlockDeviceMappingRequest{{
				DeviceName: aws.String("/dev/xvda"),
				Ebs:        &types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(50), VolumeType: types.VolumeTypeGp3, Encrypted: aws.Bool(true)},
			}},
			TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{
				{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("launchwarden:project"), Value: aws.String("packit")}}},
				{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{{Key: aws.String("launchwarden:project"), Value: aws.String("packit")}}},
				{ResourceType: types.ResourceTypeNetworkInterface, Tags: []types.Tag{{Key: aws.String("launchwarden:project"), Value: aws.String("packit")}}},
			},
		},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: []types.Tag{{Key: aws.String("launchwarden:managed"), Value: aws.String("true")}}}},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	ltID := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)

	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount:          aws.Int32(2),
		MaxCount:          aws.Int32(2),
		LaunchTemplate:    &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("packit-fedora"), Version: aws.String("$Latest")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("alice")}}}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(run.Instances) != 2 || run.Instances[0].State.Name != types.InstanceStateNamePending {
		t.Fatalf("RunInstances returned %d instances, first in state %v; want 2 pending", len(run.Instances), run.Instances[0].State)
	}

	sim.Advance(time.Minute)
	got := sim.Instances("", "")
	wantTags := map[string]string{
		"launchwarden:project":          "packit",
		"owner":                         "alice",
		"aws:ec2launchtemplate:id":      ltID,
		"aws:ec2launchtemplate:version": "1",
	}
	for _, in := range got {
		if diff := cmp.Diff(wantTags, in.Tags); diff != "" {
			t.Errorf("instance %s tags (-want +got):\n%s", in.ID, diff)
		}
		if in.State != ec2sim.StateRunning || in.InstanceType != "t3.medium" || in.ImageID != "ami-0abcdef1234567890" {
			t.Errorf("instance %s: state %s type %s image %s", in.ID, in.State, in.InstanceType, in.ImageID)
		}
		if diff := cmp.Diff(ec2sim.MetadataOptions{HTTPTokens: "required", HTTPEndpoint: "enabled", HopLimit: 2}, in.Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
		if len(in.Volumes) != 1 || !in.Volumes[0].Encrypted || in.Volumes[0].SizeGiB != 50 || in.Volumes[0].Tags["launchwarden:project"] != "packit" {
			t.Errorf("volumes = %+v, want one encrypted 50 GiB volume tagged with the project", in.Volumes)
		}
		if len(in.NetworkInterfaces) != 1 || in.NetworkInterfaces[0].Tags["launchwarden:project"] != "packit" {
			t.Errorf("network interfaces = %+v, want one tagged with the project", in.NetworkInterfaces)
		}
		if !slices.Equal(in.SecurityGroupIDs, []string{aws.ToString(sg.GroupId)}) {
			t.Errorf("security groups = %v, want the template's", in.SecurityGroupIDs)
		}
	}

	desc := describeAll(t, c, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("tag:launchwarden:project"), Values: []string{"packit"}}}})
	if len(desc) != 2 {
		t.Fatalf("DescribeInstances found %d instances, want 2", len(desc))
	}
	in := desc[0]
	if in.State.Name != types.InstanceStateNameRunning || aws.ToInt32(in.State.Code) != 16 {
		t.Errorf("state = %v/%d, want running/16", in.State.Name, aws.ToInt32(in.State.Code))
	}
	if !aws.ToTime(in.LaunchTime).Equal(start) {
		t.Errorf("launch time = %v, want %v", aws.ToTime(in.LaunchTime), start)
	}
	if len(in.BlockDeviceMappings) != 1 || !aws.ToTime(in.BlockDeviceMappings[0].Ebs.AttachTime).Equal(start) {
		t.Errorf("block devices = %+v, want the root volume attached at launch", in.BlockDeviceMappings)
	}
	if len(in.NetworkInterfaces) != 1 || !aws.ToTime(in.NetworkInterfaces[0].Attachment.AttachTime).Equal(start) || aws.ToInt32(in.NetworkInterfaces[0].Attachment.DeviceIndex) != 0 {
		t.Errorf("network interfaces = %+v, want the primary attached at launch", in.NetworkInterfaces)
	}
	if in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired || aws.ToInt32(in.MetadataOptions.HttpPutResponseHopLimit) != 2 {
		t.Errorf("metadata options = %+v", in.MetadataOptions)
	}
	if diff := cmp.Diff(wantTags, tagMap(in.Tags)); diff != "" {
		t.Errorf("described tags (-want +got):\n%s", diff)
	}
	if len(in.SecurityGroups) != 1 || aws.ToString(in.SecurityGroups[0].GroupName) != "packit-ssh" {
		t.Errorf("security groups = %+v", in.SecurityGroups)
	}

	vols, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{aws.ToString(in.InstanceId)}}}})
	if err != nil {
		t.Fatalf("DescribeVolumes: %v", err)
	}
	if len(vols.Volumes) != 1 || !aws.ToBool(vols.Volumes[0].Encrypted) || aws.ToInt32(vols.Volumes[0].Size) != 50 {
		t.Errorf("volumes = %+v, want one encrypted 50 GiB volume", vols.Volumes)
	}
}

func sortStrings(s []string) { sort.Strings(s) }

func fmtInt(n int) string { return strconv.Itoa(n) }

func getenv(k string) string { return os.Getenv(k) }

func TestRunInstancesClientTokenIsIdempotent(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	in := &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0abcdef1234567890"), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2), ClientToken: aws.String("retry-me"),
	}
	first, err := c.RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.RunInstances(ctx, in) // a retry, as the SDK makes with the same token
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.ReservationId) != aws.ToString(first.ReservationId) || len(again.Instances) != 2 {
		t.Errorf("retry returned reservation %s with %d instances, want %s with 2", aws.ToString(again.ReservationId), len(again.Instances), aws.ToString(first.ReservationId))
	}
	if got := len(sim.Instances("", "")); got != 2 {
		t.Errorf("instances after a retried RunInstances = %d, want 2", got)
	}
	in.ClientToken = aws.String("another")
	if _, err := c.RunInstances(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := len(sim.Instances("", "")); got != 4 {
		t.Errorf("instances after a second call = %d, want 4", got)
	}
}
