package limits

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEffective(t *testing.T) {
	tests := []struct {
		name         string
		request, cap Limits
		want         Limits
	}{
		{name: "both unlimited", want: Limits{}},
		{
			name:    "request within cap",
			request: Limits{MaxInstances: 4, MaxVCPUs: 16}, cap: Limits{MaxInstances: 10, MaxVCPUs: 64},
			want: Limits{MaxInstances: 4, MaxVCPUs: 16},
		},
		{
			name:    "cap lowers request",
			request: Limits{MaxInstances: 40, MaxVCPUs: 160}, cap: Limits{MaxInstances: 10, MaxVCPUs: 64},
			want: Limits{MaxInstances: 10, MaxVCPUs: 64},
		},
		{
			name:    "unlimited request gets the cap",
			request: Limits{}, cap: Limits{MaxInstances: 10, MaxVCPUs: 64, AllowedTypes: []string{"t3.*"}},
			want: Limits{MaxInstances: 10, MaxVCPUs: 64, AllowedTypes: []string{"t3.*"}},
		},
		{
			name:    "no cap keeps the request",
			request: Limits{MaxInstances: 3, AllowedTypes: []string{"m5.large"}}, cap: Limits{},
			want: Limits{MaxInstances: 3, AllowedTypes: []string{"m5.large"}},
		},
		{
			name:    "literal types within cap globs",
			request: Limits{AllowedTypes: []string{"t3.large", "m5.xlarge", "p4d.24xlarge"}},
			cap:     Limits{AllowedTypes: []string{"t3.*", "m5.*"}},
			want:    Limits{AllowedTypes: []string{"t3.large", "m5.xlarge"}},
		},
		{
			name:    "cap literal within request glob",
			request: Limits{AllowedTypes: []string{"m5.*"}},
			cap:     Limits{AllowedTypes: []string{"m5.large", "c5.large"}},
			want:    Limits{AllowedTypes: []string{"m5.large"}},
		},
		{
			name:    "equal globs and star",
			request: Limits{AllowedTypes: []string{"t3.*", "c6i.*"}},
			cap:     Limits{AllowedTypes: []string{"t3.*", "*"}},
			want:    Limits{AllowedTypes: []string{"t3.*", "c6i.*"}},
		},
		{
			name:    "globs with different prefixes cannot overlap",
			request: Limits{AllowedTypes: []string{"t3.*", "c6i.*"}},
			cap:     Limits{AllowedTypes: []string{"c6i.*", "m5.*"}},
			want:    Limits{AllowedTypes: []string{"c6i.*"}},
		},
		{
			name:    "overlapping globs are joined",
			request: Limits{AllowedTypes: []string{"m5.*"}},
			cap:     Limits{AllowedTypes: []string{"*.large"}},
			want:    Limits{AllowedTypes: []string{"m5.*&*.large"}},
		},
		{
			name:    "nothing in common allows nothing",
			request: Limits{AllowedTypes: []string{"p4d.24xlarge"}},
			cap:     Limits{AllowedTypes: []string{"t3.*"}},
			want:    Limits{AllowedTypes: []string{"p4d.24xlarge&t3.*"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Effective(tt.request, tt.cap)); diff != "" {
				t.Errorf("Effective() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEffectiveAllowsBoth checks the defining property of Effective's type
// list against a set of real type names: a type is allowed exactly when both
// the request and the cap allow it.
func TestEffectiveAllowsBoth(t *testing.T) {
	lists := [][]string{
		nil, {"*"}, {"t3.*"}, {"t3.micro", "t3.large"}, {"*.large"}, {"m5.*", "c5.*"},
		{"m5.large"}, {"p4d.24xlarge"}, {"t?.large"}, {"[mc]5.*"}, {"t3.*", "c6i.*"}, {"*xlarge", "m5.*"},
		{`t3\.large`}, {"m5.*&*.large"}, {"*.*large"}, {"c5.*large"},
	}
	types := []string{
		"t3.micro", "t3.large", "t4.large", "m5.large", "m5.xlarge", "c5.large", "c5.2xlarge", "p4d.24xlarge",
		"c6i.large", "c6i.xlarge", "t3.xlarge",
	}
	for _, a := range lists {
		for _, b := range lists {
			req, cap := Limits{AllowedTypes: a}, Limits{AllowedTypes: b}
			eff := Effective(req, cap)
			for _, typ := range types {
				want := req.Allows(typ) && cap.Allows(typ)
				if got := eff.Allows(typ); got != want {
					t.Errorf("Effective(%q, %q) = %q: Allows(%s) = %v, want %v", a, b, eff.AllowedTypes, typ, got, want)
				}
			}
		}
	}
}

func TestAllows(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		typ     string
		want    bool
	}{
		{name: "no list allows any", typ: "p4d.24xlarge", want: true},
		{name: "empty list allows any", allowed: []string{}, typ: "p4d.24xlarge", want: true},
		{name: "literal", allowed: []string{"t3.large"}, typ: "t3.large", want: true},
		{name: "literal other", allowed: []string{"t3.large"}, typ: "t3.xlarge", want: false},
		{name: "glob", allowed: []string{"t3.*"}, typ: "t3.2xlarge", want: true},
		{name: "glob other family", allowed: []string{"t3.*"}, typ: "t3a.large", want: false},
		{name: "second entry", allowed: []string{"m5.*", "c5.*"}, typ: "c5.large", want: true},
		{name: "joined entry needs all", allowed: []string{"m5.*&*.large"}, typ: "m5.xlarge", want: false},
		{name: "joined entry matches", allowed: []string{"m5.*&*.large"}, typ: "m5.large", want: true},
		{name: "malformed pattern matches nothing", allowed: []string{"t3.[large"}, typ: "t3.large", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Limits{AllowedTypes: tt.allowed}).Allows(tt.typ); got != tt.want {
				t.Errorf("Allows(%q) with %q = %v, want %v", tt.typ, tt.allowed, got, tt.want)
			}
		})
	}
}

func at(hour int) time.Time {
	return time.Date(2026, 11, 25, hour, 0, 0, 0, time.UTC)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		limits    Limits
		instances []Instance
		wantUsage Usage
		wantViol  []Violation
	}{
		{
			name:   "unlimited",
			limits: Limits{},
			instances: []Instance{
				{ID: "i-1", Type: "p4d.24xlarge", State: "running", BornAt: at(1), VCPUs: 96},
				{ID: "i-2", Type: "t3.large", State: "stopped", BornAt: at(2), VCPUs: 2},
			},
			wantUsage: Usage{Instances: 2, VCPUs: 96},
		},
		{
			name:   "within limits",
			limits: Limits{MaxInstances: 3, MaxVCPUs: 8, AllowedTypes: []string{"t3.*"}},
			instances: []Instance{
				{ID: "i-1", Type: "t3.large", State: "running", BornAt: at(1), VCPUs: 2},
				{ID: "i-2", Type: "t3.xlarge", State: "pending", BornAt: at(2), VCPUs: 4},
				{ID: "i-3", Type: "t3.2xlarge", State: "stopped", BornAt: at(3), VCPUs: 8},
				{ID: "i-4", Type: "t3.2xlarge", State: "terminated", BornAt: at(4), VCPUs: 8},
				{ID: "i-5", Type: "t3.2xlarge", State: "shutting-down", BornAt: at(5), VCPUs: 8},
			},
			wantUsage: Usage{Instances: 3, VCPUs: 6, Limits: Limits{MaxInstances: 3, MaxVCPUs: 8, AllowedTypes: []string{"t3.*"}}},
		},
		{
			name:   "over count: newest terminated, stopped ones count too",
			limits: Limits{MaxInstances: 2},
			instances: []Instance{
				{ID: "i-old", Type: "t3.large", State: "running", BornAt: at(1), VCPUs: 2},
				{ID: "i-newest", Type: "t3.large", State: "stopped", BornAt: at(4), VCPUs: 2},
				{ID: "i-mid", Type: "t3.large", State: "running", BornAt: at(2), VCPUs: 2},
				{ID: "i-new", Type: "t3.large", State: "stopping", BornAt: at(3), VCPUs: 2},
			},
			wantUsage: Usage{Instances: 4, VCPUs: 4, Limits: Limits{MaxInstances: 2}},
			wantViol: []Violation{
				{InstanceID: "i-newest", Kind: OverCount, Action: ActionTerminate, Reason: "project has 4 of 2 instances"},
				{InstanceID: "i-new", Kind: OverCount, Action: ActionTerminate, Reason: "project has 4 of 2 instances"},
			},
		},
		{
			name:   "over count: ties broken by ID",
			limits: Limits{MaxInstances: 1},
			instances: []Instance{
				{ID: "i-c", Type: "t3.large", State: "running", BornAt: at(1), VCPUs: 2},
				{ID: "i-a", Type: "t3.large", State: "running", BornAt: at(1), VCPUs: 2},
				{ID: "i-b", Type: "t3.large", State: "running", BornAt: at(1), VCPUs: 2},
			},
			wantUsage: Usage{Instances: 3, VCPUs: 6, Limits: Limits{MaxInstances: 1}},
			wantViol: []Violation{
				{InstanceID: "i-a", Kind: OverCount, Action: ActionTerminate, Reason: "project has 3 of 1 instances"},
				{InstanceID: "i-b", Kind: OverCount, Action: ActionTerminate, Reason: "project has 3 of 1 instances"},
			},
		},
		{
			name:   "disallowed type: every running or pending one stopped, stopped ones left",
			limits: Limits{AllowedTypes: []string{"t3.*"}},
			instances: []Instance{
				{ID: "i-gpu", Type: "p4d.24xlarge", State: "running", BornAt: at(1), VCPUs: 96},
				{ID: "i-ok", Type: "t3.large", State: "running", BornAt: at(2), VCPUs: 2},
				{ID: "i-big", Type: "m5.24xlarge", State: "pending", BornAt: at(3), VCPUs: 96},
				{ID: "i-parked", Type: "m5.24xlarge", State: "stopped", BornAt: at(4), VCPUs: 96},
			},
			wantUsage: Usage{Instances: 4, VCPUs: 194, Limits: Limits{AllowedTypes: []string{"t3.*"}}},
			wantViol: []Violation{
				{InstanceID: "i-big", Kind: DisallowedType, Action: ActionStop, Reason: "type m5.24xlarge is not allowed (allowed: t3.*)"},
				{InstanceID: "i-gpu", Kind: DisallowedType, Action: ActionStop, Reason: "type p4d.24xlarge is not allowed (allowed: t3.*)"},
			},
		},
		{
			name:   "over vCPUs: newest running stopped until within",
			limits: Limits{MaxVCPUs: 16},
			instances: []Instance{
				{ID: "i-1", Type: "m5.xlarge", State: "running", BornAt: at(1), VCPUs: 4},
				{ID: "i-2", Type: "m5.2xlarge", State: "running", BornAt: at(2), VCPUs: 8},
				{ID: "i-3", Type: "t3.large", State: "running", BornAt: at(3), VCPUs: 2},
				{ID: "i-4", Type: "m5.xlarge", State: "running", BornAt: at(4), VCPUs: 4},
				{ID: "i-5", Type: "m5.2xlarge", State: "stopped", BornAt: at(5), VCPUs: 8},
			},
			wantUsage: Usage{Instances: 5, VCPUs: 18, Limits: Limits{MaxVCPUs: 16}},
			wantViol: []Violation{
				{InstanceID: "i-4", Kind: OverVCPUs, Action: ActionStop, Reason: "project uses 18 of 16 vCPUs"},
			},
		},
		{
			name:   "over vCPUs: pending counts but cannot be stopped, unknown sizes skipped",
			limits: Limits{MaxVCPUs: 8},
			instances: []Instance{
				{ID: "i-1", Type: "m5.xlarge", State: "running", BornAt: at(1), VCPUs: 4},
				{ID: "i-2", Type: "m5.xlarge", State: "running", BornAt: at(2), VCPUs: 4},
				{ID: "i-3", Type: "x9.mystery", State: "running", BornAt: at(3), VCPUs: 0},
				{ID: "i-4", Type: "m5.xlarge", State: "pending", BornAt: at(4), VCPUs: 4},
			},
			wantUsage: Usage{Instances: 4, VCPUs: 12, Limits: Limits{MaxVCPUs: 8}},
			wantViol: []Violation{
				{InstanceID: "i-2", Kind: OverVCPUs, Action: ActionStop, Reason: "project uses 12 of 8 vCPUs"},
			},
		},
		{
			name:   "interplay: each instance once, most severe; vCPUs counted after the others",
			limits: Limits{MaxInstances: 4, MaxVCPUs: 10, AllowedTypes: []string{"m5.*", "t3.*"}},
			instances: []Instance{
				{ID: "i-1", Type: "m5.xlarge", State: "running", BornAt: at(1), VCPUs: 4},
				{ID: "i-2", Type: "m5.xlarge", State: "running", BornAt: at(2), VCPUs: 4},
				{ID: "i-3", Type: "c5.xlarge", State: "running", BornAt: at(3), VCPUs: 4},
				{ID: "i-4", Type: "t3.large", State: "running", BornAt: at(4), VCPUs: 2},
				{ID: "i-5", Type: "c5.2xlarge", State: "running", BornAt: at(5), VCPUs: 8},
				{ID: "i-6", Type: "m5.xlarge", State: "terminated", BornAt: at(6), VCPUs: 4},
			},
			wantUsage: Usage{Instances: 5, VCPUs: 22, Limits: Limits{MaxInstances: 4, MaxVCPUs: 10, AllowedTypes: []string{"m5.*", "t3.*"}}},
			wantViol: []Violation{
				// i-5 is both the excess instance and disallowed: terminate wins.
				{InstanceID: "i-5", Kind: OverCount, Action: ActionTerminate, Reason: "project has 5 of 4 instances"},
				{InstanceID: "i-3", Kind: DisallowedType, Action: ActionStop, Reason: "type c5.xlarge is not allowed (allowed: m5.*, t3.*)"},
				// Left: i-1, i-2, i-4 = 10 vCPUs, within the limit.
			},
		},
		{
			name:   "interplay: vCPUs still over after the others",
			limits: Limits{MaxInstances: 3, MaxVCPUs: 4},
			instances: []Instance{
				{ID: "i-1", Type: "t3.large", State: "running", BornAt: at(1), VCPUs: 2},
				{ID: "i-2", Type: "m5.xlarge", State: "running", BornAt: at(2), VCPUs: 4},
				{ID: "i-3", Type: "t3.large", State: "running", BornAt: at(3), VCPUs: 2},
				{ID: "i-4", Type: "m5.xlarge", State: "running", BornAt: at(4), VCPUs: 4},
			},
			wantUsage: Usage{Instances: 4, VCPUs: 12, Limits: Limits{MaxInstances: 3, MaxVCPUs: 4}},
			wantViol: []Violation{
				{InstanceID: "i-4", Kind: OverCount, Action: ActionTerminate, Reason: "project has 4 of 3 instances"},
				{InstanceID: "i-3", Kind: OverVCPUs, Action: ActionStop, Reason: "project uses 12 of 4 vCPUs"},
				{InstanceID: "i-2", Kind: OverVCPUs, Action: ActionStop, Reason: "project uses 12 of 4 vCPUs"},
			},
		},
		{
			name:      "no instances",
			limits:    Limits{MaxInstances: 1, MaxVCPUs: 1},
			wantUsage: Usage{Limits: Limits{MaxInstances: 1, MaxVCPUs: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usage, viol := Check(tt.limits, tt.instances)
			if diff := cmp.Diff(tt.wantUsage, usage); diff != "" {
				t.Errorf("Check() usage mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantViol, viol); diff != "" {
				t.Errorf("Check() violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckOrderIndependent checks that the choice does not depend on the
// order in which the instances were observed.
func TestCheckOrderIndependent(t *testing.T) {
	l := Limits{MaxInstances: 5, MaxVCPUs: 12, AllowedTypes: []string{"t3.*", "m5.*"}}
	in := fleet(12)
	_, want := Check(l, in)
	for shift := 1; shift < len(in); shift++ {
		rotated := append(append([]Instance(nil), in[shift:]...), in[:shift]...)
		if _, got := Check(l, rotated); !cmp.Equal(want, got) {
			t.Errorf("rotation %d: violations differ (-want +got):\n%s", shift, cmp.Diff(want, got))
		}
	}
}

func fleet(n int) []Instance {
	types := []struct {
		name  string
		vcpus int
	}{{"t3.large", 2}, {"m5.xlarge", 4}, {"c5.2xlarge", 8}, {"t3.micro", 2}}
	states := []string{"running", "running", "stopped", "pending", "running", "terminated"}
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	out := make([]Instance, n)
	for i := range out {
		ty := types[i%len(types)]
		out[i] = Instance{
			ID: fmt.Sprintf("i-%04d", i), Type: ty.name, State: states[i%len(states)],
			BornAt: base.Add(time.Duration(i%97) * time.Hour), VCPUs: ty.vcpus,
		}
	}
	return out
}

// BenchmarkCheck checks a project of 1,000 instances that is over every limit.
func BenchmarkCheck(b *testing.B) {
	l := Limits{MaxInstances: 500, MaxVCPUs: 1000, AllowedTypes: []string{"t3.*", "m5.*"}}
	in := fleet(1000)
	b.ReportAllocs()
	for b.Loop() {
		Check(l, in)
	}
}

// TestCheckConverges checks, on random fleets, that carrying out the
// violations brings a project within its limits in one go, that nothing is
// chosen twice, and that no more instances are chosen than needed.
func TestCheckConverges(t *testing.T) {
	types := []struct {
		name  string
		vcpus int
	}{{"t3.micro", 2}, {"t3.large", 2}, {"m5.xlarge", 4}, {"m5.4xlarge", 16}, {"p4d.24xlarge", 96}}
	states := []string{"running", "running", "running", "stopped", "stopping", "terminated", "shutting-down"}
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		l := Limits{MaxInstances: r.IntN(12), MaxVCPUs: r.IntN(64)}
		if r.IntN(2) == 0 {
			l.AllowedTypes = []string{"t3.*", "m5.*"}
		}
		in := make([]Instance, r.IntN(30))
		for i := range in {
			ty := types[r.IntN(len(types))]
			in[i] = Instance{
				ID: fmt.Sprintf("i-%02d", i), Type: ty.name, State: states[r.IntN(len(states))],
				BornAt: base.Add(time.Duration(r.IntN(10)) * time.Hour), VCPUs: ty.vcpus,
			}
		}

		_, viol := Check(l, in)
		chosen := make(map[string]Violation)
		for _, v := range viol {
			if _, dup := chosen[v.InstanceID]; dup {
				t.Errorf("seed %d: %s chosen twice", seed, v.InstanceID)
			}
			chosen[v.InstanceID] = v
		}
		after := make([]Instance, 0, len(in))
		for _, i := range in {
			switch chosen[i.ID].Action {
			case ActionTerminate:
				i.State = "terminated"
			case ActionStop:
				i.State = "stopped"
			}
			after = append(after, i)
		}
		if problem := within(l, after); problem != "" {
			t.Errorf("seed %d: after carrying out %v: %s", seed, viol, problem)
		}

		// Minimal: putting back the last instance stopped for vCPUs would put
		// the project over again.
		var lastVCPU *Violation
		for i := range viol {
			if viol[i].Kind == OverVCPUs {
				lastVCPU = &viol[i]
			}
		}
		if lastVCPU != nil {
			for i := range after {
				if after[i].ID == lastVCPU.InstanceID {
					after[i].State = "running"
				}
			}
			if within(l, after) == "" {
				t.Errorf("seed %d: stopping %s was not needed", seed, lastVCPU.InstanceID)
			}
		}
	}
}

// within says how a fleet exceeds l, or "" if it does not; it is written
// independently of Check, as the oracle for it.
func within(l Limits, fleet []Instance) string {
	var count, vcpus int
	for _, i := range fleet {
		switch i.State {
		case "running", "pending":
			vcpus += i.VCPUs
			if !l.Allows(i.Type) {
				return fmt.Sprintf("%s of type %s is %s", i.ID, i.Type, i.State)
			}
			count++
		case "stopping", "stopped":
			count++
		}
	}
	if l.MaxInstances > 0 && count > l.MaxInstances {
		return fmt.Sprintf("%d of %d instances", count, l.MaxInstances)
	}
	if l.MaxVCPUs > 0 && vcpus > l.MaxVCPUs {
		return fmt.Sprintf("%d of %d vCPUs", vcpus, l.MaxVCPUs)
	}
	return ""
}

// FuzzEffective checks that Effective's type list allows a type exactly when
// both the request's and the cap's patterns do, whatever the patterns.
func FuzzEffective(f *testing.F) {
	f.Add("m5.*", "*.large", "m5.large")
	f.Add("t3.*", "c6i.*", "t3.micro")
	f.Add("t?.large", "t3.*", "t3.large")
	f.Add(`t3\.large`, "t3.large", "t3.large")
	f.Add("[mc]5.*", "c5.*large", "c5.2xlarge")
	f.Add("*a*", "*b", "ab")
	f.Fuzz(func(t *testing.T, a, b, typ string) {
		req, caps := Limits{AllowedTypes: []string{a}}, Limits{AllowedTypes: []string{b}}
		want := req.Allows(typ) && caps.Allows(typ)
		if got := Effective(req, caps).Allows(typ); got != want {
			t.Errorf("Effective(%q, %q) = %q: Allows(%q) = %v, want %v", a, b, Effective(req, caps).AllowedTypes, typ, got, want)
		}
	})
}
