package bench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/reconcile"
)

func TestLowerBound(t *testing.T) {
	instances := make([]cloud.Instance, 2500)
	for i := range instances {
		instances[i].Type = []string{"t3.large", "t3.micro"}[i%2]
	}
	var changes []reconcile.InstanceChange
	for i := range 1500 {
		changes = append(changes, reconcile.InstanceChange{Action: lifecycle.ActionNotify, Notice: "stop@2026-11-25T10:00:00Z"})
		if i < 10 {
			changes = append(changes, reconcile.InstanceChange{Action: lifecycle.ActionNotify, Notice: "terminate@2026-11-26T10:00:00Z"})
		}
	}
	changes = append(changes, reconcile.InstanceChange{Action: lifecycle.ActionStop}, reconcile.InstanceChange{Action: lifecycle.ActionKeep, ClearNotice: true})
	fedora := cloud.ImageQuery{Owners: []string{"125523088429"}, Name: "Fedora-*", Architecture: "x86_64"}
	tests := []struct {
		name     string
		snap     *cloud.Snapshot
		lookups  cloud.Lookups
		identity bool
		plan     *reconcile.RegionPlan
		want     Calls
	}{
		{
			name: "empty region still lists once",
			snap: &cloud.Snapshot{},
			want: Calls{"DescribeInstances": 1, "DescribeLaunchTemplates": 1, "DescribeSecurityGroups": 1},
		},
		{
			name: "pages, batches and one tag call per value",
			snap: &cloud.Snapshot{Instances: instances, Templates: make([]cloud.Template, 201), SecurityGroups: make([]cloud.SecurityGroup, 1000)},
			plan: &reconcile.RegionPlan{Instances: changes},
			want: Calls{
				"DescribeInstances": 3, "DescribeLaunchTemplates": 2, "DescribeSecurityGroups": 1, "DescribeInstanceTypes": 1,
				"CreateTags": 3, "StopInstances": 1, "DeleteTags": 1,
			},
		},
		{
			name: "identity, templates' types, images by id, one call per distinct selector, the network",
			snap: &cloud.Snapshot{
				Instances: instances[:4],
				Matches:   map[string][]cloud.Image{fedora.Key(): make([]cloud.Image, 1001)},
			},
			lookups: cloud.Lookups{
				InstanceTypes: []string{"t3.large", "m6i.large"},
				ImageIDs:      []string{"ami-1", "ami-2"},
				Selectors:     []cloud.ImageQuery{fedora, fedora},
				Network:       &cloud.NetworkQuery{VPCID: "vpc-1", SubnetIDs: []string{"subnet-1"}},
			},
			identity: true,
			want: Calls{
				"GetCallerIdentity": 1, "DescribeInstances": 1, "DescribeLaunchTemplates": 1, "DescribeSecurityGroups": 1,
				"DescribeInstanceTypes": 1, "DescribeImages": 3, "DescribeSubnets": 1,
			},
		},
		{
			name: "template and group writes",
			snap: &cloud.Snapshot{},
			plan: &reconcile.RegionPlan{
				Groups:    []reconcile.GroupChange{{Op: reconcile.OpCreate, Rules: []cloud.Rule{{Protocol: "tcp"}}}, {Op: reconcile.OpCreate}, {Op: reconcile.OpRevoke}},
				Templates: []reconcile.TemplateChange{{Op: reconcile.OpCreate}, {Op: reconcile.OpUpdate}, {Op: reconcile.OpDelete}},
			},
			want: Calls{
				"DescribeInstances": 1, "DescribeLaunchTemplates": 1, "DescribeSecurityGroups": 1,
				"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 1, "RevokeSecurityGroupIngress": 1,
				"CreateLaunchTemplate": 1, "CreateLaunchTemplateVersion": 1, "ModifyLaunchTemplate": 1, "CreateTags": 1, "DeleteLaunchTemplate": 1,
			},
		},
		{
			// Closing a template sets its two launch tags in one CreateTags;
			// opening deletes both in one DeleteTags: one call per template
			// and region per change (reconcile/admission.go).
			name: "templates closing and opening",
			snap: &cloud.Snapshot{},
			plan: &reconcile.RegionPlan{TemplateTags: []reconcile.TagChange{
				{ID: "lt-1", Set: map[string]string{reconcile.TagLaunch: reconcile.LaunchClosed, reconcile.TagLaunchReason: "max_instances 6 reached"}},
				{ID: "lt-2", Set: map[string]string{reconcile.TagLaunch: reconcile.LaunchClosed, reconcile.TagLaunchReason: "max_instances 6 reached"}},
				{ID: "lt-3", Delete: []string{reconcile.TagLaunch, reconcile.TagLaunchReason}},
			}},
			want: Calls{
				"DescribeInstances": 1, "DescribeLaunchTemplates": 1, "DescribeSecurityGroups": 1,
				"CreateTags": 2, "DeleteTags": 1,
			},
		},
	}
	t.Run("a serving process describes only the types it does not know", func(t *testing.T) {
		snap := &cloud.Snapshot{Instances: instances}
		l := cloud.Lookups{InstanceTypes: []string{"m6i.large"}}
		want := Calls{"DescribeInstances": 3, "DescribeLaunchTemplates": 1, "DescribeSecurityGroups": 1}
		if diff := cmp.Diff(want, LowerBoundKnowing(snap, l, false, nil, map[string]bool{"t3.large": true, "t3.micro": true, "m6i.large": true})); diff != "" {
			t.Errorf("all known (-want +got):\n%s", diff)
		}
		want["DescribeInstanceTypes"] = 1
		if diff := cmp.Diff(want, LowerBoundKnowing(snap, l, false, nil, map[string]bool{"t3.large": true})); diff != "" {
			t.Errorf("some known (-want +got):\n%s", diff)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, LowerBound(tt.snap, tt.lookups, tt.identity, tt.plan)); diff != "" {
				t.Errorf("LowerBound (-want +got):\n%s", diff)
			}
		})
	}
}

