package statuspage

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

// header is what every page says about the data it shows.
type header struct {
	Title    string
	HasRun   bool
	Observed string // when the run observed the fleet
	Ago      string // how long before the page view
	RunID    string
	Result   string
	Enforce  bool
	Stale    bool
	// Later is set when a run after the shown one recorded nothing (it
	// aborted): what happened to it.
	Later string
}

// bar is a usage against a limit; Max 0 is no limit.
type bar struct {
	Label     string
	Used, Max int
	Over      bool
	Text      string
}

// deadline is the next thing that happens to an instance.
type deadline struct {
	At, In   string
	Action   string
	Project  string
	Instance string
	Soon     bool
	at       time.Time
}

type projectRow struct {
	Name      string
	URL       string
	Running   int
	Stopped   int
	Instances bar
	VCPUs     bar
	HasUsage  bool
	Templates []templateLaunch
	Next      *deadline
	Frozen    bool
	Orphaned  bool
}

type frozenRow struct {
	Name     string
	URL      string
	Problems []string
}

type overviewPage struct {
	header
	Projects  []projectRow
	Deadlines []deadline
	Frozen    []frozenRow
}

type instanceRow struct {
	ID, Template, Type, State string
	Region, Account           string
	Age                       string
	Expiry, ExpiryIn          string
	Next, NextAt, NextIn      string
	Notice                    string
	Extension                 string
	Reason                    string
	Soon                      bool
}

type templateRow struct {
	Name     string
	AWSName  string
	Image    string
	Type     string
	Volume   string
	Regions  []string
	SSHFrom  []string
	Keys     []string
	KeysFrom string
	// Launches is "open", or "closed: <reason>" while the launch guard
	// refuses launches from it.
	Launches string
	Closed   bool
}

type limitRow struct {
	Name, Value, From, Detail string
}

type projectPage struct {
	header
	Name      string
	InConfig  bool
	Frozen    []string
	Orphaned  bool
	File      string
	Channel   string
	Owners    []string
	Instances bar
	VCPUs     bar
	HasUsage  bool
	Rows      []instanceRow
	Templates []templateRow
	Gone      []string // launch templates whose entry left the config
	Limits    []limitRow
	Lifecycle []limitRow
	Actions   []actionRow
}

type actionRow struct {
	At, RunID, Text string
}

// maxDeadlines is how many deadlines the overview lists.
const maxDeadlines = 12

// soon is how close a deadline is highlighted.
const soon = 24 * time.Hour

func projectURL(name string) string { return "/projects/" + url.PathEscape(name) }

func headerOf(title string, r *Run, a attempt, now time.Time) header {
	h := header{Title: title}
	if r == nil {
		if a.result != "" {
			h.Later = fmt.Sprintf("run %s at %s: %s", a.id, notify.FormatTime(a.at), a.result)
		}
		return h
	}
	p := r.Plan
	h.HasRun, h.RunID, h.Result, h.Enforce, h.Stale = true, p.RunID, r.Result, p.Enforce, r.Stale
	h.Observed, h.Ago = notify.FormatTime(p.Now), notify.Relative(now, p.Now)
	if a.id != p.RunID {
		h.Later = fmt.Sprintf("run %s at %s: %s", a.id, notify.FormatTime(a.at), a.result)
	}
	return h
}

func usageBars(u notify.Usage) (instances, vcpus bar) {
	mk := func(label string, used, limit int) bar {
		b := bar{Label: label, Used: used, Max: limit, Over: limit > 0 && used > limit}
		switch {
		case limit == 0:
			b.Text = fmt.Sprintf("%d %s, no limit", used, label)
		case b.Over:
			b.Text = fmt.Sprintf("%d of %d %s: over", used, limit, label)
		default:
			b.Text = fmt.Sprintf("%d of %d %s", used, limit, label)
		}
		return b
	}
	return mk("instances", u.Instances, u.MaxInstances), mk("vCPUs", u.VCPUs, u.MaxVCPUs)
}

