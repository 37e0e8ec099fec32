package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/lifecycle"
	"github.com/launchwarden/launchwarden/notify"
)

// ErrPlanOnly is returned by Apply for a plan made while the admin's kill
// switch (safety.enforce = false) is on.
var ErrPlanOnly = errors.New("safety.enforce is false: plan only, nothing applied")

// Deps are what Apply works with.
type Deps struct {
	// Clients hold one client per account and region of the plan.
	Clients []*cloud.Client
	Sender  notify.Sender
	Logger  *slog.Logger
}

// Report is what Apply did.
type Report struct {
	// Deliveries are the digests sent, team digests first, then the admin's.
	Deliveries []notify.Result
	// Stopped and Terminated list the instances acted on.
	Stopped, Terminated []string
	// Held counts stops and terminations held back by the per-run cap.
	Held int
	// Withheld counts stops and terminations not made because the digest
	// naming them was not delivered (invariant 2). With notifications
	// turned off on purpose (notify.ErrNotSent) they are not counted.
	Withheld int
	// Frozen names the projects frozen by problems in their file.
	Frozen []string
	// HeldTemplates counts the templates the plan left unwritten in some
	// region (RunPlan.HeldTemplates).
	HeldTemplates int
	// Errors are the failures of single operations; the run went on past them.
	Errors []error
}

// Err joins the report's errors.
func (r *Report) Err() error { return errors.Join(r.Errors...) }

// Undelivered returns the digests, team or admin, that were not delivered,
// leaving out those not sent because notifications are off.
func (r *Report) Undelivered() []notify.Result {
	var out []notify.Result
	for _, res := range r.Deliveries {
		if res.Err != nil && !errors.Is(res.Err, notify.ErrNotSent) {
			out = append(out, res)
		}
	}
	return out
}

// Problems lists, in words, what went wrong in the run: digests not
// delivered, actions withheld for that reason, frozen projects, templates
// left unwritten and failed operations. Empty means the run did all it planned (held actions aside,
// which Held counts). Each is a reason for `run` to exit non-zero
// (invariant 7).
func (r *Report) Problems() []string {
	var out []string
	if n := len(r.Undelivered()); n > 0 {
		out = append(out, fmt.Sprintf("%d digest(s) not delivered", n))
	}
	if r.Withheld > 0 {
		out = append(out, fmt.Sprintf("%d stop/terminate action(s) withheld: their digest was not delivered", r.Withheld))
	}
	if len(r.Frozen) > 0 {
		out = append(out, fmt.Sprintf("project(s) frozen by config problems: %s", strings.Join(r.Frozen, ", ")))
	}
	if r.HeldTemplates > 0 {
		out = append(out, fmt.Sprintf("%d template(s) not written in some region: see the plan", r.HeldTemplates))
	}
	if len(r.Errors) > 0 {
		out = append(out, fmt.Sprintf("%d operation(s) failed", len(r.Errors)))
	}
	return out
}

type reporter struct {
	mu  sync.Mutex
	rep *Report
	log *slog.Logger
}

func (r *reporter) fail(err error) {
	r.log.Warn("operation failed", "err", err)
	r.mu.Lock()
	r.rep.Errors = append(r.rep.Errors, err)
	r.mu.Unlock()
}

