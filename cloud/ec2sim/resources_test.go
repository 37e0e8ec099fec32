package ec2sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

func TestSecurityGroupRules(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String("packit-ssh"),
		Description: aws.String("ssh"),
		VpcId:       aws.String("vpc-0123456789abcdef0"),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	perm := func(from, to int32, cidrs []string, v6 []string) types.IpPermission {
		p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
		for _, c := range cidrs {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
		}
		for _, c := range v6 {
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
		}
		return p
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{
		perm(22, 22, []string{"10.0.0.0/8", "192.168.0.0/16"}, []string{"2001:db8::/32"}),
		perm(443, 443, []string{"0.0.0.0/0"}, nil),
	}}); err != nil {
		t.Fatalf("AuthorizeSecurityGroupIngress: %v", err)
	}
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{
		perm(22, 22, []string{"192.168.0.0/16"}, nil),
	}}); err != nil {
		t.Fatalf("RevokeSecurityGroupIngress: %v", err)
	}

	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters("group-name", "packit-*")})
	if err != nil {
		t.Fatalf("DescribeSecurityGroups: %v", err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("found %d groups, want 1", len(out.SecurityGroups))
	}
	g := out.SecurityGroups[0]
	type rule struct {
		From, To int32
		CIDRs    []string
		IPv6     []string
	}
	var got []rule
	for _, p := range g.IpPermissions {
		r := rule{From: aws.ToInt32(p.FromPort), To: aws.ToInt32(p.ToPort)}
		for _, ip := range p.IpRanges {
			r.CIDRs = append(r.CIDRs, aws.ToString(ip.CidrIp))
		}
		for _, ip := range p.Ipv6Ranges {
			r.IPv6 = append(r.IPv6, aws.ToString(ip.CidrIpv6))
		}
		got = append(got, r)
	}
	want := []rule{{22, 22, []string{"10.0.0.0/8"}, []string{"2001:db8::/32"}}, {443, 443, []string{"0.0.0.0/0"}, nil}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}
	if aws.ToString(g.VpcId) != "vpc-0123456789abcdef0" || len(g.IpPermissionsEgress) != 1 {
		t.Errorf("vpc %s, egress %+v; want the given VPC and the default egress rule", aws.ToString(g.VpcId), g.IpPermissionsEgress)
	}

	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); err != nil {
		t.Fatalf("DeleteSecurityGroup: %v", err)
	}
	if got := sim.SecurityGroups("", ""); len(got) != 0 {
		t.Errorf("groups after delete = %d, want 0", len(got))
	}
}