// deadlineOf is what happens next to an instance, or nil.
func deadlineOf(in reconcile.InstanceStatus, observed, now time.Time) *deadline {
	if in.Next == "" {
		return nil
	}
	at := in.NextAt
	if at.IsZero() {
		at = observed // "stop now": at the run
	}
	return &deadline{
		At: notify.FormatTime(at), In: notify.Relative(now, at), Action: in.Next,
		Project: in.Project, Instance: in.ID, Soon: at.Sub(now) < soon, at: at,
	}
}

// projectNames lists every project the pages know: valid, frozen, and
// those only instances still name.
func projectNames(cfg *projects.Config, st *reconcile.Status) []string {
	var names []string
	for _, p := range cfg.Projects {
		names = append(names, p.Name)
	}
	for name := range cfg.Frozen {
		names = append(names, name)
	}
	for _, in := range st.Instances {
		names = append(names, in.Project)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (s *Store) overview(now time.Time) overviewPage {
	r, st, a, _ := s.snapshot("")
	page := overviewPage{header: headerOf("launchwarden status", r, a, now)}
	if r == nil {
		return page
	}
	cfg, obs := r.Config, r.Plan.Now
	closed := launchesClosed(r)
	byProject := map[string][]reconcile.InstanceStatus{}
	for _, in := range st.Instances {
		byProject[in.Project] = append(byProject[in.Project], in)
	}
	for _, name := range projectNames(cfg, st) {
		row := projectRow{Name: name, URL: projectURL(name)}
		if u, ok := st.Usage[name]; ok {
			row.Instances, row.VCPUs = usageBars(u)
			row.HasUsage = true
		}
		if p := cfg.Project(name); p != nil {
			var names []string
			for _, t := range p.Templates {
				names = append(names, t.Name)
			}
			row.Templates = templateLaunches(closed, name, names)
		} else if ps, frozen := cfg.Frozen[name]; frozen {
			row.Frozen = true
			fr := frozenRow{Name: name, URL: row.URL}
			for _, p := range ps {
				fr.Problems = append(fr.Problems, p.String())
			}
			page.Frozen = append(page.Frozen, fr)
		} else {
			row.Orphaned = true
		}
		for _, in := range byProject[name] {
			switch in.State {
			case "pending", "running":
				row.Running++
			case "stopping", "stopped":
				row.Stopped++
			}
			if d := deadlineOf(in, obs, now); d != nil {
				if row.Next == nil || d.at.Before(row.Next.at) {
					row.Next = d
				}
				page.Deadlines = append(page.Deadlines, *d)
			}
		}
		page.Projects = append(page.Projects, row)
	}
	slices.SortStableFunc(page.Deadlines, func(a, b deadline) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.Instance, b.Instance))
	})
	if len(page.Deadlines) > maxDeadlines {
		page.Deadlines = page.Deadlines[:maxDeadlines]
	}
	return page
}

// project returns the page of a project, and false when no config entry,
// freeze or instance names it.
func (s *Store) project(name string, now time.Time) (projectPage, bool) {
	r, st, a, actions := s.snapshot(name)
	page := projectPage{header: headerOf(name+" · launchwarden", r, a, now), Name: name}
	if r == nil {
		return page, false
	}
	cfg := r.Config
	if !slices.Contains(projectNames(cfg, st), name) {
		return page, false
	}
	if u, ok := st.Usage[name]; ok {
		page.Instances, page.VCPUs = usageBars(u)
		page.HasUsage = true
	}
	p := cfg.Project(name)
	switch ps, frozen := cfg.Frozen[name]; {
	case p != nil:
		page.InConfig, page.File, page.Channel, page.Owners = true, p.File, p.SlackChannel, p.Owners
	case frozen:
		for _, pr := range ps {
			page.Frozen = append(page.Frozen, pr.String())
		}
	default:
		page.Orphaned = true
	}
	explicit := explicitExpiries(r.Observation, name)
	for _, in := range st.Instances {
		if in.Project == name {
			page.Rows = append(page.Rows, instanceRowOf(in, p, r.Plan.Now, now, explicit[in.ID]))
		}
	}
	page.Templates, page.Gone = templateRows(name, p, r)
	if p != nil {
		page.Limits, page.Lifecycle = limitRows(cfg.Admin, p)
	}
	for _, act := range actions {
		page.Actions = append(page.Actions, actionRow{At: notify.FormatTime(act.At), RunID: act.RunID, Text: act.Text})
	}
	return page, true
}

