package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/cloud/iamguard"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// demoLaunchRole is the role the provisioning service assumes to launch
// maintainers' instances; the story attaches the launch guard to it, as
// deploy/README.md tells admins to.
const demoLaunchRole = "arn:aws:iam::" + demoAccount + ":role/provisioning"

// attachDemoGuard attaches what `launchwarden iam launch-guard` prints for
// the story's admin file to the launching role.
func attachDemoGuard(sim *ec2sim.Sim, admin *projects.Admin) error {
	policy, err := iamguard.Generate(admin)
	if err != nil {
		return fmt.Errorf("launch guard: %w", err)
	}
	return sim.AttachPolicy(demoLaunchRole, policy)
}

// launchClient returns an EC2 client that signs as the launching role, as
// the provisioning service does after assuming it.
func (d *demoWorld) launchClient(region string) *ec2.Client {
	base := aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(d.ec2),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPROVISIONING", "demo-secret", ""),
		HTTPClient:   plainBodyDoer{http.DefaultClient},
	}
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), demoLaunchRole))
	return ec2.NewFromConfig(cfg)
}

// launchRefused is a maintainer's launch that the launch guard must refuse:
// from the project's template, with typ overriding the template's instance
// type when set, as the provisioning service's wizard may. It returns the
// story's lines, or an error if EC2 let the launch through.
func (d *demoWorld) launchRefused(ctx context.Context, who, project, template, region, typ string) ([]string, error) {
	name := reconcile.Name(project, template)
	in := &ec2.RunInstancesInput{
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String(name), Version: aws.String("$Default")},
		MinCount:       aws.Int32(1),
		MaxCount:       aws.Int32(1),
	}
	what := "another instance"
	if typ != "" {
		in.InstanceType = ec2types.InstanceType(typ)
		what = "an instance of type " + typ
	}
	out, err := d.launchClient(region).RunInstances(ctx, in)
	if err == nil {
		var ids []string
		for _, i := range out.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
		return nil, fmt.Errorf("%s launching %s from %s: the launch guard let %v through", who, what, name, ids)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
		return nil, fmt.Errorf("%s launching %s from %s: %w", who, what, name, err)
	}
	f, err := ec2sim.DecodeAuthorizationFailure(ae.ErrorMessage())
	if err != nil || len(f.MatchedStatements.Items) == 0 {
		return nil, fmt.Errorf("%s launching %s from %s: undecodable refusal: %v", who, what, name, err)
	}
	sid := f.MatchedStatements.Items[0].StatementID
	d.res.Refused = append(d.res.Refused, sid)
	return []string{
		fmt.Sprintf("%s (%s) tries to launch %s in %s from launch template %s", who, project, what, region, name),
		fmt.Sprintf("→ refused by EC2: UnauthorizedOperation, launch guard statement %s", sid),
	}, nil
}
