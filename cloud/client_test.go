package cloud

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeFleet is an in-memory EC2 that knows which instances exist and which are
// protected, and fails a whole call the way EC2 does when one ID is bad.
// Methods it does not implement panic through the nil embedded interface.
type fakeFleet struct {
	EC2
	exists, protected map[string]bool
	stopped           map[string]bool
	tags              map[string]map[string]string
	calls             int
	// down makes every call fail with this code, as a region outage would.
	down string
}

func newFakeFleet(ids ...string) *fakeFleet {
	f := &fakeFleet{
		exists:    make(map[string]bool),
		protected: make(map[string]bool),
		stopped:   make(map[string]bool),
		tags:      make(map[string]map[string]string),
	}
	for _, id := range ids {
		f.exists[id] = true
	}
	return f
}

func (f *fakeFleet) check(ids []string) error {
	f.calls++
	if f.down != "" {
		return &smithy.GenericAPIError{Code: f.down}
	}
	if len(ids) > maxIDsPerCall {
		return &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "too many IDs"}
	}
	for _, id := range ids {
		if !f.exists[id] {
			return &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound", Message: id}
		}
		if f.protected[id] {
			return &smithy.GenericAPIError{Code: "OperationNotPermitted", Message: id}
		}
	}
	return nil
}

func (f *fakeFleet) StopInstances(_ context.Context, in *ec2.StopInstancesInput, _ ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	if err := f.check(in.InstanceIds); err != nil {
		return nil, err
	}
	for _, id := range in.InstanceIds {
		f.stopped[id] = true
	}
	return &ec2.StopInstancesOutput{}, nil
}