// instanceRowOf describes an instance observed at observed; explicit says
// where its explicit expiry comes from, "" for none.
func instanceRowOf(in reconcile.InstanceStatus, p *projects.Project, observed, now time.Time, explicit string) instanceRow {
	row := instanceRow{
		ID: in.ID, Template: cmp.Or(in.Template, "-"), Type: in.Type, State: in.State,
		Region: in.Region, Account: in.Account,
		Age:    strings.TrimSuffix(notify.Relative(now, in.BornAt), " ago"),
		Notice: noticeText(in.Notice), Reason: in.Reason, Expiry: "-", Next: "nothing foreseen",
	}
	if !in.Expiry.IsZero() {
		row.Expiry, row.ExpiryIn = notify.FormatTime(in.Expiry), notify.Relative(now, in.Expiry)
	}
	if d := deadlineOf(in, observed, now); d != nil {
		row.Next, row.NextAt, row.NextIn, row.Soon = d.Action, d.At, d.In, d.Soon
	}
	if p != nil {
		for _, e := range p.Extensions {
			if e.Instance == in.ID {
				row.Extension = fmt.Sprintf("until %s: %s", notify.FormatTime(e.Until), e.Reason)
			}
		}
	}
	if row.Extension == "" && explicit != "" {
		row.Extension = explicit
	}
	return row
}

// explicitExpiries says, for the project's instances that carry a verified
// explicit expiry (launchwarden:expires-at), where it comes from: the
// Extend button (its signed launchwarden:extended record) or an admin's
// launchwarden extend.
func explicitExpiries(obs *reconcile.Observation, project string) map[string]string {
	out := map[string]string{}
	for _, snap := range obs.Snapshots {
		for _, in := range snap.Instances {
			if in.Project != project || in.ExpiresAt.IsZero() {
				continue
			}
			out[in.ID] = "explicit expiry set outside the config (launchwarden extend)"
			if e, err := reconcile.ParseExtended(in.Extended); err == nil && e.Until.Equal(in.ExpiresAt) {
				out[in.ID] = fmt.Sprintf("extended by @%s via Slack at %s", e.User, notify.FormatTime(e.At))
			}
		}
	}
	return out
}

// templateRows describes a project's config templates with where they
// exist, and names the launch templates whose entry left the config.
func templateRows(name string, p *projects.Project, r *Run) (rows []templateRow, gone []string) {
	type where struct{ project, template string }
	regions := map[where][]string{}
	for _, snap := range r.Observation.Snapshots {
		for _, t := range snap.Templates {
			if !t.Managed || t.Project != name {
				continue
			}
			w := where{t.Project, t.TemplateName}
			regions[w] = append(regions[w], fmt.Sprintf("%s v%d", snap.Region, t.DefaultVersion))
			if p == nil || p.Template(t.TemplateName) == nil {
				gone = append(gone, fmt.Sprintf("%s in %s/%s", t.Name, snap.Account, snap.Region))
			}
		}
	}
	if r.Report != nil {
		// Created by the run: version 1, as launchesClosed counts them.
		for _, rp := range r.Plan.Regions {
			for _, tc := range rp.Templates {
				if tc.Op == reconcile.OpCreate && tc.Project == name {
					w := where{tc.Project, tc.Template}
					regions[w] = append(regions[w], rp.Region+" v1")
				}
			}
		}
	}
	if p == nil {
		return nil, gone
	}
	closed := launchesClosed(r)
	for _, t := range p.Templates {
		row := templateRow{
			Name: t.Name, AWSName: reconcile.Name(p.Name, t.Name), Image: t.ImageText(), Type: t.InstanceType,
			Volume: "image's size", Regions: regions[where{p.Name, t.Name}], SSHFrom: t.SSHFrom,
			Keys: t.SSHKeysFromGitHub, KeysFrom: "ssh_keys_from_github", Launches: "open",
		}
		switch reason, ok := closed[launchKey{p.Name, t.Name}]; {
		case !ok:
			row.Launches = "not created yet"
		case reason != "":
			row.Launches, row.Closed = "closed: "+reason, true
		}
		if slices.Equal(t.SSHKeysFromGitHub, p.Owners) {
			row.KeysFrom = "the project's owners"
		}
		if t.VolumeGiB > 0 {
			row.Volume = fmt.Sprintf("%d GiB", t.VolumeGiB)
		}
		if len(row.Regions) == 0 {
			row.Regions = []string{"not created yet"}
		}
		rows = append(rows, row)
	}
	return rows, gone
}

