package limits

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRankIsCheckOrder: on random fleets (ties of birth included), the
// instances Check chooses for a quota are exactly those of the kind's
// candidates whose Rank is at most that of the last one chosen: a notice
// that records the cutoff names every instance a later run may find
// chosen with a rank within it.
func TestRankIsCheckOrder(t *testing.T) {
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(40)
		fleet := make([]Instance, n)
		for i := range fleet {
			fleet[i] = Instance{
				ID: fmt.Sprintf("i-%04x", r.IntN(1<<16)), Type: []string{"t3.large", "m5.xlarge"}[r.IntN(2)],
				State: []string{"running", "running", "stopped", "pending"}[r.IntN(4)],
				// Births repeat (whole minutes) and carry nanoseconds.
				BornAt: base.Add(time.Duration(r.IntN(20))*time.Minute + time.Duration(r.IntN(3))), VCPUs: 2,
			}
		}
		l := Limits{MaxInstances: r.IntN(n + 1), MaxVCPUs: r.IntN(2 * n), AllowedTypes: []string{"t3.*", "m5.*"}}
		_, violations := Check(l, fleet)
		for _, kind := range []Kind{OverCount, OverVCPUs} {
			chosen := map[string]bool{}
			cutoff := ""
			for _, v := range violations {
				if v.Kind == kind {
					chosen[v.InstanceID] = true
				}
			}
			for _, in := range fleet {
				if chosen[in.ID] {
					cutoff = max(cutoff, Rank(in))
				}
			}
			if cutoff == "" {
				continue
			}
			other := map[string]bool{}
			for _, v := range violations {
				other[v.InstanceID] = v.Kind != kind
			}
			for _, in := range fleet {
				candidate := counts(in.State) && (kind == OverCount || in.State == "running" && !other[in.ID])
				if within := Rank(in) <= cutoff; candidate && within != chosen[in.ID] {
					t.Fatalf("seed %d, %s: %s (rank %s, cutoff %s) chosen %v", seed, kind, in.ID, Rank(in), cutoff, chosen[in.ID])
				}
			}
		}
	}
}

func TestRankSortsNewestFirstThenByID(t *testing.T) {
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ins := []Instance{
		{ID: "i-b", BornAt: at}, {ID: "i-a", BornAt: at}, {ID: "i-c", BornAt: at.Add(time.Nanosecond)},
		{ID: "i-z", BornAt: at.Add(-time.Hour)}, {ID: "i-0", BornAt: time.Time{}},
	}
	slices.SortFunc(ins, func(a, b Instance) int { return strings.Compare(Rank(a), Rank(b)) })
	var got []string
	for _, in := range ins {
		got = append(got, in.ID)
	}
	if want := []string{"i-c", "i-a", "i-b", "i-z", "i-0"}; !slices.Equal(got, want) {
		t.Errorf("by rank: %v, want %v", got, want)
	}
	if r := Rank(Instance{ID: "i-0123456789abcdef0", BornAt: at}); len(r) > 64 {
		t.Errorf("rank %q is longer than a notice field may be", r)
	}
}