// Apply carries out a plan, in the order the package comment gives. It keeps
// going past a failed operation and reports it; the next run retries.
func Apply(ctx context.Context, plan *RunPlan, deps Deps) (*Report, error) {
	if !plan.Enforce {
		return nil, ErrPlanOnly
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("run", plan.RunID)
	rep := &Report{Held: len(plan.Held), Frozen: slices.Clone(plan.Frozen), HeldTemplates: len(plan.HeldTemplates)}
	r := &reporter{rep: rep, log: log}

	clients := map[string]*cloud.Client{}
	for _, c := range deps.Clients {
		clients[regionKey(c.Account, c.Region)] = c
	}
	for _, rp := range plan.Regions {
		if clients[regionKey(rp.Account, rp.Region)] == nil {
			return nil, fmt.Errorf("no client for %s/%s", rp.Account, rp.Region)
		}
	}
	eachRegion := func(step func(*cloud.Client, *RegionPlan)) {
		var wg sync.WaitGroup
		for _, rp := range plan.Regions {
			if rp.Empty() {
				continue
			}
			wg.Go(func() { step(clients[regionKey(rp.Account, rp.Region)], rp) })
		}
		wg.Wait()
	}

	// 1–3: groups, templates, tags that need no notice.
	eachRegion(func(c *cloud.Client, rp *RegionPlan) {
		applyGroupsAndTemplates(ctx, c, rp, r)
		applyQuietTags(ctx, c, rp, r)
	})

	// 4–5: digests; the admin's last, so it can name undelivered ones.
	delivered := deliver(ctx, plan, deps.Sender, rep, log)
	if plan.frozenBare != nil && delivered[plan.AdminChannel] {
		plan.memory.remember(*plan.frozenBare)
	}

	// 6–7: record delivered notices (and what admins were told), then act
	// on delivered instances only.
	eachRegion(func(c *cloud.Client, rp *RegionPlan) {
		applyNotices(ctx, c, rp, delivered, plan.AdminChannel, r)
		applyActions(ctx, c, rp, delivered, plan.Now, r)
	})

	// 8: deletions, last, once nothing refers to the deleted.
	eachRegion(func(c *cloud.Client, rp *RegionPlan) {
		applyDeletions(ctx, c, rp, r)
	})
	slices.Sort(rep.Stopped)
	slices.Sort(rep.Terminated)
	return rep, nil
}

func managedTags(project, template string) map[string]string {
	return map[string]string{cloud.TagManaged: "true", cloud.TagProject: project, cloud.TagTemplate: template}
}

// applyGroupsAndTemplates creates groups and reconciles their rules, and
// writes templates, each template right after its own group (they share a
// name), whose id a new template needs. Taking them project by project
// rather than all groups first draws on the buckets of CreateSecurityGroup,
// AuthorizeSecurityGroupIngress and the template actions in turn, which EC2
// meters apart and refills side by side, so a first run waits for tokens
// far less than one action's calls in a row would.
func applyGroupsAndTemplates(ctx context.Context, c *cloud.Client, rp *RegionPlan, r *reporter) {
	created := map[string]string{}
	pending := map[string][]GroupChange{}
	for _, g := range rp.Groups {
		pending[g.Name] = append(pending[g.Name], g)
	}
	for _, t := range rp.Templates {
		for _, g := range pending[t.Name] {
			applyGroup(ctx, c, g, created, r)
		}
		delete(pending, t.Name)
		applyTemplate(ctx, c, t, created, r)
	}
	for _, g := range rp.Groups {
		if _, ok := pending[g.Name]; ok {
			applyGroup(ctx, c, g, created, r)
		}
	}
	applyTemplateTags(ctx, c, rp.TemplateTags, r)
}

// applyGroup creates a group or reconciles its rules, and records the id of
// a group it created in created, by name.
func applyGroup(ctx context.Context, c *cloud.Client, g GroupChange, created map[string]string, r *reporter) {
	var err error
	switch g.Op {
	case OpCreate:
		var id string
		tags := managedTags(g.Project, g.Template)
		maps.Copy(tags, g.Tags)
		id, err = c.CreateSecurityGroup(ctx, g.Name, g.VPCID, "launchwarden: SSH access for launch template "+g.Name, tags)
		if err == nil {
			created[g.Name] = id
			r.log.Info("created security group", "region", c.Region, "group", g.Name, "id", id)
			if len(g.Rules) > 0 {
				err = c.AuthorizeIngress(ctx, id, g.Rules)
			}
		}
	case OpAuthorize:
		err = c.AuthorizeIngress(ctx, g.ID, g.Rules)
	case OpRevoke:
		err = c.RevokeIngress(ctx, g.ID, g.Rules)
	case OpDelete:
		return // step 8
	}
	if err != nil {
		r.fail(fmt.Errorf("security group %s (%s): %w", g.Name, g.Op, err))
	}
}

// applyTemplate writes a template change; a new template gets the id of
// the group created for it (groupIDs, by name).
func applyTemplate(ctx context.Context, c *cloud.Client, t TemplateChange, groupIDs map[string]string, r *reporter) {
	if t.Op == OpDelete {
		return // step 8
	}
	if t.Op == OpRestoreDefault {
		if err := c.SetDefaultVersion(ctx, t.ID, t.Version); err != nil {
			r.fail(fmt.Errorf("launch template %s: restoring default version %d: %w", t.Name, t.Version, err))
		} else {
			r.log.Info("restored default template version", "region", c.Region, "template", t.Name, "version", t.Version)
		}
		return
	}
	data := *t.Data
	spec := t.Spec
	if len(data.SecurityGroupIDs) == 0 {
		id := groupIDs[t.Name]
		if id == "" {
			r.fail(fmt.Errorf("launch template %s: not written: its security group could not be created", t.Name))
			return
		}
		data.SecurityGroupIDs = []string{id}
		spec = SpecHash(data)
	}
	switch t.Op {
	case OpCreate:
		if _, err := c.CreateTemplate(ctx, t.Name, data, createTags(t, spec)); err != nil {
			r.fail(fmt.Errorf("launch template %s: %w", t.Name, err))
			return
		}
		r.log.Info("created launch template", "region", c.Region, "template", t.Name, "spec", spec, "launch_closed", t.LaunchClosed)
	case OpUpdate:
		// Version, default, then tags: killed in between, the next run
		// sees the old spec tag and writes one more version. Converges.
		v, err := c.CreateTemplateVersion(ctx, t.ID, data)
		if err == nil {
			err = c.SetDefaultVersion(ctx, t.ID, v)
		}
		if err == nil {
			tags := map[string]string{cloud.TagSpec: spec, TagVersion: strconv.FormatInt(v, 10)}
			if t.Image != "" {
				tags[TagImage] = t.Image
			}
			err = c.TagTemplate(ctx, t.ID, t.Name, tags)
		}
		if err != nil {
			r.fail(fmt.Errorf("launch template %s: new version: %w", t.Name, err))
			return
		}
		r.log.Info("updated launch template", "region", c.Region, "template", t.Name, "version", v, "spec", spec)
	}
}

// createTags are the tags a created template gets in CreateLaunchTemplate
// itself (cloud.CreateTemplate signs the markers among them): its labels,
// the spec it was written from (spec), version 1, its image and channel,
// and, when its project is at quota, the launch tags that close it from its
// first moment (admission.go).
func createTags(t TemplateChange, spec string) map[string]string {
	tags := managedTags(t.Project, t.Template)
	tags[cloud.TagSpec] = spec
	tags[TagVersion] = "1"
	if t.Image != "" {
		tags[TagImage] = t.Image
	}
	if t.Channel != "" {
		tags[TagChannel] = t.Channel
	}
	if t.LaunchClosed != "" {
		tags[TagLaunch], tags[TagLaunchReason] = LaunchClosed, t.LaunchClosed
	}
	return tags
}

// applyTemplateTags sets (signing markers) and removes tags on launch
// templates and security groups, one resource at a time (each change names
// its own).
func applyTemplateTags(ctx context.Context, c *cloud.Client, changes []TagChange, r *reporter) {
	for _, tc := range changes {
		kind, tag := "launch template", c.TagTemplate
		if tc.Group {
			kind, tag = "security group", c.TagGroup
		}
		if len(tc.Set) > 0 {
			if err := tag(ctx, tc.ID, tc.Name, tc.Set); err != nil {
				r.fail(fmt.Errorf("tagging %s %s: %w", kind, tc.ID, err))
			}
		}
		if len(tc.Delete) > 0 {
			if err := c.DeleteTags(ctx, []string{tc.ID}, tc.Delete).Failed[tc.ID]; err != nil {
				r.fail(fmt.Errorf("untagging %s %s: %w", kind, tc.ID, err))
			}
		}
	}
}

// applyQuietTags writes extension expiries (signed) and the project and
// template labels of owned instances, and removes obsolete notices.
func applyQuietTags(ctx context.Context, c *cloud.Client, rp *RegionPlan, r *reporter) {
	set := map[string]map[string]string{}
	labels := map[string]map[string]string{}
	var clear []string
	for _, ic := range rp.Instances {
		if ic.ExpiresAt != "" {
			set[ic.ID] = map[string]string{cloud.TagExpiresAt: ic.ExpiresAt}
		}
		if ic.Label {
			labels[ic.ID] = map[string]string{cloud.TagProject: ic.Project, cloud.TagTemplate: ic.Template}
		}
		if ic.ClearNotice {
			clear = append(clear, ic.ID)
		}
	}
	if len(set) > 0 {
		reportBatch(r, "setting expiry", c.WriteState(ctx, set))
	}
	if len(labels) > 0 {
		reportBatch(r, "labelling", c.ApplyTags(ctx, labels))
	}
	if len(clear) > 0 {
		reportBatch(r, "clearing notice", c.DeleteTags(ctx, clear, []string{cloud.TagNotice}))
	}
}

func reportBatch(r *reporter, what string, res cloud.BatchResult) {
	for _, id := range slices.Sorted(maps.Keys(res.Failed)) {
		r.fail(fmt.Errorf("%s of %s: %w", what, id, res.Failed[id]))
	}
}

// deliver sends the digests and returns, by channel, whether each got its
// digest: true delivered, false not, and no entry when notifications are
// off (notify.ErrNotSent). Either way nothing of that channel is acted on.
func deliver(ctx context.Context, plan *RunPlan, s notify.Sender, rep *Report, log *slog.Logger) map[string]bool {
	if s == nil {
		s = notify.Discard{}
	}
	digests := notify.Group(plan.RunID, plan.Now, plan.Notices, plan.Usage)
	for i := range digests {
		digests[i].StatusURL = plan.StatusURL
	}
	var team []notify.Digest
	var admin *notify.Digest
	for i := range digests {
		if digests[i].Channel == plan.AdminChannel && plan.AdminChannel != "" {
			admin = &digests[i]
			continue
		}
		digests[i].ExtendBy = plan.ExtendBy
		team = append(team, digests[i])
	}
	results := notify.Deliver(ctx, s, team)
	if undelivered := notify.Undelivered(results, plan.AdminChannel); len(undelivered) > 0 && plan.AdminChannel != "" {
		if admin == nil {
			admin = &notify.Digest{Channel: plan.AdminChannel, RunID: plan.RunID, Now: plan.Now, StatusURL: plan.StatusURL}
		}
		admin.Notices = append(admin.Notices, undelivered...)
	}
	if admin != nil {
		results = append(results, notify.Deliver(ctx, s, []notify.Digest{*admin})...)
	}
	delivered := map[string]bool{}
	for _, res := range results {
		if errors.Is(res.Err, notify.ErrNotSent) {
			continue
		}
		delivered[res.Digest.Channel] = res.Err == nil
		if res.Err != nil {
			log.Warn("digest not delivered", "channel", res.Digest.Channel, "notices", len(res.Digest.Notices), "permanent", notify.IsPermanent(res.Err), "err", res.Err)
			continue
		}
		log.Info("digest delivered", "channel", res.Digest.Channel, "notices", len(res.Digest.Notices))
	}
	rep.Deliveries = results
	return delivered
}

// applyNotices records delivered notices in launchwarden:notice (grouped by
// value: one CreateTags call per distinct notice, i.e. per project and stage
// of the run), and, once the admin digest got through, marks termination
// protections and Extend buttons' extensions as reported, removes the forged state tags it reported and
// records the strays it reported.
func applyNotices(ctx context.Context, c *cloud.Client, rp *RegionPlan, delivered map[string]bool, adminChannel string, r *reporter) {
	if delivered[adminChannel] {
		forged := map[string][]string{}
		for _, ic := range rp.Instances {
			for _, k := range ic.Forged {
				if ic.writes(k) {
					continue // overwritten with a signed value by this run
				}
				forged[k] = append(forged[k], ic.ID)
			}
		}
		for _, k := range sortedKeys(forged) {
			reportBatch(r, "removing forged "+k, c.DeleteTags(ctx, forged[k], []string{k}))
		}
		applyTemplateTags(ctx, c, rp.AfterAdmin, r)
	}
	set := map[string]map[string]string{}
	for _, ic := range rp.Instances {
		if ic.Action == lifecycle.ActionNotify && ic.Notice != "" && delivered[ic.Channel] {
			set[ic.ID] = map[string]string{cloud.TagNotice: ic.Notice}
		}
		for k, v := range map[string]string{cloud.TagProtected: ic.Protected, cloud.TagExtended: ic.Extended} {
			if v == "" || !delivered[adminChannel] {
				continue
			}
			if set[ic.ID] == nil {
				set[ic.ID] = map[string]string{}
			}
			set[ic.ID][k] = v
		}
	}
	if len(set) > 0 {
		reportBatch(r, "recording notice", c.WriteState(ctx, set))
	}
}

// applyActions stops and terminates the instances whose digest of this run
// was delivered. The plan already names only instances whose earlier notice
// was delivered at least min_notice ago.
func applyActions(ctx context.Context, c *cloud.Client, rp *RegionPlan, delivered map[string]bool, now time.Time, r *reporter) {
	var stop, terminate []string
	for _, ic := range rp.Instances {
		if !ic.Destructive() {
			continue
		}
		if ok, sent := delivered[ic.Channel]; !ok {
			r.log.Info("not acting: digest not delivered", "instance", ic.ID, "project", ic.Project, "action", ic.Action)
			if sent {
				r.mu.Lock()
				r.rep.Withheld++
				r.mu.Unlock()
			}
			continue
		}
		if ic.Action == lifecycle.ActionStop {
			stop = append(stop, ic.ID)
		} else {
			terminate = append(terminate, ic.ID)
		}
	}
	act := func(what string, ids []string, call func(context.Context, []string) cloud.BatchResult, done *[]string) []string {
		if len(ids) == 0 {
			return nil
		}
		res := call(ctx, ids)
		for _, id := range res.Done {
			r.log.Info(what+" instance", "region", c.Region, "instance", id)
		}
		r.mu.Lock()
		*done = append(*done, res.Done...)
		r.mu.Unlock()
		protected := map[string]map[string]string{}
		for _, id := range slices.Sorted(maps.Keys(res.Failed)) {
			err := res.Failed[id]
			if cloud.IsTerminationProtected(err) {
				// Respected: recorded, so that later runs leave the instance
				// alone for a while and tell the admins once.
				protected[id] = map[string]string{cloud.TagProtected: now.UTC().Format(time.RFC3339)}
				r.log.Warn("termination protection is on: not terminated", "region", c.Region, "instance", id)
				continue
			}
			r.fail(fmt.Errorf("%s %s: %w", what, id, err))
		}
		if len(protected) > 0 {
			reportBatch(r, "recording termination protection", c.WriteState(ctx, protected))
		}
		return res.Done
	}
	// Stops and terminations go side by side, each action's calls in
	// order: EC2 meters the instances of each in a resource bucket of its
	// own (ec2rate.ResourceBucket), so past its first 1,000 instances each
	// waits only for its own bucket, not behind the other's.
	var stopped []string
	var wg sync.WaitGroup
	wg.Go(func() { stopped = act("stopped", stop, c.StopInstances, &r.rep.Stopped) })
	wg.Go(func() { act("terminated", terminate, c.TerminateInstances, &r.rep.Terminated) })
	wg.Wait()

	// The termination the stop's digest announced, recorded on what was
	// stopped, once it was: one value per project of the run, so one call
	// per 1000.
	isStopped := make(map[string]bool, len(stopped))
	for _, id := range stopped {
		isStopped[id] = true
	}
	then := map[string]map[string]string{}
	for _, ic := range rp.Instances {
		if ic.Action == lifecycle.ActionStop && ic.Then != "" && isStopped[ic.ID] {
			then[ic.ID] = map[string]string{cloud.TagNotice: ic.Then}
		}
	}
	if len(then) > 0 {
		reportBatch(r, "recording the termination announced with the stop", c.WriteState(ctx, then))
	}
}

func applyDeletions(ctx context.Context, c *cloud.Client, rp *RegionPlan, r *reporter) {
	for _, t := range rp.Templates {
		if t.Op != OpDelete {
			continue
		}
		if err := c.DeleteTemplate(ctx, t.ID); err != nil && !cloud.IsNotFound(err) {
			r.fail(fmt.Errorf("deleting launch template %s: %w", t.Name, err))
			continue
		}
		r.log.Info("deleted launch template", "region", c.Region, "template", t.Name)
	}
	for _, g := range rp.Groups {
		if g.Op != OpDelete {
			continue
		}
		err := c.DeleteSecurityGroup(ctx, g.ID)
		switch {
		case err == nil || cloud.IsNotFound(err):
			r.log.Info("deleted security group", "region", c.Region, "group", g.Name)
		case cloud.IsDependencyViolation(err):
			// Instances still use it; they go with their orphan grace.
			r.log.Info("security group still in use, trying next run", "region", c.Region, "group", g.Name)
		default:
			r.fail(fmt.Errorf("deleting security group %s: %w", g.Name, err))
		}
	}
}

// writes reports whether the run writes a new value of state tag k on the
// instance: a forged value there needs no removal.
func (c InstanceChange) writes(k string) bool {
	switch k {
	case cloud.TagExpiresAt:
		return c.ExpiresAt != ""
	case cloud.TagNotice:
		return c.Notice != ""
	case cloud.TagProtected:
		return c.Protected != ""
	case cloud.TagExtended:
		return c.Extended != ""
	}
	return false
}