// limitRows lists a project's effective limits with where each comes
// from, and its lifecycle.
func limitRows(a *projects.Admin, p *projects.Project) (limits, life []limitRow) {
	eff := reconcile.Limits(a, p)
	caps := a.EffectiveCaps(p.Name)
	g := a.Grants[p.Name]
	req, def := p.RequestedLimits, a.Defaults.Limits
	limits = []limitRow{
		intLimit("max_instances", eff.MaxInstances, req.MaxInstances, def.MaxInstances, a.Caps.MaxInstances, g.MaxInstances),
		intLimit("max_vcpus", eff.MaxVCPUs, req.MaxVCPUs, def.MaxVCPUs, a.Caps.MaxVCPUs, g.MaxVCPUs),
		typesLimit(eff.AllowedTypes, req.AllowedInstanceTypes, def.AllowedInstanceTypes, a.Caps.AllowedInstanceTypes, g.AllowedInstanceTypes),
		capLimit("max_volume_gib", fmt.Sprintf("%d GiB", caps.MaxVolumeGiB), g.MaxVolumeGiB != nil),
		capLimit("max_lifetime", caps.MaxLifetime.String(), g.MaxLifetime != nil),
		capLimit("min_notice", caps.MinNotice.String(), g.MinNotice != nil),
	}
	l := p.Lifecycle
	life = []limitRow{
		{Name: "ttl", Value: l.TTL.String(), Detail: "within caps.max_ttl " + caps.MaxTTL.String()},
		{Name: "warn_before", Value: l.WarnBefore.String()},
		{Name: "on_expiry", Value: l.OnExpiry},
		{Name: "terminate_stopped_after", Value: l.TerminateStoppedAfter.String()},
		{Name: "mode", Value: l.Mode},
	}
	return limits, life
}

func count(n int) string {
	if n == 0 {
		return "no limit"
	}
	return fmt.Sprint(n)
}

func intLimit(name string, eff, req, def, capv int, grant *int) limitRow {
	row := limitRow{Name: name, Value: count(eff)}
	parts := []string{}
	if req != 0 {
		parts = append(parts, "requested "+count(req))
	}
	parts = append(parts, "default "+count(def), "cap "+count(capv))
	if grant != nil {
		parts = append(parts, "grant "+count(*grant))
	}
	switch {
	case req != 0 && eff == req:
		row.From = "request"
	case req == 0 && eff == def:
		row.From = "default"
	case grant != nil && eff == *grant:
		row.From = "grant"
	default:
		row.From = "cap"
	}
	row.Detail = strings.Join(parts, " · ")
	return row
}

func typesLimit(eff, req, def, capv, grant []string) limitRow {
	list := func(l []string) string {
		if len(l) == 0 {
			return "any"
		}
		return strings.Join(l, ", ")
	}
	row := limitRow{Name: "allowed_instance_types", Value: list(eff)}
	var parts []string
	if req != nil {
		parts = append(parts, "requested "+list(req))
	}
	if def != nil {
		parts = append(parts, "default "+list(def))
	}
	parts = append(parts, "cap "+list(capv))
	if grant != nil {
		parts = append(parts, "grant adds "+list(grant))
	}
	switch {
	case req != nil && slices.Equal(eff, req):
		row.From = "request"
	case req == nil && def != nil && slices.Equal(eff, def):
		row.From = "default"
	case req != nil || def != nil:
		row.From = "request within the cap"
	case grant != nil:
		row.From = "cap and grant"
	default:
		row.From = "cap"
	}
	row.Detail = strings.Join(parts, " · ")
	return row
}

func capLimit(name, value string, granted bool) limitRow {
	if granted {
		return limitRow{Name: name, Value: value, From: "grant"}
	}
	return limitRow{Name: name, Value: value, From: "cap"}
}
