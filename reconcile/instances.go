package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/limits"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
)

// InstanceChange is what a run does to one instance: deliver a notice, stop
// or terminate it, or only fix its tags.
type InstanceChange struct {
	ID       string `json:"id"`
	Project  string `json:"project"`
	Template string `json:"template,omitempty"`
	Type     string `json:"type"`
	State    string `json:"state"`
	// Channel is where the instance's notices go: its project's channel, or
	// the admin channel for orphans.
	Channel string `json:"channel"`
	// Action is notify, stop, terminate, or keep when only tags change.
	Action lifecycle.Action `json:"action"`
	// Kind is what the notice is about (expiring, over-quota, orphan…).
	Kind     notify.Kind      `json:"kind,omitempty"`
	Stage    lifecycle.Action `json:"stage,omitempty"`
	Deadline time.Time        `json:"deadline,omitzero"`
	Reason   string           `json:"reason,omitempty"`
	// Notice is the launchwarden:notice value recorded once the notice was
	// delivered; ClearNotice removes an obsolete one.
	Notice      string `json:"notice,omitempty"`
	ClearNotice bool   `json:"clear_notice,omitempty"`
	// ExpiresAt is a new launchwarden:expires-at value, from [[extensions]].
	ExpiresAt string `json:"expires_at,omitempty"`
	// Protected is a new launchwarden:protected value, written once the
	// admin digest telling of the termination protection was delivered.
	Protected string `json:"protected,omitempty"`
	// Extended is a new launchwarden:extended value, marking an Extend
	// button's extension reported, written once the admin digest telling
	// of it was delivered.
	Extended string `json:"extended,omitempty"`
	// Then is the launchwarden:notice value recorded once the stop is done:
	// the termination the stop's digest announced, due at ThenDeadline.
	Then         string    `json:"then,omitempty"`
	ThenDeadline time.Time `json:"then_deadline,omitzero"`
	// Label is true when the instance's launchwarden:project and
	// :template labels are missing or wrong: they are set to Project and
	// Template (for people and cost reports; they decide nothing).
	Label bool `json:"label,omitempty"`
	// Forged are state tags whose signature did not verify: ignored,
	// reported to admins, and removed once the admin digest was delivered.
	Forged []string `json:"forged,omitempty"`
	// Held is true when the stop or termination of Stage, due at Deadline,
	// was held back by the per-run cap (Action is then keep).
	Held bool `json:"held,omitempty"`
}

// Destructive reports whether the change stops or terminates the instance.
func (c InstanceChange) Destructive() bool {
	return c.Action == lifecycle.ActionStop || c.Action == lifecycle.ActionTerminate
}

// Policy returns the lifecycle policy of a project: its lifecycle within the
// admin's caps.
func Policy(admin *projects.Admin, p *projects.Project) lifecycle.Policy {
	caps := admin.EffectiveCaps(p.Name)
	return lifecycle.Policy{
		TTL:                   time.Duration(p.Lifecycle.TTL),
		WarnBefore:            time.Duration(p.Lifecycle.WarnBefore),
		TerminateStoppedAfter: time.Duration(p.Lifecycle.TerminateStoppedAfter),
		MinNotice:             time.Duration(caps.MinNotice),
		RestartGrace:          time.Duration(caps.RestartGrace),
		MaxLifetime:           time.Duration(caps.MaxLifetime),
		OnExpiry:              lifecycle.Action(p.Lifecycle.OnExpiry),
		Mode:                  lifecycle.Mode(p.Lifecycle.Mode),
	}
}

// orphanTTL stands for "no age limit": an orphan's fate is its demand.
const orphanTTL = 100 * 365 * 24 * time.Hour

// orphanPolicy is the policy of instances whose project or template left
// the config. Age plays no part: the orphan demand terminates them once the
// orphan grace has passed since admins were first told, and not before.
// base is the project's policy for a template orphan, nil for a project
// orphan (then enforce mode).
func orphanPolicy(admin *projects.Admin, base *lifecycle.Policy) lifecycle.Policy {
	p := lifecycle.Policy{
		MinNotice: time.Duration(admin.Caps.MinNotice),
		OnExpiry:  lifecycle.ActionTerminate,
		Mode:      lifecycle.ModeEnforce,
	}
	if base != nil {
		p = *base
	}
	p.TTL, p.MaxLifetime = orphanTTL, 0
	return p
}

