// Package statuspage is serve's read-only status pages: what every project
// runs against its quota and what happens next, built from what the last run
// observed and planned. A page view never calls AWS: serve records each run
// in a Store, and the pages read it.
//
// The package imports neither the AWS SDK nor Slack: it sees the run
// through reconcile's plain values.
package statuspage

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// Run is what one run read and decided, as serve hands it over.
type Run struct {
	Config      *projects.Config
	Observation *reconcile.Observation
	Plan        *reconcile.RunPlan
	// Report is what Apply did; nil when nothing was applied
	// (safety.enforce is false, or Apply failed as a whole).
	Report *reconcile.Report
	// Result is the run's outcome as /metrics counts it: ok, held,
	// failed or stale_config.
	Result string
	// Stale is set when the admin file failed to load: Config is the last
	// good one, and the run stopped and terminated nothing.
	Stale bool
}

// Action is one thing a run did to a project, for its "recent actions".
type Action struct {
	At    time.Time
	RunID string
	Text  string
}

// attempt is the outcome of the last run, even one that observed nothing.
type attempt struct {
	id     string
	at     time.Time
	result string
}

// maxActions is how many recent actions a project keeps.
const maxActions = 30

// Store keeps the last run that observed the fleet, with its status, and
// each project's recent actions. It is safe for concurrent use: runs
// record, page views read.
type Store struct {
	mu      sync.RWMutex
	last    *Run
	status  *reconcile.Status
	attempt attempt
	actions map[string][]Action // newest first
}

// NewStore returns an empty store: the pages say that no run happened yet.
func NewStore() *Store {
	return &Store{actions: map[string][]Action{}}
}

// Record keeps r as the run the pages show, computes its status and adds
// what it did to each project's recent actions. r's values must not be
// changed afterwards.
func (s *Store) Record(r Run) {
	st := reconcile.StatusOf(r.Config, r.Observation, r.Plan.Now)
	acts := actionsOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last, s.status = &r, st
	s.attempt = attempt{id: r.Plan.RunID, at: r.Plan.Now, result: r.Result}
	for project, list := range acts {
		s.actions[project] = append(list, s.actions[project]...)
		if len(s.actions[project]) > maxActions {
			s.actions[project] = s.actions[project][:maxActions]
		}
	}
}

// Attempted records the outcome of a run that recorded nothing, such as
// one aborted before it could observe: the pages keep showing the last
// recorded run, and say that a later one failed.
func (s *Store) Attempted(id string, at time.Time, result string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempt = attempt{id: id, at: at.UTC(), result: result}
}

// snapshot returns what the pages read, under the lock.
func (s *Store) snapshot(project string) (*Run, *reconcile.Status, attempt, []Action) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last, s.status, s.attempt, slices.Clone(s.actions[project])
}

// actionsOf lists what a run did, by project: warnings delivered, stops
// and terminations, template changes, and what could not be done.
func actionsOf(r Run) map[string][]Action {
	plan := r.Plan
	out := map[string][]Action{}
	add := func(project, format string, args ...any) {
		if project == "" {
			return
		}
		text := fmt.Sprintf(format, args...)
		switch {
		case r.Report == nil && !plan.Enforce:
			text = "planned, not applied (safety.enforce is false): " + text
		case r.Report == nil:
			text = "planned, but the run failed before applying it: " + text
		}
		out[project] = append(out[project], Action{At: plan.Now, RunID: plan.RunID, Text: text})
	}
	delivered := map[string]bool{}
	if r.Report != nil {
		for _, d := range r.Report.Deliveries {
			if d.Err == nil {
				delivered[d.Digest.Channel] = true
				continue
			}
			add(d.Digest.Project, "digest to %s not delivered: %v", d.Digest.Channel, d.Err)
		}
	}
	told := func(n notify.Notice) string {
		if r.Report != nil && !delivered[n.Channel] {
			return " (not delivered: nothing follows until it is)"
		}
		return ""
	}
	projectOf := map[string]string{}
	for _, rp := range plan.Regions {
		for _, c := range rp.Instances {
			projectOf[c.ID] = c.Project
		}
	}
	for _, n := range plan.Notices {
		switch {
		case n.Kind == notify.KindOrphan && n.InstanceID == "":
			// The admins' one line per removed template; its team got a
			// line per instance.
			add(n.Project, "template %s removed, admins told in %s: %s%s", n.Template, n.Channel, n.Reason, told(n))
			continue
		case n.Kind == notify.KindFrozen:
			// Told to the admins and, where its channel reads, the team.
			add(n.Project, "frozen, told in %s: %s%s", n.Channel, n.Reason, told(n))
			continue
		}
		switch n.Kind {
		case notify.KindExpiring, notify.KindOverQuota, notify.KindDisallowedType, notify.KindOrphan:
			add(n.Project, "%s: warned in %s: %s at %s — %s%s", n.InstanceID, n.Channel, n.Action, notify.FormatTime(n.Deadline), n.Reason, told(n))
		case notify.KindTemplateChanged:
			add(n.Project, "template %s: %s (%s), %s", n.Template, n.Action, n.Reason, n.Detail)
		case notify.KindActionFailed:
			add(n.Project, "%s: %s failed: %s", n.InstanceID, n.Action, n.Reason)
		case notify.KindStopped, notify.KindTerminated:
			if r.Report == nil {
				add(n.Project, "%s: %s", n.InstanceID, n.Kind)
			}
		}
	}
	if r.Report != nil {
		for _, id := range r.Report.Stopped {
			add(projectOf[id], "%s: stopped", id)
		}
		for _, id := range r.Report.Terminated {
			add(projectOf[id], "%s: terminated", id)
		}
	}
	for _, c := range plan.Held {
		add(c.Project, "%s: %s held back by the per-run safety cap; a later run does it", c.ID, c.Action)
	}
	return out
}

// noticeText describes a launchwarden:notice value for people.
func noticeText(tag string) string {
	if tag == "" {
		return "none"
	}
	n, err := lifecycle.ParseNotice(tag)
	if err != nil {
		return "unreadable: " + strings.TrimSpace(tag)
	}
	text := fmt.Sprintf("told of the %s at %s (run %s)", n.Stage, notify.FormatTime(n.At), n.Run)
	if !n.Deadline.IsZero() {
		text += ", for " + notify.FormatTime(n.Deadline)
	}
	return text
}
