package cloud

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

var (
	launched = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	attached = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
)

func TestNewInstance(t *testing.T) {
	tests := []struct {
		name string
		in   ec2types.Instance
		want Instance
	}{
		{
			name: "running, born at root volume attach after a stop and start",
			in: ec2types.Instance{
				InstanceId:     aws.String("i-1"),
				ImageId:        aws.String("ami-1"),
				InstanceType:   ec2types.InstanceTypeT3Micro,
				State:          &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
				LaunchTime:     aws.Time(launched),
				RootDeviceName: aws.String("/dev/xvda"),
				BlockDeviceMappings: []ec2types.InstanceBlockDeviceMapping{
					{DeviceName: aws.String("/dev/xvdb"), Ebs: &ec2types.EbsInstanceBlockDevice{AttachTime: aws.Time(attached.Add(-time.Hour))}},
					{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsInstanceBlockDevice{AttachTime: aws.Time(attached)}},
				},
				SecurityGroups: []ec2types.GroupIdentifier{{GroupId: aws.String("sg-1")}, {GroupId: aws.String("sg-2")}},
				Tags: []ec2types.Tag{
					{Key: aws.String(TagProject), Value: aws.String("packit")},
					{Key: aws.String(TagTemplate), Value: aws.String("fedora")},
					{Key: aws.String("aws:ec2launchtemplate:id"), Value: aws.String("lt-1")},
				},
			},
			want: Instance{
				ID: "i-1", ImageID: "ami-1", Type: "t3.micro", State: "running",
				Project: "packit", Template: "fedora", LabelProject: "packit", LabelTemplate: "fedora",
				LaunchTime: launched, BornAt: attached,
				SecurityGroupIDs: []string{"sg-1", "sg-2"},
				LaunchTemplateID: "lt-1",
				Region:           "eu-west-1", Account: "123456789012",
			},
		},
		{
			name: "primary interface attached before the root volume",
			in: ec2types.Instance{
				InstanceId:     aws.String("i-2"),
				State:          &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
				LaunchTime:     aws.Time(launched),
				RootDeviceName: aws.String("/dev/xvda"),
				BlockDeviceMappings: []ec2types.InstanceBlockDeviceMapping{
					{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsInstanceBlockDevice{AttachTime: aws.Time(attached)}},
				},
				NetworkInterfaces: []ec2types.InstanceNetworkInterface{
					{Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(1), AttachTime: aws.Time(attached.Add(-48 * time.Hour))}},
					{Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0), AttachTime: aws.Time(attached.Add(-time.Minute))}},
				},
			},
			want: Instance{
				ID: "i-2", State: "running", LaunchTime: launched, BornAt: attached.Add(-time.Minute),
				Region: "eu-west-1", Account: "123456789012",
			},
		},
		{
			name: "no attach times falls back to launch time",
			in: ec2types.Instance{
				InstanceId: aws.String("i-3"),
				State:      &ec2types.InstanceState{Name: ec2types.InstanceStateNamePending},
				LaunchTime: aws.Time(launched),
			},
			want: Instance{
				ID: "i-3", State: "pending", LaunchTime: launched, BornAt: launched, BornAtFromLaunchTime: true,
				Region: "eu-west-1", Account: "123456789012",
			},
		},
		{
			name: "stopped, with the stop time from the transition reason",
			in: ec2types.Instance{
				InstanceId:            aws.String("i-4"),
				State:                 &ec2types.InstanceState{Name: ec2types.InstanceStateNameStopped},
				StateTransitionReason: aws.String("User initiated (2026-11-21 17:30:05 GMT)"),
				LaunchTime:            aws.Time(launched),
				NetworkInterfaces: []ec2types.InstanceNetworkInterface{
					{Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0), AttachTime: aws.Time(attached)}},
				},
			},
			want: Instance{
				ID: "i-4", State: "stopped", LaunchTime: launched, BornAt: attached,
				StoppedAt: time.Date(2026, 11, 21, 17, 30, 5, 0, time.UTC),
				Region:    "eu-west-1", Account: "123456789012",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newInstance(tt.in, "123456789012", "eu-west-1", map[string]owner{"lt-1": {"packit", "fedora"}}, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("newInstance (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoppedAt(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		want   time.Time
	}{
		{"user initiated", "User initiated (2026-11-21 17:30:05 GMT)", time.Date(2026, 11, 21, 17, 30, 5, 0, time.UTC)},
		{"shutdown from the guest", "Client.UserInitiatedShutdown: User initiated shutdown (2026-01-02 03:04:05 GMT)", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"no time", "Server.InternalError", time.Time{}},
		{"empty", "", time.Time{}},
		{"not GMT", "User initiated (2026-11-21 17:30:05 PST)", time.Time{}},
		{"garbled", "User initiated (yesterday GMT)", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, stoppedAt(tt.reason)); diff != "" {
				t.Errorf("stoppedAt(%q) (-want +got):\n%s", tt.reason, diff)
			}
		})
	}
}