// Limits returns a project's effective limits: its request within the caps
// (with its grant).
func Limits(admin *projects.Admin, p *projects.Project) limits.Limits {
	caps := admin.EffectiveCaps(p.Name)
	return limits.Effective(
		limits.Limits{MaxInstances: p.Limits.MaxInstances, MaxVCPUs: p.Limits.MaxVCPUs, AllowedTypes: p.Limits.AllowedInstanceTypes},
		limits.Limits{MaxInstances: caps.MaxInstances, MaxVCPUs: caps.MaxVCPUs, AllowedTypes: caps.AllowedInstanceTypes},
	)
}

// observed is an instance with where it was seen.
type observed struct {
	*cloud.Instance
	region int
	vcpus  int
}

// evaluation is one instance decided: what Plan records and Status shows.
type evaluation struct {
	in       observed
	decision lifecycle.Decision
	expiry   time.Time
	kind     notify.Kind
	channel  string
	// expiresAt is a new launchwarden:expires-at value from [[extensions]].
	expiresAt string
	// notice is the last notice delivered for the instance (its
	// launchwarden:notice tag), zero if none.
	notice lifecycle.Notice
	// warning is a problem with the instance's tags, for the plan.
	warning string
	// protected is set when termination protection held a termination
	// back and admins have not been told yet: the tag value to record.
	protected string
	// extended is set when admins have not been told yet of an Extend
	// button's extension: the tag value to record once they were.
	extended string
}

// quiet reports whether the evaluation changes nothing on the instance.
func (ev *evaluation) quiet() bool {
	in := ev.in
	return ev.decision.Action == lifecycle.ActionKeep && !ev.decision.ClearNotice && ev.expiresAt == "" && ev.protected == "" && ev.extended == "" &&
		len(in.Forged) == 0 && in.LabelProject == in.Project && in.LabelTemplate == in.Template
}

// protectedRetry is how long a termination that failed on termination
// protection waits before it is tried (and, if it fails, reported) again.
const protectedRetry = 24 * time.Hour

// holdProtected keeps an instance whose termination failed on termination
// protection less than protectedRetry ago: the protection is respected, the
// team is not told again that it is being terminated, and admins are told
// once. It returns the tag value to record after telling them, if any.
func holdProtected(ev *evaluation, tag string, now time.Time) string { // tag is the verified value
	since, reported, _ := strings.Cut(tag, " ")
	at := parseTime(since)
	if at.IsZero() || now.Sub(at) >= protectedRetry || ev.decision.Action != lifecycle.ActionTerminate {
		return ""
	}
	d := &ev.decision
	d.Action = lifecycle.ActionKeep
	d.Reason = fmt.Sprintf("termination protection is on (found %s): left running; termination is tried again after %s", since, projects.Duration(protectedRetry))
	d.Next = at.Add(protectedRetry)
	if reported == "reported" {
		return ""
	}
	return since + " reported"
}

// planInstances decides every observed instance and records the changes.
//
// A region's changes are at most its instances: room for them is made
// once, since growing a slice of 100,000 changes by appending copies it
// many times over, and is given back when most of it went unused.
func planInstances(plan *RunPlan, cfg *projects.Config, obs *Observation, now time.Time) {
	for i, snap := range obs.Snapshots {
		plan.Regions[i].Instances = make([]InstanceChange, 0, len(snap.Instances))
	}
	evaluate(cfg, obs, now, plan.Usage, func(ev evaluation) {
		if ev.warning != "" {
			plan.Warnings = append(plan.Warnings, ev.warning)
		}
		d := ev.decision
		in := ev.in
		if ev.protected != "" {
			plan.Notices = append(plan.Notices, notify.Notice{
				Kind: notify.KindActionFailed, Channel: plan.AdminChannel, Project: in.Project, Account: in.Account, Region: in.Region,
				InstanceID: in.ID, Template: in.Template, InstanceType: in.Type, Action: string(lifecycle.ActionTerminate),
				Reason: "termination protection is on: not terminated",
				Detail: "turn the protection off to let it go, or give it a launchwarden:keep tag to keep it",
			})
		}
		ev.extended = planExtended(plan, &ev)
		if ev.quiet() {
			return
		}
		change := InstanceChange{
			ID: in.ID, Project: in.Project, Template: in.Template, Type: in.Type, State: in.State,
			Channel: ev.channel, Action: d.Action, Stage: d.Stage, Deadline: d.Deadline, Reason: d.Reason,
			ClearNotice: d.ClearNotice, ExpiresAt: ev.expiresAt, Protected: ev.protected, Extended: ev.extended,
			Label: in.LabelProject != in.Project || in.LabelTemplate != in.Template, Forged: in.Forged,
		}
		if d.Notice != nil {
			n := *d.Notice
			n.Run = plan.RunID
			change.Notice = n.String()
		}
		if d.Then != nil {
			n := *d.Then
			n.Run = plan.RunID
			change.Then, change.ThenDeadline = n.String(), d.ThenDeadline
		}
		if d.Action != lifecycle.ActionKeep {
			change.Kind = ev.kind
		}
		plan.Regions[in.region].Instances = append(plan.Regions[in.region].Instances, change)
	})
	for _, rp := range plan.Regions {
		switch n := len(rp.Instances); {
		case n == 0:
			rp.Instances = nil
		case n < cap(rp.Instances)/2:
			rp.Instances = slices.Clone(rp.Instances)
		}
	}
}

