package ec2sim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestDefaultVPC_UserGuideDefaultVPC: every account and region starts
// with a default VPC (172.31.0.0/16) and a default /20 subnet per
// Availability Zone that maps public addresses (user guide default-vpc.md),
// found through the DescribeVpcs and DescribeSubnets filters the API model
// documents (is-default, vpc-id, availability-zone, default-for-az,
// subnet-id).
func TestDefaultVPC_UserGuideDefaultVPC(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	c := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "eu-central-1", 3))
	ctx := context.Background()
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: filters("is-default", "true")})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" || !aws.ToBool(vpcs.Vpcs[0].IsDefault) {
		t.Fatalf("default VPCs = %+v", vpcs.Vpcs)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: append(filters("vpc-id", vpc), filters("default-for-az", "true")...)})
	if err != nil {
		t.Fatal(err)
	}
	var zones, cidrs []string
	for _, sn := range subnets.Subnets {
		zones = append(zones, aws.ToString(sn.AvailabilityZone))
		cidrs = append(cidrs, aws.ToString(sn.CidrBlock))
		if !aws.ToBool(sn.MapPublicIpOnLaunch) || aws.ToString(sn.VpcId) != vpc {
			t.Errorf("subnet %+v: want public addresses on launch in %s", sn, vpc)
		}
	}
	slices.Sort(zones)
	slices.Sort(cidrs)
	if diff := cmp.Diff([]string{"eu-central-1a", "eu-central-1b", "eu-central-1c"}, zones); diff != "" {
		t.Errorf("zones (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"}, cidrs); diff != "" {
		t.Errorf("CIDRs (-want +got):\n%s", diff)
	}
	b, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: filters("availability-zone", "eu-central-1b")})
	if err != nil || len(b.Subnets) != 1 {
		t.Fatalf("subnets in eu-central-1b: %+v, %v", b, err)
	}
	byID, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(b.Subnets[0].SubnetId)}})
	if err != nil || len(byID.Subnets) != 1 || aws.ToString(byID.Subnets[0].AvailabilityZone) != "eu-central-1b" {
		t.Errorf("subnet by id: %+v, %v", byID, err)
	}

	for name, call := range map[string]func() (string, error){
		"unknown VPC id": func() (string, error) {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0000000000000dead"}})
			return "InvalidVpcID.NotFound", err
		},
		"unknown subnet id": func() (string, error) {
			_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0000000000000dead"}})
			return "InvalidSubnetID.NotFound", err
		},
		"group in an unknown VPC": func() (string, error) {
			_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d"), VpcId: aws.String("vpc-0000000000000dead")})
			return "InvalidVpcID.NotFound", err
		},
		"unknown filter": func() (string, error) {
			_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: filters("colour", "red")})
			return "InvalidParameterValue", err
		},
	} {
		if want, err := call(); errorCode(err) != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(g.GroupId)}})
	if err != nil || aws.ToString(groups.SecurityGroups[0].VpcId) != vpc {
		t.Errorf("group without VpcId: %+v, %v; want it in the default VPC %s", groups, err, vpc)
	}
}

// TestSeededNetwork: AddVPC and AddSubnet (and the admin API) add the
// networks an admin file names, visible to EC2 clients of that account
// and region only.
func TestSeededNetwork(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	vpc := sim.AddVPC("", "us-east-1", ec2sim.VPC{CIDR: "10.20.0.0/16"})
	sn := sim.AddSubnet("", "us-east-1", ec2sim.Subnet{VPCID: vpc, AvailabilityZone: "us-east-1b"})
	c := newClient(t, srv)
	out, err := c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{Filters: filters("vpc-id", vpc)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Subnets) != 1 || aws.ToString(out.Subnets[0].SubnetId) != sn || aws.ToString(out.Subnets[0].CidrBlock) != "10.20.0.0/24" ||
		aws.ToBool(out.Subnets[0].DefaultForAz) || aws.ToBool(out.Subnets[0].MapPublicIpOnLaunch) {
		t.Errorf("subnets of %s = %+v", vpc, out.Subnets)
	}
	other := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "us-west-2", 3))
	if _, err := other.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{VpcIds: []string{vpc}}); errorCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("VPC from another region: %v, want InvalidVpcID.NotFound", err)
	}
}

