package ec2rate

import "testing"

// TestRequestBucket checks the categories of "Request token bucket sizes and
// refill rates" (EC2 developer guide, "Request throttling for the Amazon EC2
// API") for the actions launchwarden calls.
func TestRequestBucket(t *testing.T) {
	tests := []struct {
		action     string
		unfiltered bool
		wantName   string
		want       Bucket
	}{
		{"DescribeLaunchTemplates", false, "DescribeLaunchTemplates", Bucket{100, 20}},
		{"DescribeLaunchTemplates", true, "DescribeLaunchTemplates", Bucket{100, 20}}, // not in the unfiltered list
		{"DescribeInstances", false, "DescribeInstances", Bucket{100, 20}},
		{"DescribeInstances", true, "DescribeInstances unfiltered", Bucket{50, 10}},
		{"DescribeSecurityGroups", true, "DescribeSecurityGroups unfiltered", Bucket{50, 10}},
		{"GetConsoleOutput", false, "GetConsoleOutput", Bucket{100, 20}},
		{"CreateSecurityGroup", false, "CreateSecurityGroup", Bucket{50, 5}},
		{"CreateLaunchTemplate", false, "CreateLaunchTemplate", Bucket{50, 5}},
		{"StopInstances", false, "StopInstances", Bucket{50, 5}},
		{"AuthorizeSecurityGroupIngress", false, "AuthorizeSecurityGroupIngress", Bucket{50, 5}},
		{"CreateTags", false, "CreateTags", Bucket{100, 10}},
		{"DeleteTags", false, "DeleteTags", Bucket{100, 10}},
		{"TerminateInstances", false, "TerminateInstances", Bucket{100, 5}},
		{"RunInstances", false, "RunInstances", Bucket{5, 2}},
		{"ModifyLaunchTemplate", false, "ModifyLaunchTemplate", Bucket{100, 5}},
		{"CreateLaunchTemplateVersion", false, "CreateLaunchTemplateVersion", Bucket{100, 5}},
	}
	for _, tt := range tests {
		name, b := RequestBucket(tt.action, tt.unfiltered)
		if name != tt.wantName || b != tt.want {
			t.Errorf("RequestBucket(%s, unfiltered %v) = %q %+v, want %q %+v", tt.action, tt.unfiltered, name, b, tt.wantName, tt.want)
		}
	}
}

func TestResourceBucket(t *testing.T) {
	for action, want := range map[string]Bucket{"RunInstances": {1000, 2}, "StopInstances": {1000, 20}, "TerminateInstances": {1000, 20}, "StartInstances": {1000, 2}} {
		name, b, ok := ResourceBucket(action)
		if !ok || b != want || name != action+" instances" {
			t.Errorf("ResourceBucket(%s) = %q %+v %v, want %+v", action, name, b, ok, want)
		}
	}
	if _, _, ok := ResourceBucket("CreateTags"); ok {
		t.Error("CreateTags has a resource bucket")
	}
}
