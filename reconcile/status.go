package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
)

// InstanceStatus is where one instance stands: its age, expiry and what
// happens to it next.
type InstanceStatus struct {
	ID       string    `json:"id"`
	Project  string    `json:"project"`
	Template string    `json:"template,omitempty"`
	Type     string    `json:"type"`
	State    string    `json:"state"`
	Account  string    `json:"account"`
	Region   string    `json:"region"`
	BornAt   time.Time `json:"born_at"`
	Expiry   time.Time `json:"expiry,omitzero"`
	// Next is what happens next ("warn", "warn now, then stop", "stop now",
	// "terminate (announced)", or "" for nothing foreseen); NextAt is when
	// (for "warn now, then …", when the action follows).
	Next   string    `json:"next,omitempty"`
	NextAt time.Time `json:"next_at,omitzero"`
	Reason string    `json:"reason,omitempty"`
	// Notice is the last notice the team was given for the instance, as
	// its launchwarden:notice tag records it ("stop@2026-11-25T10:00:00Z").
	Notice string `json:"notice,omitempty"`
}

// Status is the fleet as launchwarden sees it now.
type Status struct {
	Now       time.Time               `json:"now"`
	Instances []InstanceStatus        `json:"instances"`
	Usage     map[string]notify.Usage `json:"usage"`
	Frozen    []string                `json:"frozen,omitempty"`
	// LaunchesClosed lists, by project, its closed templates and why, as
	// the last run tagged them ("fedora: max_vcpus 4 reached for t3.micro").
	LaunchesClosed map[string][]string `json:"launches_closed,omitempty"`
}

// StatusOf computes the status of every observed instance. Like Plan it is
// pure; it shows what the next run would decide, and when things happen
// after that.
func StatusOf(cfg *projects.Config, obs *Observation, now time.Time) *Status {
	st := &Status{Now: now.UTC(), Usage: map[string]notify.Usage{}}
	evaluate(cfg, obs, now, st.Usage, func(ev evaluation) {
		in, d := ev.in, ev.decision
		s := InstanceStatus{
			ID: in.ID, Project: in.Project, Template: in.Template, Type: in.Type, State: in.State,
			Account: in.Account, Region: in.Region, BornAt: in.BornAt, Expiry: ev.expiry, Reason: d.Reason,
			Notice: ev.notice.String(),
		}
		if ev.kind == notify.KindOrphan {
			s.Expiry = time.Time{} // an orphan's fate is its grace, not its age
		}
		switch {
		case d.Action == lifecycle.ActionNotify:
			s.Next, s.NextAt = "warn now, then "+string(d.Stage), d.Deadline
		case d.Action == lifecycle.ActionStop || d.Action == lifecycle.ActionTerminate:
			s.Next = string(d.Action) + " now"
		case d.Stage == lifecycle.ActionStop || d.Stage == lifecycle.ActionTerminate:
			s.Next, s.NextAt = string(d.Stage)+" (announced)", d.Deadline
		case !d.Next.IsZero():
			s.Next, s.NextAt = "warn", d.Next
		}
		st.Instances = append(st.Instances, s)
	})
	for name := range cfg.Frozen {
		st.Frozen = append(st.Frozen, name) // its instances: warned, never acted on (evaluateFrozen)
	}
	slices.Sort(st.Frozen)
	if closed := ClosedTemplates(obs); len(closed) > 0 {
		st.LaunchesClosed = closed
	}
	slices.SortFunc(st.Instances, func(a, b InstanceStatus) int {
		if c := strings.Compare(a.Project, b.Project); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return st
}

// WriteJSON writes the status as indented JSON.
func (s *Status) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes the status as tables: instances, then quota usage.
func (s *Status) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tINSTANCE\tTYPE\tSTATE\tREGION\tAGE\tEXPIRES\tNEXT\tAT")
	for _, in := range s.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			in.Project, in.ID, in.Type, in.State, in.Region, age(s.Now.Sub(in.BornAt)),
			stamp(in.Expiry), dash(in.Next), stamp(in.NextAt))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "PROJECT\tQUOTA")
	for _, name := range sortedKeys(s.Usage) {
		fmt.Fprintf(tw, "%s\t%s\n", name, notify.UsageLine(s.Usage[name]))
	}
	for _, name := range s.Frozen {
		fmt.Fprintf(tw, "%s\tfrozen: invalid config\n", name)
	}
	for _, name := range sortedKeys(s.LaunchesClosed) {
		fmt.Fprintf(tw, "%s\tlaunches closed: %s\n", name, strings.Join(s.LaunchesClosed[name], "; "))
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// age says 3d4h, 5h10m or 12m.
func age(d time.Duration) string {
	d = d.Truncate(time.Minute)
	days, hours, minutes := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh%dm", hours, minutes)
	}
	return fmt.Sprintf("%dm", minutes)
}
