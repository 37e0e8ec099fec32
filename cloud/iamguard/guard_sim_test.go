package iamguard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// launchRole is the role the provisioning service assumes to launch.
const launchRole = "arn:aws:iam::123456789012:role/provisioning"

// shippedGuard is the policy deploy/ ships for the example config; a test in
// cmd/launchwarden checks it is exactly what `launchwarden iam launch-guard
// --config examples/config-repo` prints.
const shippedGuard = "../../deploy/iam/launch-guard.json"

// plainBody hides the request body's WriteTo, as cloud.Connect does (see
// plainBodyClient in cloud/connect.go).
type plainBody struct{ next aws.HTTPClient }

func (c plainBody) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = struct{ io.ReadCloser }{req.Body}
	}
	return c.next.Do(req)
}

func sdkConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   plainBody{awshttp.NewBuildableClient()},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// launch is what the provisioning service sends: the template, and its own
// instance type, image and count, which EC2 lets override the template.
type launch struct {
	template  string // launch template id; "" for none
	typ       string
	count     int32
	volumeGiB int32 // a root volume size override; 0 for none
}

func (l launch) input() *ec2.RunInstancesInput {
	in := &ec2.RunInstancesInput{
		InstanceType: types.InstanceType(l.typ),
		ImageId:      aws.String("ami-0fedcba9876543210"),
		MinCount:     aws.Int32(l.count),
		MaxCount:     aws.Int32(l.count),
	}
	if l.template != "" {
		in.LaunchTemplate = &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(l.template)}
	}
	if l.volumeGiB > 0 {
		in.BlockDeviceMappings = []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(l.volumeGiB)}}}
	}
	return in
}

// TestShippedGuardRefusesAndAllows feeds the shipped policy to the emulator
// and proves each of its statements by a launch it refuses and one it
// allows, launching as the provisioning role does.
func TestShippedGuardRefusesAndAllows(t *testing.T) {
	policy, err := os.ReadFile(shippedGuard)
	if err != nil {
		t.Fatal(err)
	}
	sim := ec2sim.New(ec2sim.Options{})
	// The image the launches use exists, as on EC2.
	sim.AddImage("us-east-1", ec2sim.Image{ID: "ami-0fedcba9876543210", Name: "guard-test", Public: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if err := sim.AttachPolicy(launchRole, policy); err != nil {
		t.Fatalf("the emulator does not take the shipped policy: %v", err)
	}
	ctx := context.Background()
	base := sdkConfig(srv.URL)
	admin := ec2.NewFromConfig(base)
	role := base.Copy()
	role.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), launchRole))
	launcher := ec2.NewFromConfig(role)

	template := func(name string, tags map[string]string) string {
		in := &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Medium},
		}
		if len(tags) > 0 {
			spec := types.TagSpecification{ResourceType: types.ResourceTypeLaunchTemplate}
			for k, v := range tags {
				spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			in.TagSpecifications = []types.TagSpecification{spec}
		}
		out, err := admin.CreateLaunchTemplate(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	}
	open := template("lw-osbuild-builder", map[string]string{"launchwarden:managed": "true"})
	closed := template("lw-osbuild-small", map[string]string{"launchwarden:managed": "true", "launchwarden:launch": "closed"})
	handMade := template("hand-made", nil)
	notManaged := template("lw-looks-managed", map[string]string{"launchwarden:managed": "false"})

	cases := []struct {
		name   string
		launch launch
		want   string // the Sid that refuses it; "" when allowed
	}{
		{"open managed template", launch{open, "t3.medium", 2, 0}, ""},
		{"closed template", launch{closed, "t3.medium", 1, 0}, "DenyClosedTemplates"},
		{"no template", launch{"", "t3.medium", 1, 0}, "DenyLaunchWithoutTemplate"},
		{"template without launchwarden:managed", launch{handMade, "t3.medium", 1, 0}, "DenyUnmanagedTemplates"},
		{"template with launchwarden:managed=false", launch{notManaged, "t3.medium", 1, 0}, "DenyUnmanagedTemplates"},
		{"type of a grant (osbuild c7i.*)", launch{open, "c7i.8xlarge", 1, 0}, ""},
		{"type no project may use", launch{open, "r7i.48xlarge", 1, 0}, "DenyInstanceTypes"},
		{"type of no family in caps", launch{open, "m5.large", 3, 0}, "DenyInstanceTypes"},
		{"volume at the largest cap (osbuild 500 GiB)", launch{open, "t3.medium", 1, 500}, ""},
		{"volume above the largest cap", launch{open, "t3.medium", 1, 501}, "DenyLargeVolumes"},
	}
	launched := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := launcher.RunInstances(ctx, tc.launch.input())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				launched += int(tc.launch.count)
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
				t.Fatalf("error %v, want UnauthorizedOperation", err)
			}
			f, derr := ec2sim.DecodeAuthorizationFailure(ae.ErrorMessage())
			if derr != nil {
				t.Fatal(derr)
			}
			if got := f.MatchedStatements.Items[0].StatementID; got != tc.want {
				t.Errorf("refused by %s, want %s", got, tc.want)
			}
		})
	}
	if got := len(sim.Instances("", "")); got != launched {
		t.Errorf("%d instances exist, want the %d allowed", got, launched)
	}
	// The check deploy/README.md suggests: a dry run from a closed template
	// answers UnauthorizedOperation, from an open one DryRunOperation.
	for tmpl, want := range map[string]string{closed: "UnauthorizedOperation", open: "DryRunOperation"} {
		in := launch{tmpl, "t3.medium", 1, 0}.input()
		in.DryRun = aws.Bool(true)
		_, err := launcher.RunInstances(ctx, in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != want {
			t.Errorf("dry run from %s: %v, want %s", tmpl, err, want)
		}
	}
	// launchwarden itself (another principal) is not bound by the guard.
	if _, err := admin.RunInstances(ctx, launch{"", "m5.large", 1, 0}.input()); err != nil {
		t.Errorf("a principal without the guard: %v", err)
	}
	if !strings.Contains(string(policy), `launchwarden:launch": "closed"`) {
		t.Error("the shipped policy lost its closed-template statement")
	}
}
