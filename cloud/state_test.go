package cloud

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

func testKeys(t *testing.T, current string, previous ...string) *StateKeys {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, []byte(p))
	}
	k, err := NewStateKeys([]byte(current), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStateKeysSignVerify(t *testing.T) {
	key := strings.Repeat("a", 32)
	k := testKeys(t, key)
	signed := k.Sign("i-1", TagKeep, "2026-12-01T00:00:00Z")
	if len(signed) > 256 {
		t.Fatalf("signed value is %d characters, over EC2's 256", len(signed))
	}
	if v, ok := k.Verify("i-1", TagKeep, signed); !ok || v != "2026-12-01T00:00:00Z" {
		t.Fatalf("Verify(own signature) = %q, %v", v, ok)
	}
	rotated := testKeys(t, strings.Repeat("b", 32), key)
	if _, ok := rotated.Verify("i-1", TagKeep, signed); !ok {
		t.Error("a previous key does not verify")
	}
	if _, ok := testKeys(t, strings.Repeat("b", 32)).Verify("i-1", TagKeep, signed); ok {
		t.Error("another key verifies")
	}
	var none *StateKeys
	if _, ok := none.Verify("i-1", TagKeep, signed); ok {
		t.Error("nil keys verify")
	}
	bad := map[string][3]string{
		"other instance":   {"i-2", TagKeep, signed},
		"other tag":        {"i-1", TagExpiresAt, signed},
		"edited value":     {"i-1", TagKeep, strings.Replace(signed, "2026-12-01", "9999-12-31", 1)},
		"unsigned":         {"i-1", TagKeep, "9999-12-31T00:00:00Z"},
		"empty signature":  {"i-1", TagKeep, "9999-12-31T00:00:00Z sig="},
		"short signature":  {"i-1", TagKeep, signed[:len(signed)-2]},
		"upper-case hex":   {"i-1", TagKeep, strings.ToUpper(signed)},
		"signature twice":  {"i-1", TagKeep, signed + " sig=" + signed[len(signed)-32:]},
		"value moved left": {"i-1", TagKeep, " sig=" + signed[len(signed)-32:]},
	}
	for name, b := range bad {
		if v, ok := k.Verify(b[0], b[1], b[2]); ok {
			t.Errorf("%s: verified as %q", name, v)
		}
	}
	if _, err := NewStateKeys([]byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	if _, err := NewStateKeys([]byte(key), []byte("short")); err == nil {
		t.Error("a 5-byte previous key was accepted")
	}
}

// TestNewInstanceTrust checks the one place where tags become facts:
// ownership from EC2's launch template tag or a signed adoption, state only
// when signed for this instance.
func TestNewInstanceTrust(t *testing.T) {
	k := testKeys(t, strings.Repeat("k", 32))
	owners := map[string]owner{"lt-packit": {"packit", "fedora"}}
	notice := k.Sign("", TagNotice, "stop@2026-11-23T08:00:00Z p=packit r=run1")
	inst := func(id string, tags map[string]string) ec2types.Instance {
		in := ec2types.Instance{InstanceId: aws.String(id), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning}}
		for key, v := range tags {
			in.Tags = append(in.Tags, ec2types.Tag{Key: aws.String(key), Value: aws.String(v)})
		}
		return in
	}
	type view struct {
		Project, Template, LabelProject string
		Adopted                         bool
		KeepUntil, ExpiresAt            time.Time
		Notice, Protected               string
		Forged                          []string
		LaunchTemplateID                string
	}
	tests := []struct {
		name string
		in   ec2types.Instance
		want view
	}{
		{
			name: "a bare project label makes nothing ours",
			in:   inst("i-1", map[string]string{TagProject: "osbuild", TagExpiresAt: "2020-01-01T00:00:00Z", TagNotice: "terminate@2020-01-01T00:00:00Z"}),
			want: view{LabelProject: "osbuild", Forged: []string{TagExpiresAt, TagNotice}},
		},
		{
			name: "launched from a managed template, labels replaced",
			in:   inst("i-2", map[string]string{tagLaunchTemplateID: "lt-packit", "Name": "launch"}),
			want: view{Project: "packit", Template: "fedora", LaunchTemplateID: "lt-packit"},
		},
		{
			name: "the template wins over a wrong label",
			in:   inst("i-3", map[string]string{tagLaunchTemplateID: "lt-packit", TagProject: "cockpit"}),
			want: view{Project: "packit", Template: "fedora", LabelProject: "cockpit", LaunchTemplateID: "lt-packit"},
		},
		{
			name: "someone else's template",
			in:   inst("i-4", map[string]string{tagLaunchTemplateID: "lt-other"}),
			want: view{LaunchTemplateID: "lt-other"},
		},
		{
			name: "signed state verifies; a shared notice verifies on any instance",
			in: inst("i-5", map[string]string{tagLaunchTemplateID: "lt-packit",
				TagKeep: k.Sign("i-5", TagKeep, "2026-12-01T00:00:00Z"), TagExpiresAt: k.Sign("i-5", TagExpiresAt, "2026-11-30T00:00:00Z"),
				TagProtected: k.Sign("i-5", TagProtected, "2026-11-24T08:00:00Z reported"), TagNotice: notice}),
			want: view{Project: "packit", Template: "fedora", KeepUntil: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
				ExpiresAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Protected: "2026-11-24T08:00:00Z reported",
				Notice: "stop@2026-11-23T08:00:00Z p=packit r=run1", LaunchTemplateID: "lt-packit"},
		},
		{
			name: "values signed for another instance are forged here",
			in: inst("i-6", map[string]string{tagLaunchTemplateID: "lt-packit",
				TagKeep: k.Sign("i-5", TagKeep, "9999-12-31T00:00:00Z"), TagProtected: "9999-01-01T00:00:00Z reported"}),
			want: view{Project: "packit", Template: "fedora", Forged: []string{TagKeep, TagProtected}, LaunchTemplateID: "lt-packit"},
		},
		{
			name: "a signed adoption makes an instance ours",
			in:   inst("i-7", map[string]string{TagAdopted: k.Sign("i-7", TagAdopted, "packit/fedora"), TagProject: "packit"}),
			want: view{Project: "packit", Template: "fedora", Adopted: true, LabelProject: "packit"},
		},
		{
			name: "an adoption copied from another instance is forged",
			in:   inst("i-8", map[string]string{TagAdopted: k.Sign("i-7", TagAdopted, "packit/fedora")}),
			want: view{Forged: []string{TagAdopted}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newInstance(tt.in, "123456789012", "us-east-1", owners, k)
			v := view{got.Project, got.Template, got.LabelProject, got.Adopted, got.KeepUntil, got.ExpiresAt, got.Notice, got.Protected, got.Forged, got.LaunchTemplateID}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("newInstance (-want +got):\n%s", diff)
			}
		})
	}
}

