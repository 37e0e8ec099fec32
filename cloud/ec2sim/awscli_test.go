package ec2sim_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestAWSCLI drives the emulator with the aws CLI, a client whose protocol
// code we did not write.
func TestAWSCLI(t *testing.T) {
	sim, srv := newServer(t, ec2sim.Options{})
	aws := awsCLI(t, srv.URL)

	aws(nil, "ec2", "create-launch-template", "--launch-template-name", "cli-test", "--launch-template-data",
		`{"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.small",
		  "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "Encrypted": true}}],
		  "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "launchwarden:project", "Value": "cli"}]}]}`)
	var run struct{ Instances []struct{ InstanceId string } }
	aws(&run, "ec2", "run-instances", "--launch-template", "LaunchTemplateName=cli-test,Version=$Latest", "--count", "7")
	if len(run.Instances) != 7 {
		t.Fatalf("run-instances started %d instances, want 7", len(run.Instances))
	}
	sim.Advance(time.Minute)

	var ids []string
	aws(&ids, "ec2", "describe-instances", "--filters", "Name=tag:launchwarden:project,Values=cli", "Name=instance-state-name,Values=running",
		"--page-size", "5", "--query", "Reservations[].Instances[].InstanceId")
	var want []string
	for _, in := range run.Instances {
		want = append(want, in.InstanceId)
	}
	if diff := cmp.Diff(sortedCopy(want), sortedCopy(ids)); diff != "" {
		t.Errorf("describe-instances over pages of 5 (-want +got):\n%s", diff)
	}
	var limited struct {
		Reservations []struct{ Instances []struct{ InstanceId string } }
		NextToken    string
	}
	// The CLI counts items in reservations; the first page holds one
	// reservation of five instances.
	aws(&limited, "ec2", "describe-instances", "--max-items", "1", "--page-size", "5")
	if len(limited.Reservations) != 1 || len(limited.Reservations[0].Instances) != 5 || limited.NextToken == "" {
		t.Errorf("describe-instances --max-items 1 returned %+v and token %q, want one reservation of 5 and a token", limited.Reservations, limited.NextToken)
	}

	aws(nil, "ec2", "create-tags", "--resources", want[0], want[1], "--tags", "Key=owner,Value=bob")
	aws(nil, "ec2", "stop-instances", "--instance-ids", want[0])
	aws(nil, "ec2", "terminate-instances", "--instance-ids", want[1], want[2])
	sim.Advance(time.Minute)

	got := map[string]string{}
	for _, in := range sim.Instances("", "") {
		got[in.State] += in.Tags["owner"] + ","
		if in.State != ec2sim.StateTerminated && !in.Volumes[0].Encrypted {
			t.Errorf("instance %s has an unencrypted root volume", in.ID)
		}
	}
	wantStates := map[string]string{"stopped": "bob,", "terminated": "bob,,", "running": ",,,,"}
	if diff := cmp.Diff(wantStates, got); diff != "" {
		t.Errorf("owner tags by state (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(sim.LaunchTemplates("", ""), func(lt ec2sim.LaunchTemplate) bool { return lt.Name == "cli-test" }) {
		t.Error("launch template cli-test missing")
	}
}

// awsCLI returns a runner of the aws CLI against the emulator at url that
// decodes the JSON output into v (when not nil); it skips the test when
// the CLI is not on PATH.
func awsCLI(t *testing.T, url string) func(v any, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	home := t.TempDir()
	return func(v any, args ...string) {
		t.Helper()
		cmd := exec.Command("aws", append(args, "--endpoint-url", url, "--output", "json")...)
		cmd.Env = []string{
			"HOME=" + home,
			"PATH=" + getenv("PATH"),
			"AWS_ACCESS_KEY_ID=x",
			"AWS_SECRET_ACCESS_KEY=x",
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=" + home + "/config",
			"AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials",
			"AWS_PAGER=",
		}
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("aws %v: %v\n%s", args, err, stderr)
		}
		if v != nil && len(out) > 0 {
			if err := json.Unmarshal(out, v); err != nil {
				t.Fatalf("aws %v: decode %q: %v", args, out, err)
			}
		}
	}
}

// TestAWSCLIWaitsAndFindsImagesAndSubnets: with the emulator following the
// wall clock, `aws ec2 wait instance-running` (botocore's waiter on
// DescribeInstances) returns once the instance has left pending; the CLI's
// register-image, describe-images with --owners self and describe-subnets
// read what the emulator answers.
func TestAWSCLIWaitsAndFindsImagesAndSubnets(t *testing.T) {
	_, srv := newServer(t, ec2sim.Options{Clock: time.Now, PendingDelay: time.Millisecond})
	aws := awsCLI(t, srv.URL)
	var reg struct{ ImageId string }
	aws(&reg, "ec2", "register-image", "--name", "CentOS-Stream-ec2-9", "--architecture", "x86_64", "--root-device-name", "/dev/sda1",
		"--block-device-mappings", `[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-0123456789abcdef0", "VolumeSize": 10}}]`)
	var images []string
	aws(&images, "ec2", "describe-images", "--owners", "self", "--filters", "Name=name,Values=CentOS-Stream-*",
		"--query", "Images[].[ImageId, RootDeviceName, to_string(BlockDeviceMappings[0].Ebs.VolumeSize)][]")
	if diff := cmp.Diff([]string{reg.ImageId, "/dev/sda1", "10"}, images); diff != "" {
		t.Errorf("describe-images (-want +got):\n%s", diff)
	}
	var subnets []string
	aws(&subnets, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true", "--query", "Subnets[].AvailabilityZone")
	if diff := cmp.Diff([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, sortedCopy(subnets)); diff != "" {
		t.Errorf("default subnets (-want +got):\n%s", diff)
	}
	var run struct{ Instances []struct{ InstanceId string } }
	aws(&run, "ec2", "run-instances", "--image-id", reg.ImageId, "--instance-type", "t3.micro", "--count", "1")
	aws(nil, "ec2", "wait", "instance-running", "--instance-ids", run.Instances[0].InstanceId)
	var state []string
	aws(&state, "ec2", "describe-instances", "--instance-ids", run.Instances[0].InstanceId, "--query", "Reservations[].Instances[].[State.Name, RootDeviceName][]")
	if diff := cmp.Diff([]string{"running", "/dev/sda1"}, state); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
}
