package ec2sim_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestPrivateDNSName_UserGuideIPName: the IP-name hostname is
// ip-<address>.ec2.internal in us-east-1 and
// ip-<address>.<region>.compute.internal in any other region (user guide
// ec2-instance-naming.md, "IP name").
func TestPrivateDNSName_UserGuideIPName(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	ctx := context.Background()
	for region, suffix := range map[string]string{"us-east-1": ".ec2.internal", "eu-west-1": ".eu-west-1.compute.internal"} {
		c := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", region, 3))
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		in := run.Instances[0]
		want := "ip-" + strings.ReplaceAll(aws.ToString(in.PrivateIpAddress), ".", "-") + suffix
		if got := describeAll(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(in.InstanceId)}})[0].PrivateDnsName; aws.ToString(got) != want {
			t.Errorf("%s: private DNS name %q, want %q", region, aws.ToString(got), want)
		}
	}
}

// TestBlockDeviceDefaults_APIModel: what a launch's mapping leaves open,
// as the API model says: the root's size is the image's snapshot's
// (EbsBlockDevice.VolumeSize); another device needs a size or a snapshot
// (same), else InvalidBlockDeviceMapping; its type defaults to gp2, the
// default the model states for CreateVolume (the emulator's reading for
// launches).
func TestBlockDeviceDefaults_APIModel(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	launch := func(mappings ...types.BlockDeviceMapping) (*ec2.RunInstancesOutput, error) {
		return c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), BlockDeviceMappings: mappings})
	}
	if _, err := launch(types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdf"), Ebs: &types.EbsBlockDevice{}}); errorCode(err) != "InvalidBlockDeviceMapping" {
		t.Errorf("a data volume with neither size nor snapshot: %v, want InvalidBlockDeviceMapping", err)
	}
	run, err := launch(types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdf"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(50)}})
	if err != nil {
		t.Fatal(err)
	}
	vols, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{aws.ToString(run.Instances[0].InstanceId)}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vols.Volumes {
		got[aws.ToString(v.Attachments[0].Device)] = string(v.VolumeType) + " " + strconv.Itoa(int(aws.ToInt32(v.Size)))
	}
	if got["/dev/sdf"] != "gp2 50" || len(got) != 2 {
		t.Errorf("volumes by device = %v, want the data volume gp2 50 beside the root", got)
	}
}