// evaluate decides every observed instance of every project that is not
// frozen: quota violations per project across all regions, orphans, then
// lifecycle.Decide per instance, in a stable order. It fills usage per
// project and calls visit once per instance.
func evaluate(cfg *projects.Config, obs *Observation, now time.Time, usage map[string]notify.Usage, visit func(evaluation)) {
	byProject := map[string][]observed{}
	for i, snap := range obs.Snapshots {
		for j := range snap.Instances {
			in := &snap.Instances[j]
			if in.Project == "" {
				continue // never ours: invariant 1
			}
			byProject[in.Project] = append(byProject[in.Project], observed{Instance: in, region: i, vcpus: int(snap.InstanceTypes[in.Type].VCPUs)})
		}
	}
	names := make([]string, 0, len(byProject))
	for name := range byProject {
		names = append(names, name)
	}
	slices.Sort(names)

	admin := cfg.Admin
	adminChannel := admin.Slack.AdminChannel
	for _, name := range names {
		insts := byProject[name]
		if _, frozen := cfg.Frozen[name]; frozen {
			evaluateFrozen(cfg, name, insts, now, visit)
			continue
		}
		p := cfg.Project(name)
		if p == nil {
			// The admins own the config that removed it, and the team's
			// channel went with its file: the admins are told. Its mode went
			// with the file too, so a stop-only project's orphans are
			// terminated after the grace like any other; the notice says so.
			reason := fmt.Sprintf("project %s was removed: %s/%s.toml is gone; terminated after the orphan grace whatever its lifecycle said (restore the file to keep them)",
				name, projects.ProjectsDir, name)
			for _, in := range insts {
				d := &lifecycle.Demand{Action: lifecycle.ActionTerminate, Reason: reason, Grace: time.Duration(admin.Safety.OrphanGrace), Scope: scopeOrphan}
				visit(decide(in, orphanPolicy(admin, nil), d, notify.KindOrphan, adminChannel, time.Time{}, now))
			}
			continue
		}

		lim := Limits(admin, p)
		li := make([]limits.Instance, len(insts))
		for i, in := range insts {
			li[i] = limits.Instance{ID: in.ID, Type: in.Type, State: in.State, BornAt: in.BornAt, VCPUs: in.vcpus}
		}
		use, violations := limits.Check(lim, li)
		usage[name] = notify.Usage{Project: name, Instances: use.Instances, MaxInstances: lim.MaxInstances, VCPUs: use.VCPUs, MaxVCPUs: lim.MaxVCPUs}
		byID := map[string]limits.Violation{}
		ranks, cutoffs := map[string]string{}, map[limits.Kind]string{}
		for _, in := range li {
			ranks[in.ID] = limits.Rank(in)
		}
		for _, v := range violations {
			byID[v.InstanceID] = v
			cutoffs[v.Kind] = max(cutoffs[v.Kind], ranks[v.InstanceID])
		}

		policy := Policy(admin, p)
		for _, in := range insts {
			policy := policy
			var demand *lifecycle.Demand
			kind, channel := notify.KindExpiring, p.SlackChannel
			if v, ok := byID[in.ID]; ok {
				demand = &lifecycle.Demand{Action: lifecycle.Action(v.Action), Reason: v.Reason}
				kind = notify.KindOverQuota
				if v.Kind == limits.DisallowedType {
					kind = notify.KindDisallowedType
					demand.Scope = scopeType + in.Type
				} else {
					demand.Scope, demand.Rank, demand.Cutoff = string(v.Kind), ranks[in.ID], cutoffs[v.Kind]
				}
			}
			if in.Template != "" && p.Template(in.Template) == nil {
				// The project still exists: its team owns the instance and is
				// told, under its own mode (stop-only stops, never terminates).
				demand = &lifecycle.Demand{Action: lifecycle.ActionTerminate, Reason: fmt.Sprintf("template %s was removed from %s", in.Template, p.File),
					Grace: time.Duration(admin.Safety.OrphanGrace), Scope: scopeOrphan + ":" + in.Template}
				kind = notify.KindOrphan
				policy = orphanPolicy(admin, &policy)
			}
			var expiresAt time.Time
			for _, e := range p.Extensions {
				if e.Instance == in.ID {
					expiresAt = e.Until.UTC().Truncate(time.Second)
				}
			}
			visit(decide(in, policy, demand, kind, channel, expiresAt, now))
		}
	}
}