// TestRunInstancesInASubnet_APIModelNetworkInterfaces: a launch template
// whose network interface (device 0) names a subnet and groups puts the
// instance in that subnet's VPC and zone; the primary interface's
// attachment has device index 0 and an attach time that a stop and start
// keep; the public address follows AssociatePublicIpAddress, else the
// subnet. A call-level SubnetId beside network interfaces is
// InvalidParameterCombination (aws/aws-cli issue 809).
func TestRunInstancesInASubnet_APIModelNetworkInterfaces(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{PendingDelay: time.Second, StopDelay: time.Second})
	vpc := sim.AddVPC("", "us-east-1", ec2sim.VPC{CIDR: "10.20.0.0/16"})
	subnet := sim.AddSubnet("", "us-east-1", ec2sim.Subnet{VPCID: vpc, AvailabilityZone: "us-east-1c", MapPublicIPOnLaunch: true})
	c := newClient(t, srv)
	ctx := context.Background()
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("lw-p-t"), Description: aws.String("d"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(g.GroupId)
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("lw-p-t"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Micro,
			NetworkInterfaces: []types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
				DeviceIndex: aws.Int32(0), SubnetId: aws.String(subnet), Groups: []string{group},
				AssociatePublicIpAddress: aws.Bool(false), DeleteOnTermination: aws.Bool(true),
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	versions, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId})
	if err != nil {
		t.Fatal(err)
	}
	nis := versions.LaunchTemplateVersions[0].LaunchTemplateData.NetworkInterfaces
	if len(nis) != 1 || aws.ToString(nis[0].SubnetId) != subnet || !slices.Equal(nis[0].Groups, []string{group}) || aws.ToInt32(nis[0].DeviceIndex) != 0 || aws.ToBool(nis[0].AssociatePublicIpAddress) {
		t.Errorf("template network interfaces = %+v", nis)
	}

	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId},
		MinCount:       aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	sim.Advance(time.Minute)
	describe := func() types.Instance {
		t.Helper()
		out := describeAll(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		return out[0]
	}
	in := describe()
	if aws.ToString(in.VpcId) != vpc || aws.ToString(in.SubnetId) != subnet || aws.ToString(in.Placement.AvailabilityZone) != "us-east-1c" || in.PublicIpAddress != nil {
		t.Errorf("instance vpc %s subnet %s zone %s public %v; want %s, %s, us-east-1c and no public address",
			aws.ToString(in.VpcId), aws.ToString(in.SubnetId), aws.ToString(in.Placement.AvailabilityZone), aws.ToString(in.PublicIpAddress), vpc, subnet)
	}
	if len(in.NetworkInterfaces) != 1 || aws.ToInt32(in.NetworkInterfaces[0].Attachment.DeviceIndex) != 0 ||
		!aws.ToTime(in.NetworkInterfaces[0].Attachment.AttachTime).Equal(start) || in.NetworkInterfaces[0].Groups[0].GroupId == nil ||
		aws.ToString(in.NetworkInterfaces[0].Groups[0].GroupId) != group || aws.ToString(in.SecurityGroups[0].GroupId) != group {
		t.Errorf("network interfaces = %+v, groups %+v", in.NetworkInterfaces, in.SecurityGroups)
	}
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	sim.Advance(time.Hour)
	if _, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	sim.Advance(time.Minute)
	in = describe()
	if at := aws.ToTime(in.NetworkInterfaces[0].Attachment.AttachTime); !at.Equal(start) || !aws.ToTime(in.LaunchTime).After(start) {
		t.Errorf("after stop and start: attach time %v (want %v), launch time %v (want later)", at, start, aws.ToTime(in.LaunchTime))
	}

	// Without a network interface: the subnet decides the public address.
	run, err = c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), SubnetId: aws.String(subnet), SecurityGroupIds: []string{group},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if ip := aws.ToString(run.Instances[0].PublicIpAddress); ip == "" || aws.ToString(run.Instances[0].SubnetId) != subnet {
		t.Errorf("launch into a subnet mapping public addresses: public %q subnet %q", ip, aws.ToString(run.Instances[0].SubnetId))
	}

	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId},
		SubnetId:       aws.String(subnet), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if errorCode(err) != "InvalidParameterCombination" {
		t.Errorf("template interface plus call SubnetId: %v, want InvalidParameterCombination", err)
	}
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), SubnetId: aws.String("subnet-0000000000000dead"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if errorCode(err) != "InvalidSubnetID.NotFound" {
		t.Errorf("unknown subnet: %v, want InvalidSubnetID.NotFound", err)
	}
}