func TestNewTemplate(t *testing.T) {
	keys := testKeys(t, strings.Repeat("k", 32))
	lt := ec2types.LaunchTemplate{
		LaunchTemplateId:     aws.String("lt-1"),
		LaunchTemplateName:   aws.String("lw-packit-fedora"),
		DefaultVersionNumber: aws.Int64(2),
		LatestVersionNumber:  aws.Int64(3),
		Tags: []ec2types.Tag{
			{Key: aws.String(TagManaged), Value: aws.String("true")},
			{Key: aws.String(TagProject), Value: aws.String("packit")},
			{Key: aws.String(TagTemplate), Value: aws.String("fedora")},
			{Key: aws.String(TagSpec), Value: aws.String(keys.Sign(markerScope(kindTemplate, "123456789012", "us-east-1", "lw-packit-fedora", TagSpec, ""), TagSpec, "abc123"))},
		},
	}
	want := Template{
		ID: "lt-1", Name: "lw-packit-fedora", DefaultVersion: 2, LatestVersion: 3,
		Tags: map[string]string{
			TagManaged: "true", TagProject: "packit", TagTemplate: "fedora", TagSpec: "abc123",
		},
		Project: "packit", TemplateName: "fedora", Spec: "abc123", Managed: true,
		Region: "us-east-1", Account: "123456789012",
	}
	if diff := cmp.Diff(want, newTemplate(lt, "123456789012", "us-east-1", keys)); diff != "" {
		t.Errorf("newTemplate (-want +got):\n%s", diff)
	}
}

func TestNewSecurityGroup(t *testing.T) {
	sg := ec2types.SecurityGroup{
		GroupId:   aws.String("sg-1"),
		GroupName: aws.String("lw-packit-fedora"),
		VpcId:     aws.String("vpc-1"),
		Tags: []ec2types.Tag{
			{Key: aws.String(TagManaged), Value: aws.String("true")},
			{Key: aws.String(TagProject), Value: aws.String("packit")},
			{Key: aws.String(TagTemplate), Value: aws.String("fedora")},
		},
		IpPermissions: []ec2types.IpPermission{
			{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}, {CidrIp: aws.String("192.0.2.0/24")}},
				Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32")}},
			},
			{
				// A rule naming another group is not a CIDR rule.
				IpProtocol:       aws.String("-1"),
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-2")}},
			},
		},
	}
	want := SecurityGroup{
		ID: "sg-1", Name: "lw-packit-fedora", VPCID: "vpc-1",
		Tags:    map[string]string{TagManaged: "true", TagProject: "packit", TagTemplate: "fedora"},
		Project: "packit", TemplateName: "fedora", Managed: true,
		Ingress: []Rule{
			{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "10.0.0.0/8"},
			{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "192.0.2.0/24"},
			{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "2001:db8::/32"},
		},
	}
	got := newSecurityGroup(sg, "123456789012", "us-east-1", nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newSecurityGroup (-want +got):\n%s", diff)
	}
	// Rules written back and read again are the same rules.
	if diff := cmp.Diff(want.Ingress, rulesFromPermissions(permissionsFromRules(want.Ingress))); diff != "" {
		t.Errorf("rules round trip (-want +got):\n%s", diff)
	}
}

func TestNewInstanceType(t *testing.T) {
	it := ec2types.InstanceTypeInfo{
		InstanceType: ec2types.InstanceTypeM5Xlarge,
		VCpuInfo:     &ec2types.VCpuInfo{DefaultVCpus: aws.Int32(4)},
		MemoryInfo:   &ec2types.MemoryInfo{SizeInMiB: aws.Int64(16384)},
	}
	want := InstanceType{Name: "m5.xlarge", VCPUs: 4, MemoryMiB: 16384}
	if diff := cmp.Diff(want, newInstanceType(it)); diff != "" {
		t.Errorf("newInstanceType (-want +got):\n%s", diff)
	}
}