func TestCreateAndDeleteTags(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	id := sim.Seed(ec2sim.SeedInstance{Tags: map[string]string{"keep": "x", "launchwarden:notice": "warn@2026-11-26T10:00:00Z"}})
	vol := sim.Instances("", "")[0].Volumes[0].ID
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("t-1"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	all := []string{id, vol, aws.ToString(sg.GroupId), aws.ToString(lt.LaunchTemplate.LaunchTemplateId)}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: all, Tags: []types.Tag{{Key: aws.String("launchwarden:managed"), Value: aws.String("true")}}}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	// Deleting with a value that does not match keeps the tag.
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{
		{Key: aws.String("launchwarden:notice"), Value: aws.String("stop@2026-11-27T10:00:00Z")},
		{Key: aws.String("keep")},
	}}); err != nil {
		t.Fatalf("DeleteTags: %v", err)
	}

	in := sim.Instances("", "")[0]
	got := map[string]map[string]string{
		"instance": in.Tags,
		"volume":   in.Volumes[0].Tags,
		"group":    sim.SecurityGroups("", "")[0].Tags,
		"template": sim.LaunchTemplates("", "")[0].Tags,
	}
	managed := map[string]string{"launchwarden:managed": "true"}
	want := map[string]map[string]string{
		"instance": {"launchwarden:managed": "true", "launchwarden:notice": "warn@2026-11-26T10:00:00Z"},
		"volume":   managed, "group": managed, "template": managed,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestDescribeInstanceTypes(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	out, err := c.DescribeInstanceTypes(context.Background(), &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []types.InstanceType{"t3.micro", "m7g.medium", "c5.9xlarge", "r6i.metal"},
	})
	if err != nil {
		t.Fatalf("DescribeInstanceTypes: %v", err)
	}
	type size struct {
		VCPUs int32
		MiB   int64
		Arch  types.ArchitectureType
	}
	got := map[string]size{}
	for _, it := range out.InstanceTypes {
		got[string(it.InstanceType)] = size{aws.ToInt32(it.VCpuInfo.DefaultVCpus), aws.ToInt64(it.MemoryInfo.SizeInMiB), it.ProcessorInfo.SupportedArchitectures[0]}
	}
	want := map[string]size{
		"t3.micro":   {2, 1024, "x86_64"},
		"m7g.medium": {1, 4096, "arm64"},
		"c5.9xlarge": {36, 73728, "x86_64"},
		"r6i.metal":  {128, 1048576, "x86_64"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance types (-want +got):\n%s", diff)
	}

	var all int
	p := ec2.NewDescribeInstanceTypesPaginator(c, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("DescribeInstanceTypes: %v", err)
		}
		all += len(page.InstanceTypes)
	}
	if want := len(ec2sim.InstanceTypes()); all != want {
		t.Errorf("paged over %d types, want %d", all, want)
	}
}

func TestAdminAPI(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	post("/_sim/seed", `[{"instance_type": "m5.large", "tags": {"launchwarden:project": "packit"}}, {"state": "stopping"}]`)
	post("/_sim/clock", `{"advance": "90s"}`)
	post("/_sim/fault", `{"action": "DescribeInstances", "code": "InternalError", "times": 1}`)

	if got, want := sim.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("clock = %v, want %v", got, want)
	}
	var states []string
	for _, in := range sim.Instances("", "") {
		states = append(states, in.InstanceType+"/"+in.State)
	}
	if diff := cmp.Diff([]string{"m5.large/running", "t3.micro/stopped"}, states); diff != "" {
		t.Errorf("seeded instances (-want +got):\n%s", diff)
	}
	c := newClientNoRetry(t, srv)
	if _, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); errorCode(err) != "InternalError" {
		t.Errorf("DescribeInstances after an injected fault: %v, want InternalError", err)
	}

	for _, tt := range []struct {
		query string
		want  map[string]int
	}{
		{"", map[string]int{"DescribeInstances": 1}},
		{"?account=123456789012&region=us-east-1", map[string]int{"DescribeInstances": 1}},
		{"?region=eu-west-1", map[string]int{}},
		{"?account=210987654321", map[string]int{}},
	} {
		resp, err := http.Get(srv.URL + "/_sim/calls" + tt.query)
		if err != nil {
			t.Fatalf("GET /_sim/calls%s: %v", tt.query, err)
		}
		var calls map[string]int
		err = json.NewDecoder(resp.Body).Decode(&calls)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("decode calls: %v", err)
		}
		if diff := cmp.Diff(tt.want, calls); diff != "" {
			t.Errorf("GET /_sim/calls%s (-want +got):\n%s", tt.query, diff)
		}
	}
	post("/_sim/reset-calls", ``)
	if got := sim.CallCounts(); len(got) != 0 {
		t.Errorf("calls after reset = %v, want none", got)
	}
}

func TestRevokeMissingRuleInDefaultVPC(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("in-default-vpc"), Description: aws.String("d")})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	out, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId:       sg.GroupId,
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}},
	})
	if err != nil {
		t.Fatalf("RevokeSecurityGroupIngress of a missing rule in the default VPC: %v", err)
	}
	if len(out.UnknownIpPermissions) != 1 || aws.ToString(out.UnknownIpPermissions[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Errorf("unknown permissions = %+v, want the missing rule", out.UnknownIpPermissions)
	}
}