// The scopes of the demands whose notices are one value per project, stage
// and run (lifecycle.Demand.Scope): every instance of a removed project
// ("orphan"), of a removed template ("orphan:<template>"), and every running
// instance of a disallowed type ("type:<type>") is under the demand at
// once. Over-quota demands are scoped by their kind ("over-count",
// "over-vcpus") and ranked (limits.Rank): the newest are chosen, and a
// notice records the rank of the last one chosen.
const (
	scopeOrphan = "orphan"
	scopeType   = "type:"
)

// evaluateFrozen decides the instances of a frozen project (invariant 5): its
// team is still warned, by what of its file can be read (or the admins, when
// its channel cannot be), but in notify-only mode, so that nothing of it is
// stopped or terminated until the file validates. Quotas and orphans wait
// for a valid file too.
func evaluateFrozen(cfg *projects.Config, name string, insts []observed, now time.Time, visit func(evaluation)) {
	fp := cfg.FrozenParts[name]
	p := &projects.Project{Name: name, Lifecycle: fp.Lifecycle}
	if p.Lifecycle.TTL == 0 {
		p.Lifecycle = cfg.Admin.Defaults.Lifecycle // not loaded by projects.Load (tests)
	}
	policy := Policy(cfg.Admin, p)
	policy.Mode = lifecycle.ModeNotifyOnly
	channel := cmp.Or(fp.SlackChannel, cfg.Admin.Slack.AdminChannel)
	file := cmp.Or(fp.File, "projects/"+name+".toml")
	for _, in := range insts {
		ev := decide(in, policy, nil, notify.KindExpiring, channel, time.Time{}, now)
		if ev.decision.Stage != lifecycle.ActionKeep {
			ev.decision.Reason += fmt.Sprintf("; not before %s validates again (frozen by config problems)", file)
		}
		visit(ev)
	}
}

// decide runs lifecycle.Decide for one instance. extension is the expiry
// an [[extensions]] entry sets (zero for none). The instance's state
// (keep, expiry, notice, protection) is what cloud verified: a forged or
// unsigned value never reaches here.
func decide(in observed, policy lifecycle.Policy, demand *lifecycle.Demand, kind notify.Kind, channel string, extension, now time.Time) evaluation {
	li := lifecycle.Instance{
		ID:        in.ID,
		Project:   in.Project,
		State:     in.State,
		BornAt:    in.BornAt,
		StoppedAt: in.StoppedAt,
		StartedAt: in.LaunchTime, // reset by every start: a restarted instance is warned afresh
		KeepUntil: in.KeepUntil,
		ExpiresAt: in.ExpiresAt,
		Demand:    demand,
	}
	ev := evaluation{in: in, channel: channel}
	if !extension.IsZero() && !extension.Equal(in.ExpiresAt) {
		ev.expiresAt = extension.Format(time.RFC3339)
		li.ExpiresAt = extension
	}

	last, err := lifecycle.ParseNotice(in.Notice)
	if err != nil {
		// Signed by us, yet unreadable: written by an older or newer release.
		ev.warning = fmt.Sprintf("%s: ignoring unreadable %s value %q", in.ID, cloud.TagNotice, in.Notice)
		last = lifecycle.Notice{}
	}
	ev.notice = last
	ev.decision = lifecycle.Decide(li, policy, last, now)
	ev.expiry = lifecycle.Expiry(li, policy)
	ev.kind = kind
	if demand == nil || ev.decision.Reason != demand.Reason {
		ev.kind = notify.KindExpiring // the age-based stage won over the demand
	}
	ev.protected = holdProtected(&ev, in.Protected, now)
	return ev
}