func TestManagedTemplateNeedsItsName(t *testing.T) {
	tags := []ec2types.Tag{
		{Key: aws.String(TagManaged), Value: aws.String("true")},
		{Key: aws.String(TagProject), Value: aws.String("cockpit")},
		{Key: aws.String(TagTemplate), Value: aws.String("fedora")},
	}
	for name, want := range map[string]bool{"lw-cockpit-fedora": true, "my-own": false, "lw-cockpit-fedora2": false} {
		got := newTemplate(ec2types.LaunchTemplate{LaunchTemplateId: aws.String("lt-1"), LaunchTemplateName: aws.String(name), Tags: tags}, "a", "r", nil)
		if got.Managed != want {
			t.Errorf("template %q tagged managed for cockpit/fedora: Managed = %v, want %v", name, got.Managed, want)
		}
	}
}

// TestInstanceReaderSharesVerdictsAndStrings: within one listing, a notice
// carried by many instances is judged by its own value on each (a tampered
// copy is forged however often the good one was seen), and the strings a
// fleet repeats are held once.
func TestInstanceReaderSharesVerdictsAndStrings(t *testing.T) {
	k := testKeys(t, strings.Repeat("k", 32))
	notice := k.Sign("", TagNotice, "stop@2026-11-23T08:00:00Z p=packit r=run1")
	inst := func(id, notice string) ec2types.Instance {
		return ec2types.Instance{
			InstanceId: aws.String(id), InstanceType: ec2types.InstanceType(strings.Clone("t3.large")),
			State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
			Tags: []ec2types.Tag{
				{Key: aws.String(tagLaunchTemplateID), Value: aws.String(strings.Clone("lt-packit"))},
				{Key: aws.String(TagNotice), Value: aws.String(strings.Clone(notice))},
			},
		}
	}
	r := newInstanceReader("123456789012", "us-east-1", map[string]owner{"lt-packit": {"packit", "fedora"}}, k)
	a, b := r.read(inst("i-1", notice)), r.read(inst("i-2", notice))
	tampered := r.read(inst("i-3", strings.Replace(notice, "p=packit", "p=cockpit", 1)))
	for _, in := range []Instance{a, b} {
		if in.Notice != "stop@2026-11-23T08:00:00Z p=packit r=run1" || len(in.Forged) != 0 {
			t.Errorf("%s: notice %q, forged %v; want the notice verified", in.ID, in.Notice, in.Forged)
		}
	}
	if tampered.Notice != "" || !slices.Equal(tampered.Forged, []string{TagNotice}) {
		t.Errorf("tampered notice: %q, forged %v; want it forged", tampered.Notice, tampered.Forged)
	}
	for name, pair := range map[string][2]string{"type": {a.Type, b.Type}, "template id": {a.LaunchTemplateID, b.LaunchTemplateID}, "notice": {a.Notice, b.Notice}} {
		if unsafe.StringData(pair[0]) != unsafe.StringData(pair[1]) {
			t.Errorf("the two instances hold two copies of the same %s %q", name, pair[0])
		}
	}
}