// TestAdminAPISeedsImagesAndNetworks: /_sim/images, /_sim/vpcs and
// /_sim/subnets seed what AddImage, AddVPC and AddSubnet do, so a client in
// another process can prepare `launchwarden sim`.
func TestAdminAPISeedsImagesAndNetworks(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	post := func(path, body string) []string {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		var out struct{ IDs []string }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
		return out.IDs
	}
	imgs := post("/_sim/images", `[{"region": "eu-central-1", "name": "Fedora-Cloud-Base-Generic-41", "owner_id": "125523088429", "public": true, "architecture": "arm64", "root_device_name": "/dev/sda1", "root_volume_gib": 5}]`)
	vpcs := post("/_sim/vpcs", `{"account": "123456789012", "region": "eu-central-1", "id": "vpc-0f1e2d3c4b5a69788", "cidr": "10.9.0.0/16"}`)
	subnets := post("/_sim/subnets", `{"region": "eu-central-1", "id": "subnet-0f1e2d3c4b5a69789", "vpc_id": "vpc-0f1e2d3c4b5a69788", "availability_zone": "eu-central-1b"}`)
	if len(imgs) != 1 || !strings.HasPrefix(imgs[0], "ami-") || len(imgs[0]) != len("ami-")+17 || !slices.Equal(vpcs, []string{"vpc-0f1e2d3c4b5a69788"}) || !slices.Equal(subnets, []string{"subnet-0f1e2d3c4b5a69789"}) {
		t.Fatalf("ids: %v %v %v", imgs, vpcs, subnets)
	}
	c := ec2.NewFromConfig(awsConfig(srv.URL, "AKIDEXAMPLE", "eu-central-1", 3))
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"125523088429"}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].RootDeviceName) != "/dev/sda1" || out.Images[0].Architecture != types.ArchitectureValuesArm64 {
		t.Errorf("DescribeImages: %+v, %v", out, err)
	}
	sn, err := c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{SubnetIds: subnets})
	if err != nil || aws.ToString(sn.Subnets[0].VpcId) != vpcs[0] || aws.ToString(sn.Subnets[0].AvailabilityZone) != "eu-central-1b" {
		t.Errorf("DescribeSubnets: %+v, %v", sn, err)
	}
}

// TestGroupAndSubnetOfDifferentVPCs_InvalidParameter: a security group
// must be in the VPC of the subnet the instance goes to ("Security group …
// and subnet … belong to different networks.", InvalidParameter); a launch
// that names no subnet goes to the default VPC, so a group of another VPC
// fails there.
func TestGroupAndSubnetOfDifferentVPCs_InvalidParameter(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	vpc := sim.AddVPC("", "us-east-1", ec2sim.VPC{CIDR: "10.20.0.0/16"})
	subnet := sim.AddSubnet("", "us-east-1", ec2sim.Subnet{VPCID: vpc})
	c := newClient(t, srv)
	ctx := context.Background()
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(g.GroupId)
	launch := func(in ec2.RunInstancesInput) error {
		in.ImageId, in.MinCount, in.MaxCount = aws.String("ami-0123456789abcdef0"), aws.Int32(1), aws.Int32(1)
		_, err := c.RunInstances(ctx, &in)
		return err
	}
	if err := launch(ec2.RunInstancesInput{SecurityGroupIds: []string{group}}); errorCode(err) != "InvalidParameter" || !strings.Contains(err.Error(), "belong to different networks") {
		t.Errorf("group of %s without a subnet: %v, want InvalidParameter", vpc, err)
	}
	defaultSubnet := sim.Subnets("", "us-east-1")
	other := ""
	for _, sn := range defaultSubnet {
		if sn.DefaultForAZ {
			other = sn.ID
		}
	}
	err = launch(ec2.RunInstancesInput{NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: aws.String(other), Groups: []string{group}}}})
	if errorCode(err) != "InvalidParameter" {
		t.Errorf("interface in a default subnet with a group of %s: %v, want InvalidParameter", vpc, err)
	}
	if err := launch(ec2.RunInstancesInput{SubnetId: aws.String(subnet), SecurityGroupIds: []string{group}}); err != nil {
		t.Errorf("group and subnet of one VPC: %v", err)
	}
	if got := len(sim.Instances("", "")); got != 1 {
		t.Errorf("%d instances, want only the launch whose group and subnet agree", got)
	}
}
