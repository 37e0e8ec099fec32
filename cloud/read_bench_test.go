package cloud

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// sdkFleet is n instances as the SDK decodes them (every string its own
// allocation) for 1,000 projects launched from their templates, three in
// ten carrying their project's signed notice.
func sdkFleet(keys *StateKeys, n int) []ec2types.Instance {
	s := func(format string, a ...any) *string { return aws.String(fmt.Sprintf(format, a...)) }
	born := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	out := make([]ec2types.Instance, n)
	for i := range out {
		p := i % 1000
		tags := []ec2types.Tag{
			{Key: s("aws:ec2launchtemplate:id"), Value: s("lt-%017x", p)},
			{Key: s("launchwarden:project"), Value: s("p%04d", p)},
			{Key: s("launchwarden:template"), Value: s("fedora")},
		}
		if i%10 >= 7 {
			tags = append(tags, ec2types.Tag{Key: s(TagNotice), Value: s("%s", keys.Sign("", TagNotice, fmt.Sprintf("stop@2026-11-23T08:00:00Z p=p%04d r=run1", p)))})
		}
		out[i] = ec2types.Instance{
			InstanceId: s("i-%017x", i), ImageId: s("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceType(strings.Clone("t3.large")),
			State:      &ec2types.InstanceState{Name: ec2types.InstanceStateName(strings.Clone("running"))},
			LaunchTime: aws.Time(born), RootDeviceName: s("/dev/sda1"),
			BlockDeviceMappings: []ec2types.InstanceBlockDeviceMapping{{DeviceName: s("/dev/sda1"), Ebs: &ec2types.EbsInstanceBlockDevice{AttachTime: aws.Time(born)}}},
			NetworkInterfaces:   []ec2types.InstanceNetworkInterface{{Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0), AttachTime: aws.Time(born)}}},
			SecurityGroups:      []ec2types.GroupIdentifier{{GroupId: s("sg-%017x", p)}},
			Tags:                tags,
		}
	}
	return out
}

// readFleet converts a listing as observeInstances does.
func readFleet(keys *StateKeys, owners map[string]owner, fleet []ec2types.Instance) []Instance {
	r := newInstanceReader("123456789012", "us-east-1", owners, keys)
	out := make([]Instance, 0, len(fleet))
	for _, in := range fleet {
		out = append(out, r.read(in))
	}
	return out
}

// BenchmarkReadInstances converts 100,000 decoded SDK instances into
// Instances, as one observation of a large fleet does; retained-MiB is what
// the converted instances keep alive once the SDK's structs are dropped.
func BenchmarkReadInstances(b *testing.B) {
	keys, err := NewStateKeys([]byte(strings.Repeat("k", 32)))
	if err != nil {
		b.Fatal(err)
	}
	owners := map[string]owner{}
	for p := range 1000 {
		owners[fmt.Sprintf("lt-%017x", p)] = owner{fmt.Sprintf("p%04d", p), "fedora"}
	}
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fleet := sdkFleet(keys, n)
	kept := readFleet(keys, owners, fleet)
	fleet = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	retained := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	kept = nil

	fleet = sdkFleet(keys, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		readFleet(keys, owners, fleet)
	}
	b.ReportMetric(retained, "retained-MiB")
}