// TestModelSeconds: the buckets are those of "Request token bucket sizes and
// refill rates" (package ec2rate): Describe* 100 at 20/s, mutating 50 at
// 5/s, CreateTags 100 at 10/s, each action its own, all refilling side by
// side.
func TestModelSeconds(t *testing.T) {
	tests := []struct {
		name      string
		calls     Calls
		instances Calls
		latency   time.Duration
		want      float64
	}{
		{"within the bursts costs only latency", Calls{"DescribeInstances": 100, "CreateTags": 10}, nil, 20 * time.Millisecond, 2.2},
		{"beyond a burst waits for tokens", Calls{"DescribeInstances": 140, "StopInstances": 60}, nil, 0, 40.0 / 20},
		{"the slowest bucket bounds the run", Calls{"CreateSecurityGroup": 60, "CreateLaunchTemplate": 70, "CreateTags": 150}, nil, 10 * time.Millisecond, 50.0/10 + 0.01},
		{"latency bounds it when the buckets refill meanwhile", Calls{"CreateLaunchTemplate": 60, "CreateTags": 440}, nil, 100 * time.Millisecond, 50},
		{"STS is not metered", Calls{"GetCallerIdentity": 200}, nil, 0, 0},
		{"instances beyond a resource burst wait for its tokens", Calls{"StopInstances": 7, "TerminateInstances": 4},
			Calls{"StopInstances": 6667, "TerminateInstances": 3333}, 10 * time.Millisecond, (6667-1000)/20.0 + 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ModelSeconds(tt.calls, tt.instances, tt.latency); got < tt.want-1e-9 || got > tt.want+1e-9 {
				t.Errorf("ModelSeconds = %v, want %v", got, tt.want)
			}
		})
	}
}