func (f *fakeFleet) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	if err := f.check(in.Resources); err != nil {
		return nil, err
	}
	for _, id := range in.Resources {
		if f.tags[id] == nil {
			f.tags[id] = make(map[string]string)
		}
		for _, t := range in.Tags {
			f.tags[id][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return &ec2.CreateTagsOutput{}, nil
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

// outcome is what a batch did, in comparable form.
type outcome struct {
	Done    []string
	Failed  map[string]string // ID → error code
	Stopped []string
	Calls   int
}

func TestStopInstancesBatches(t *testing.T) {
	tests := []struct {
		name      string
		fleet     []string
		protected []string
		down      string
		stop      []string
		want      func(stop []string) outcome
	}{
		{
			name:  "one call for up to 1000 instances",
			fleet: ids("i", 1000), stop: ids("i", 1000),
			want: func(stop []string) outcome { return outcome{Done: stop, Stopped: stop, Calls: 1} },
		},
		{
			name:  "2500 instances take three calls",
			fleet: ids("i", 2500), stop: ids("i", 2500),
			want: func(stop []string) outcome { return outcome{Done: stop, Stopped: stop, Calls: 3} },
		},
		{
			name:  "nothing to stop makes no call",
			fleet: ids("i", 3), stop: nil,
			want: func([]string) outcome { return outcome{} },
		},
		{
			// [0 1 2 3] fails, [0 1] passes, [2 3] fails, [2] fails, [3] passes.
			name:  "a protected instance is singled out and does not block the rest",
			fleet: ids("i", 4), protected: []string{"i-00002"}, stop: ids("i", 4),
			want: func([]string) outcome {
				return outcome{
					Done:    []string{"i-00000", "i-00001", "i-00003"},
					Failed:  map[string]string{"i-00002": "OperationNotPermitted"},
					Stopped: []string{"i-00000", "i-00001", "i-00003"},
					Calls:   5,
				}
			},
		},
		{
			// [0 1 2] fails, [0] passes, [1 2] fails, [1] fails, [2] passes.
			name:  "a vanished instance only fails itself",
			fleet: []string{"i-00000", "i-00002"}, stop: ids("i", 3),
			want: func([]string) outcome {
				return outcome{
					Done:    []string{"i-00000", "i-00002"},
					Failed:  map[string]string{"i-00001": "InvalidInstanceID.NotFound"},
					Stopped: []string{"i-00000", "i-00002"},
					Calls:   5,
				}
			},
		},
		{
			name:  "a failure not caused by one ID fails the batch without retrying each",
			fleet: ids("i", 3), down: "UnauthorizedOperation", stop: ids("i", 3),
			want: func(stop []string) outcome {
				failed := make(map[string]string)
				for _, id := range stop {
					failed[id] = "UnauthorizedOperation"
				}
				return outcome{Failed: failed, Calls: 1}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fleet := newFakeFleet(tt.fleet...)
			for _, id := range tt.protected {
				fleet.protected[id] = true
			}
			fleet.down = tt.down
			c := NewClient(fleet, "123456789012", "us-east-1")

			res := c.StopInstances(t.Context(), tt.stop)

			got := outcome{Done: res.Done, Stopped: slices.Sorted(maps.Keys(fleet.stopped)), Calls: fleet.calls}
			for id, err := range res.Failed {
				if got.Failed == nil {
					got.Failed = make(map[string]string)
				}
				got.Failed[id] = Code(err)
			}
			if diff := cmp.Diff(tt.want(tt.stop), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagGroups(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]map[string]string
		want    []TagChange
	}{
		{name: "none", changes: nil, want: []TagChange{}},
		{
			name: "instances sharing a value share a request",
			changes: map[string]map[string]string{
				"i-1": {TagNotice: "stop@2026-11-25T10:00:00Z"},
				"i-2": {TagNotice: "stop@2026-11-25T10:00:00Z"},
				"i-3": {TagNotice: "terminate@2026-11-30T10:00:00Z"},
			},
			want: []TagChange{
				{IDs: []string{"i-1", "i-2"}, Tags: map[string]string{TagNotice: "stop@2026-11-25T10:00:00Z"}},
				{IDs: []string{"i-3"}, Tags: map[string]string{TagNotice: "terminate@2026-11-30T10:00:00Z"}},
			},
		},
		{
			name: "tags going to the same instances are merged",
			changes: map[string]map[string]string{
				"i-1": {TagNotice: "stop@2026-11-25T10:00:00Z", TagExpiresAt: "2026-11-25T10:00:00Z"},
				"i-2": {TagNotice: "stop@2026-11-25T10:00:00Z", TagExpiresAt: "2026-11-25T10:00:00Z"},
			},
			want: []TagChange{
				{IDs: []string{"i-1", "i-2"}, Tags: map[string]string{
					TagNotice: "stop@2026-11-25T10:00:00Z", TagExpiresAt: "2026-11-25T10:00:00Z",
				}},
			},
		},
		{
			name: "one shared tag and one distinct tag",
			changes: map[string]map[string]string{
				"i-1": {TagNotice: "warn@2026-11-25T10:00:00Z", TagExpiresAt: "2026-11-26T00:00:00Z"},
				"i-2": {TagNotice: "warn@2026-11-25T10:00:00Z", TagExpiresAt: "2026-11-27T00:00:00Z"},
			},
			want: []TagChange{
				{IDs: []string{"i-1"}, Tags: map[string]string{TagExpiresAt: "2026-11-26T00:00:00Z"}},
				{IDs: []string{"i-1", "i-2"}, Tags: map[string]string{TagNotice: "warn@2026-11-25T10:00:00Z"}},
				{IDs: []string{"i-2"}, Tags: map[string]string{TagExpiresAt: "2026-11-27T00:00:00Z"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, TagGroups(tt.changes), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("TagGroups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyTags(t *testing.T) {
	fleet := newFakeFleet(ids("i", 2500)...)
	changes := make(map[string]map[string]string)
	for i, id := range ids("i", 2500) {
		changes[id] = map[string]string{TagNotice: "stop@2026-11-25T10:00:00Z"}
		if i%2 == 0 {
			changes[id][TagKeep] = "2026-12-31"
		}
	}
	changes["i-gone"] = map[string]string{TagNotice: "stop@2026-11-25T10:00:00Z"}

	res := NewClient(fleet, "123456789012", "us-east-1").ApplyTags(t.Context(), changes)

	if diff := cmp.Diff([]string{"i-gone"}, slices.Collect(maps.Keys(res.Failed))); diff != "" {
		t.Errorf("failed IDs (-want +got):\n%s", diff)
	}
	if got, want := len(res.Done), 2500; got != want {
		t.Errorf("%d IDs done, want %d", got, want)
	}
	if diff := cmp.Diff(changes["i-00000"], fleet.tags["i-00000"]); diff != "" {
		t.Errorf("tags of i-00000 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(changes["i-02499"], fleet.tags["i-02499"]); diff != "" {
		t.Errorf("tags of i-02499 (-want +got):\n%s", diff)
	}
	// Notice: 2501 IDs in 3 calls. The last, of 501 IDs, fails for i-gone and
	// is halved 9 times (501, 251, 126, 63, 32, 16, 8, 4, 2 → 1), two calls
	// each. Keep: 1250 IDs in 2 calls.
	if got, want := fleet.calls, 3+9*2+2; got != want {
		t.Errorf("%d CreateTags calls, want %d", got, want)
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	fleet := newFakeFleet("i-1")
	c := NewClient(ReadOnly(fleet), "123456789012", "us-east-1")
	ctx := t.Context()

	errs := map[string]error{
		"stop":            c.StopInstances(ctx, []string{"i-1"}).Failed["i-1"],
		"terminate":       c.TerminateInstances(ctx, []string{"i-1"}).Failed["i-1"],
		"create tags":     c.CreateTags(ctx, []string{"i-1"}, map[string]string{"a": "b"}).Failed["i-1"],
		"delete tags":     c.DeleteTags(ctx, []string{"i-1"}, []string{"a"}).Failed["i-1"],
		"tag template":    c.TagTemplate(ctx, "lt-1", "t", map[string]string{"a": "b"}),
		"set default":     c.SetDefaultVersion(ctx, "lt-1", 2),
		"delete template": c.DeleteTemplate(ctx, "lt-1"),
		"authorize":       c.AuthorizeIngress(ctx, "sg-1", []Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "10.0.0.0/8"}}),
		"revoke":          c.RevokeIngress(ctx, "sg-1", []Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "10.0.0.0/8"}}),
		"delete group":    c.DeleteSecurityGroup(ctx, "sg-1"),
		"create template": second(c.CreateTemplate(ctx, "t", fedora, nil)),
		"create version":  second(c.CreateTemplateVersion(ctx, "lt-1", fedora)),
		"create group":    second(c.CreateSecurityGroup(ctx, "g", "vpc-1", "d", nil)),
	}
	for name, err := range errs {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: got error %v, want ErrReadOnly", name, err)
		}
	}
	if fleet.calls != 0 || len(fleet.stopped) != 0 || len(fleet.tags) != 0 {
		t.Errorf("read-only client reached EC2: %d calls, stopped %v, tags %v", fleet.calls, fleet.stopped, fleet.tags)
	}
}

func second[T any](_ T, err error) error { return err }
