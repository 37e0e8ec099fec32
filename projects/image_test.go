package projects

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestAccountLines checks that an account's id and network ids keep where
// they are written, so that a run aborted over them can name the line.
func TestAccountLines(t *testing.T) {
	fsys := fstest.MapFS{
		AdminFile: {Data: []byte(`[[aws.accounts]]
name = "one"
id = "111122223333"
regions = ["us-east-1"]
vpc_id = "vpc-0123456789abcdef0"
subnet_ids = ["subnet-0123456789abcdef0",
  "subnet-0123456789abcdef1"]

[[aws.accounts]]
name = "two"
id = "444455556666"
regions = ["eu-central-1", "us-east-2"]

[aws.accounts.networks.us-east-2]
vpc_id = "vpc-0123456789abcdef2"
subnet_ids = ["subnet-0123456789abcdef2"]
public_ip = false

[slack]
admin_channel = "#admins"
token_env = "SLACK_TOKEN"
`)},
		ProjectsDir + "/.keep": {},
	}
	cfg, probs := LoadFS(fsys, testNow)
	if cfg.Admin == nil {
		t.Fatalf("admin invalid: %v", probs)
	}
	one, two := cfg.Admin.AWS.Accounts[0], cfg.Admin.AWS.Accounts[1]
	no := false
	want := map[string]Network{
		"one/us-east-1":    {VPCID: "vpc-0123456789abcdef0", SubnetIDs: []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}, VPCLine: 5, SubnetLines: []int{6, 7}},
		"two/us-east-2":    {VPCID: "vpc-0123456789abcdef2", SubnetIDs: []string{"subnet-0123456789abcdef2"}, PublicIP: &no, VPCLine: 15, SubnetLines: []int{16}},
		"two/eu-central-1": {},
	}
	got := map[string]Network{
		"one/us-east-1":    one.Network("us-east-1"),
		"two/us-east-2":    two.Network("us-east-2"),
		"two/eu-central-1": two.Network("eu-central-1"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("networks (-want +got):\n%s", diff)
	}
	if one.IDLine != 3 || two.IDLine != 11 {
		t.Errorf("id lines %d, %d; want 3, 11", one.IDLine, two.IDLine)
	}
}