// parseTime parses an RFC 3339 value; zero if empty or malformed.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{} // most instances: no tag, and no error to build
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// capDestructive holds back the stops and terminations beyond the admin's
// per-run cap (invariant 4): the oldest deadlines go first, the rest wait.
// Held changes keep nothing to deliver and tell admins.
func capDestructive(plan *RunPlan) {
	type ref struct{ region, index int }
	var refs []ref
	for i, rp := range plan.Regions {
		for j, c := range rp.Instances {
			if c.Destructive() {
				refs = append(refs, ref{i, j})
			}
		}
	}
	max := plan.MaxDestructive
	if len(refs) <= max {
		return
	}
	at := func(r ref) *InstanceChange { return &plan.Regions[r.region].Instances[r.index] }
	slices.SortFunc(refs, func(a, b ref) int {
		ca, cb := at(a), at(b)
		return cmp.Or(ca.Deadline.Compare(cb.Deadline), cmp.Compare(ca.ID, cb.ID))
	})
	for _, r := range refs[max:] {
		c := at(r)
		plan.Held = append(plan.Held, *c)
		c.Action = lifecycle.ActionKeep
		c.Kind = ""
		c.Held = true
	}
	plan.Notices = append(plan.Notices, notify.Notice{
		Kind: notify.KindSafety, Channel: plan.AdminChannel,
		Reason: fmt.Sprintf("this run would stop or terminate %d instances; the cap is %d per run: %d held back", len(refs), max, len(refs)-max),
		Detail: "raise safety.max_destructive_per_run in launchwarden.toml if this is expected; held instances are handled by later runs",
	})
}

// planNotices turns the plan's instance and template changes into notices.
func planNotices(plan *RunPlan, cfg *projects.Config) {
	n := len(plan.Notices)
	for _, rp := range plan.Regions {
		n += len(rp.Instances) + len(rp.Templates)
	}
	plan.Notices = slices.Grow(plan.Notices, n-len(plan.Notices))
	for _, rp := range plan.Regions {
		for _, c := range rp.Instances {
			n := notify.Notice{
				Kind: c.Kind, Channel: c.Channel, Project: c.Project, Account: rp.Account, Region: rp.Region,
				InstanceID: c.ID, Template: c.Template, InstanceType: c.Type,
				Action: string(c.Stage), Deadline: c.Deadline, Reason: c.Reason,
			}
			switch c.Action {
			case lifecycle.ActionNotify:
			case lifecycle.ActionStop:
				n.Kind = notify.KindStopped
				n.TerminateAt = c.ThenDeadline
			case lifecycle.ActionTerminate:
				n.Kind = notify.KindTerminated
			default:
				continue
			}
			plan.Notices = append(plan.Notices, n)
		}
	}

	orphanSummary(plan)

	// One notice per template change, naming every region it happens in.
	type change struct{ project, template, name, op, reason string }
	var order []change
	regions := map[change][]string{}
	for _, rp := range plan.Regions {
		for _, t := range rp.Templates {
			c := change{t.Project, t.Template, t.Name, t.Op, t.Reason}
			if regions[c] == nil {
				order = append(order, c)
			}
			regions[c] = append(regions[c], rp.Region)
		}
	}
	for _, c := range order {
		p := cfg.Project(c.project)
		if p == nil {
			continue // the project left the config: nobody to tell but the admins, in the plan
		}
		plan.Notices = append(plan.Notices, notify.Notice{
			Kind: notify.KindTemplateChanged, Channel: p.SlackChannel, Project: c.project,
			Template: c.template, Action: c.op, Reason: c.reason,
			Detail: c.name + " in " + strings.Join(slices.Compact(regions[c]), ", "),
		})
	}
}

// orphanSummary adds, for admins, one line per removed template whose
// orphans this run announces to their team: who was told what.
func orphanSummary(plan *RunPlan) {
	type key struct{ project, template, channel, stage string }
	var order []key
	count := map[key]int{}
	for _, rp := range plan.Regions {
		for _, c := range rp.Instances {
			if c.Kind != notify.KindOrphan || c.Action != lifecycle.ActionNotify || c.Channel == plan.AdminChannel {
				continue
			}
			k := key{c.Project, c.Template, c.Channel, string(c.Stage)}
			if count[k] == 0 {
				order = append(order, k)
			}
			count[k]++
		}
	}
	for _, k := range order {
		plan.Notices = append(plan.Notices, notify.Notice{
			Kind: notify.KindOrphan, Channel: plan.AdminChannel, Project: k.project, Template: k.template,
			Reason: fmt.Sprintf("template removed from the config: %d instance(s) announced to %s (%s after the orphan grace)", count[k], k.channel, k.stage),
		})
	}
}
