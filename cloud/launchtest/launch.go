// Package launchtest launches instances the way the provisioning service
// ("Launch", RHEnVision/provisioning-backend,
// internal/clients/http/ec2/ec2_client.go) does, for end-to-end tests of
// launchwarden against an EC2 endpoint such as cloud/ec2sim. launchwarden
// itself never launches anything; only tests import this package.
//
// Launch calls RunInstances with the launch template's id and, as the
// provisioning service does, its own instance type, image, key pair and
// user data, and a Name tag specification for the instance. EC2 lets those
// override the template's (go doc
// github.com/aws/aws-sdk-go-v2/service/ec2.RunInstancesInput.LaunchTemplate),
// so a test can check what launchwarden makes of an instance whose type,
// image and user data are not the template's.
package launchtest

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Request is what the provisioning service sends with a launch.
type Request struct {
	// TemplateID is the launch template's id; its default version is used.
	TemplateID string
	// InstanceType, ImageID, KeyName and UserData override the template's
	// when set. UserData is plain text, base64-encoded on the wire.
	InstanceType, ImageID, KeyName, UserData string
	// Name goes in a Name tag on the instance.
	Name string
	// Count is the number of instances; 0 means 1.
	Count int32
}

// Client returns an EC2 client for endpoint and region with static
// credentials of the given access key (the emulator takes the account from
// it; any key not issued by its STS is the default account's).
func Client(endpoint, region, accessKey string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
	})
}

// Launch starts instances as the provisioning service does and returns
// their ids.
func Launch(ctx context.Context, api *ec2.Client, r Request) ([]string, error) {
	count := r.Count
	if count == 0 {
		count = 1
	}
	in := &ec2.RunInstancesInput{
		MinCount:       aws.Int32(count),
		MaxCount:       aws.Int32(count),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(r.TemplateID)},
		InstanceType:   ec2types.InstanceType(r.InstanceType),
	}
	if r.ImageID != "" {
		in.ImageId = aws.String(r.ImageID)
	}
	if r.KeyName != "" {
		in.KeyName = aws.String(r.KeyName)
	}
	if r.UserData != "" {
		in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(r.UserData)))
	}
	if r.Name != "" {
		in.TagSpecifications = []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags:         []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(r.Name)}},
		}}
	}
	out, err := api.RunInstances(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("launching from template %s: %w", r.TemplateID, err)
	}
	ids := make([]string, 0, len(out.Instances))
	for _, i := range out.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	return ids, nil
}
