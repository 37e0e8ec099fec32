package reconcile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/notify"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile/sshkeys"
	"github.com/launchwarden/launchwarden/reconcile/userdata"
)

// Markers launchwarden keeps on launch templates besides those in cloud;
// like every marker they are signed (see cloud.IsMarker).
const (
	// TagVersion is the template version launchwarden made the default; a
	// default version that differs was changed by hand and is restored.
	TagVersion = cloud.TagVersion
	// TagFrozen is the hash of the config problems last announced for a frozen
	// project, so that a project frozen for the same reasons is announced once.
	TagFrozen = "launchwarden:frozen"
)

// Observation is everything a run reads before it plans: the owned state of
// every account and region, and the SSH keys of the users the config names.
type Observation struct {
	Snapshots []*cloud.Snapshot
	Keys      sshkeys.Result
	// CurrentKeys holds, by launch template ID, the authorized_keys lines of
	// the template's default version. It is read only for templates some of
	// whose users' keys could not be fetched: their keys are kept.
	CurrentKeys map[string][]string
	// Memory is what the process remembers across runs (serve's); nil for
	// a one-shot run. See TagFrozenBare.
	Memory *Memory
}

// RunPlan is what one run will do. It is a plain value: printed by `plan`,
// compared with golden files in tests, and carried out by Apply.
type RunPlan struct {
	// memory and frozenBare: the TagFrozenBare hash Apply remembers once
	// the admin digest is delivered, when AWS had nowhere to record it.
	memory     *Memory
	frozenBare *string

	RunID string    `json:"run_id"`
	Now   time.Time `json:"now"`
	// Enforce is the admin's kill switch: false makes the run plan-only.
	Enforce bool `json:"enforce"`
	// MaxDestructive is the admin's cap on stops plus terminations per run.
	MaxDestructive int    `json:"max_destructive"`
	AdminChannel   string `json:"admin_channel,omitempty"`
	// StatusURL is the status pages' base URL ([web] base_url), which
	// digests link instances to; "" for no links.
	StatusURL string `json:"status_url,omitempty"`
	// ExtendBy is, by project, what the Extend button of its team digest
	// adds (caps.button_extend): set only when the admin file names a Slack
	// signing secret, for serve to check the clicks with, and never for a
	// frozen project (see notify.Digest.ExtendBy). The one-shot run clears
	// it: nothing would answer the clicks.
	ExtendBy map[string]time.Duration `json:"-"`
	Regions  []*RegionPlan            `json:"regions"`
	// Notices are what teams and admins are told before any action.
	Notices []notify.Notice         `json:"notices,omitempty"`
	Usage   map[string]notify.Usage `json:"usage,omitempty"`
	// Held are stops and terminations beyond the admin's per-run cap: not
	// done this run.
	Held []InstanceChange `json:"held,omitempty"`
	// Fleet counts the observed instances by project and state.
	Fleet    map[string]map[string]int `json:"fleet,omitempty"`
	Frozen   []string                  `json:"frozen,omitempty"`
	Warnings []string                  `json:"warnings,omitempty"`
	// Held are templates not written in a region because of problems
	// found against EC2 (no image there, an image the instance type cannot
	// run, a volume smaller than the image's snapshot, no subnet in the
	// zone). The rest of the run goes on; it exits non-zero.
	HeldTemplates []HeldTemplate `json:"held_templates,omitempty"`
}

// HeldTemplate is a template left as it is (or not created) in one region.
type HeldTemplate struct {
	Account  string   `json:"account"`
	Region   string   `json:"region"`
	Project  string   `json:"project"`
	Template string   `json:"template"`
	Problems []string `json:"problems"`
}

// RegionPlan is the plan for one account and region.
type RegionPlan struct {
	Account   string           `json:"account"`
	Region    string           `json:"region"`
	Groups    []GroupChange    `json:"security_groups,omitempty"`
	Templates []TemplateChange `json:"templates,omitempty"`
	Instances []InstanceChange `json:"instances,omitempty"`
	// TemplateTags are bookkeeping tags on templates (TagFrozen) and on
	// security groups (TagHeld).
	TemplateTags []TagChange `json:"template_tags,omitempty"`
	// AfterAdmin are bookkeeping tags on templates written only once the
	// admin digest was delivered (TagStrays).
	AfterAdmin []TagChange `json:"after_admin,omitempty"`
}

// Empty reports whether the region plan changes nothing.
func (r *RegionPlan) Empty() bool {
	return len(r.Groups) == 0 && len(r.Templates) == 0 && len(r.Instances) == 0 && len(r.TemplateTags) == 0 && len(r.AfterAdmin) == 0
}

// Operations on groups and templates.
const (
	OpCreate         = "create"
	OpUpdate         = "update"
	OpRestoreDefault = "restore-default"
	OpDelete         = "delete"
	OpAuthorize      = "authorize"
	OpRevoke         = "revoke"
)

// GroupChange is one change to a security group.
type GroupChange struct {
	Op                string       `json:"op"`
	Project, Template string       `json:"-"`
	Name              string       `json:"name"`
	ID                string       `json:"id,omitempty"`
	VPCID             string       `json:"vpc_id,omitempty"`
	Rules             []cloud.Rule `json:"rules,omitempty"`
	// Tags are set on a created group besides the managed ones (TagHeld).
	Tags map[string]string `json:"tags,omitempty"`
}

// TemplateChange is one change to a launch template.
type TemplateChange struct {
	Op       string `json:"op"`
	Project  string `json:"project"`
	Template string `json:"template"`
	Name     string `json:"name"`
	ID       string `json:"id,omitempty"`
	// Data is the desired template data. When its security group is created
	// by the same run, SecurityGroupIDs is empty and Apply fills it in.
	Data *cloud.TemplateData `json:"data,omitempty"`
	// Spec is the hash of Data; empty when Apply computes it (see Data).
	Spec string `json:"spec,omitempty"`
	// Version is the version restore-default makes the default again.
	Version int64  `json:"version,omitempty"`
	Reason  string `json:"reason"`
	// Image is the image Data launches, by name and id (the TagImage
	// value); ImageGiB its snapshot size, the root volume's size when Data
	// sets none.
	Image    string `json:"image,omitempty"`
	ImageGiB int32  `json:"image_gib,omitempty"`
	// Channel is the TagChannel value a created template is tagged with.
	Channel string `json:"channel,omitempty"`
	// LaunchClosed, on a created template, is the TagLaunchReason it is
	// created with, next to TagLaunch = closed, when its project is at
	// quota (see admission.go); "" creates it open.
	LaunchClosed string `json:"launch_closed,omitempty"`
}

// TagChange sets and deletes tags on one resource.
type TagChange struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Group is true for a security group, false for a launch template:
	// markers are signed for the kind and name of their resource.
	Group  bool              `json:"group,omitempty"`
	Set    map[string]string `json:"set,omitempty"`
	Delete []string          `json:"delete,omitempty"`
}

// SpecHash returns the hash of template data that the launchwarden:spec tag
// holds. Equal data gives an equal hash: encoding/json sorts map keys.
func SpecHash(d cloud.TemplateData) string {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("reconcile: marshalling template data: %v", err)) // plain structs cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Name is the deterministic name of a project template's launch template and
// of its security group.
func Name(project, template string) string { return cloud.ManagedName(project, template) }

// sshRules returns the ingress rules a template's security group must have:
// port 22 from each ssh_from CIDR, and nothing else.
func sshRules(t *projects.Template) []cloud.Rule {
	rules := make([]cloud.Rule, 0, len(t.SSHFrom))
	for _, c := range t.SSHFrom {
		rules = append(rules, cloud.Rule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: c})
	}
	return sortRules(rules)
}

func sortRules(rules []cloud.Rule) []cloud.Rule {
	slices.SortFunc(rules, func(a, b cloud.Rule) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.FromPort, b.FromPort),
			cmp.Compare(a.ToPort, b.ToPort), cmp.Compare(a.CIDR, b.CIDR))
	})
	return slices.Compact(rules)
}

// diffRules returns the rules of want missing from have, and those of have
// not in want.
func diffRules(want, have []cloud.Rule) (add, remove []cloud.Rule) {
	for _, r := range want {
		if !slices.Contains(have, r) {
			add = append(add, r)
		}
	}
	for _, r := range have {
		if !slices.Contains(want, r) {
			remove = append(remove, r)
		}
	}
	return add, remove
}

// templateData is the desired data of a project template's launch template.
func templateData(p *projects.Project, t *projects.Template, pl placement, groupID, userData string) cloud.TemplateData {
	tags := map[string]string{cloud.TagProject: p.Name, cloud.TagTemplate: t.Name}
	for k, v := range t.Tags {
		tags[k] = v
	}
	d := cloud.TemplateData{
		ImageID:            pl.image.ID,
		InstanceType:       t.InstanceType,
		RootDevice:         pl.image.RootDevice,
		SubnetID:           pl.subnetID,
		AvailabilityZone:   pl.zone,
		PublicIP:           pl.publicIP,
		VolumeGiB:          int32(t.VolumeGiB),
		VolumeType:         "gp3",
		Encrypted:          true,
		UserData:           userData,
		HTTPTokensRequired: true,
		HopLimit:           1,
		ShutdownBehavior:   cmp.Or(t.ShutdownBehavior, "stop"),
		TagSpecs: map[string]map[string]string{
			"instance":          tags,
			"volume":            tags,
			"network-interface": tags,
		},
	}
	if groupID != "" {
		d.SecurityGroupIDs = []string{groupID}
	}
	return d
}

// keyUsers returns the GitHub users whose keys go into a template.
func keyUsers(p *projects.Project, t *projects.Template) []string {
	if len(t.SSHKeysFromGitHub) > 0 {
		return t.SSHKeysFromGitHub
	}
	return p.Owners
}

// allKeyUsers returns every GitHub user the config's templates name, sorted.
func allKeyUsers(cfg *projects.Config) []string {
	var users []string
	for _, p := range cfg.Projects {
		for i := range p.Templates {
			users = append(users, keyUsers(p, &p.Templates[i])...)
		}
	}
	slices.Sort(users)
	return slices.Compact(users)
}

// templateKeys returns the authorized_keys lines for a template's users, the
// users whose keys could not be fetched, and those GitHub does not know. For
// the failed ones, the lines the current template version holds for them are
// kept (current may be nil): GitHub being down never removes a key. A user
// GitHub answers 404 for has no keys: a deleted or renamed account keeps no
// access.
func templateKeys(keys sshkeys.Result, users, current []string) (lines, failed, unknown []string) {
	for _, u := range users {
		if err, bad := keys.Failed[u]; bad {
			if errors.Is(err, sshkeys.ErrUserNotFound) {
				unknown = append(unknown, u)
				continue
			}
			failed = append(failed, u)
			suffix := " github:" + u
			for _, l := range current {
				if strings.HasSuffix(l, suffix) {
					lines = append(lines, l)
				}
			}
			continue
		}
		for _, k := range keys.Keys {
			if k.User == u {
				lines = append(lines, k.Line)
			}
		}
	}
	return lines, failed, unknown
}

// regionKey identifies an account and region.
func regionKey(account, region string) string { return account + "/" + region }

// Plan computes what a run does, from the config, what was observed and the
// time. It does no I/O. cfg.Admin must not be nil: a broken admin file
// aborts the run before observation.
func Plan(cfg *projects.Config, obs *Observation, now time.Time, runID string) *RunPlan {
	admin := cfg.Admin
	plan := &RunPlan{
		RunID:          runID,
		Now:            now.UTC(),
		Enforce:        admin.Safety.Enforce,
		MaxDestructive: max(admin.Safety.MaxDestructivePerRun, 0),
		AdminChannel:   admin.Slack.AdminChannel,
		StatusURL:      admin.Web.BaseURL,
		Usage:          map[string]notify.Usage{},
		Fleet:          map[string]map[string]int{},
	}
	for name := range cfg.Frozen {
		plan.Frozen = append(plan.Frozen, name)
	}
	if !admin.Slack.SigningSecret.IsZero() {
		plan.ExtendBy = map[string]time.Duration{}
		for _, p := range cfg.Projects {
			plan.ExtendBy[p.Name] = time.Duration(admin.EffectiveCaps(p.Name).ButtonExtend)
		}
	}
	slices.Sort(plan.Frozen)

	for _, snap := range obs.Snapshots {
		for _, in := range snap.Instances {
			if in.Project == "" {
				continue // not ours
			}
			if plan.Fleet[in.Project] == nil {
				plan.Fleet[in.Project] = map[string]int{}
			}
			plan.Fleet[in.Project][in.State]++
		}
		rp := &RegionPlan{Account: snap.Account, Region: snap.Region}
		planGroupsAndTemplates(plan, rp, cfg, obs, snap)
		plan.Regions = append(plan.Regions, rp)
	}
	planFrozen(plan, cfg, obs)
	planUntrusted(plan, obs)
	planInstances(plan, cfg, obs, now)
	planAdmission(plan, cfg, obs)
	planForgedMarkers(plan, obs)
	capDestructive(plan)
	planNotices(plan, cfg)
	return plan
}

// planGroupsAndTemplates plans the security groups and launch templates of
// one region: every template of every valid project, and the deletion of
// managed ones whose config entry is gone. Frozen projects are left alone.
func planGroupsAndTemplates(plan *RunPlan, rp *RegionPlan, cfg *projects.Config, obs *Observation, snap *cloud.Snapshot) {
	type owner struct{ project, template string }
	groups := map[owner]*cloud.SecurityGroup{}
	for i := range snap.SecurityGroups {
		g := &snap.SecurityGroups[i]
		if g.Managed {
			groups[owner{g.Project, g.TemplateName}] = g
		}
	}
	templates := map[owner]*cloud.Template{}
	for i := range snap.Templates {
		t := &snap.Templates[i]
		if t.Managed {
			templates[owner{t.Project, t.TemplateName}] = t
		}
	}
	var network projects.Network
	if a := adminAccount(cfg.Admin, snap.Account); a != nil {
		network = a.Network(snap.Region)
	}
	vpc := network.VPCID

	wanted := map[owner]bool{}
	for _, p := range cfg.Projects {
		for i := range p.Templates {
			t := &p.Templates[i]
			o := owner{p.Name, t.Name}
			wanted[o] = true
			name := Name(p.Name, t.Name)
			where := fmt.Sprintf("%s/%s %s", snap.Account, snap.Region, name)

			pl, problems := place(p, t, snap, templates[o], network, plan.Now)
			if cur := templates[o]; cur != nil {
				planChannel(rp, cfg.Admin, p, cur)
			}
			held := ""
			if len(problems) > 0 {
				held = hashLines(problems)
			}

			// Security group first: the template refers to it by ID.
			rules := sshRules(t)
			groupID := ""
			if g := groups[o]; g == nil {
				gc := GroupChange{Op: OpCreate, Project: p.Name, Template: t.Name, Name: name, VPCID: vpc, Rules: rules}
				if held != "" {
					gc.Tags = map[string]string{TagHeld: held}
				}
				rp.Groups = append(rp.Groups, gc)
			} else {
				switch {
				case held != "" && g.Tags[TagHeld] != held:
					rp.TemplateTags = append(rp.TemplateTags, TagChange{ID: g.ID, Name: g.Name, Group: true, Set: map[string]string{TagHeld: held}})
				case held == "" && g.Tags[TagHeld] != "":
					rp.TemplateTags = append(rp.TemplateTags, TagChange{ID: g.ID, Name: g.Name, Group: true, Delete: []string{TagHeld}})
				}
				groupID = g.ID
				add, remove := diffRules(rules, sortRules(slices.Clone(g.Ingress)))
				if len(add) > 0 {
					rp.Groups = append(rp.Groups, GroupChange{Op: OpAuthorize, Project: p.Name, Template: t.Name, Name: name, ID: g.ID, Rules: add})
				}
				if len(remove) > 0 {
					rp.Groups = append(rp.Groups, GroupChange{Op: OpRevoke, Project: p.Name, Template: t.Name, Name: name, ID: g.ID, Rules: remove})
				}
			}

			if held != "" {
				g := groups[o]
				plan.HeldTemplates = append(plan.HeldTemplates, HeldTemplate{Account: snap.Account, Region: snap.Region, Project: p.Name, Template: t.Name, Problems: problems})
				if g == nil || g.Tags[TagHeld] != held {
					heldNotices(plan, p, t, snap, problems)
				}
				continue
			}

			cur := templates[o]
			var current []string
			if cur != nil {
				current = obs.CurrentKeys[cur.ID]
			}
			lines, failed, unknown := templateKeys(obs.Keys, keyUsers(p, t), current)
			if len(unknown) > 0 {
				plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: GitHub does not know %s: no keys from them", where, strings.Join(unknown, ", ")))
			}
			if len(failed) > 0 {
				if cur == nil || current == nil {
					plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: not created yet: SSH keys of %s could not be fetched", where, strings.Join(failed, ", ")))
					continue
				}
				plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: kept the current SSH keys of %s: fetching them failed", where, strings.Join(failed, ", ")))
			}
			ud, err := userdata.Render(lines, t.CloudInit)
			if err != nil {
				plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: left unchanged: %v", where, err))
				continue
			}
			data := templateData(p, t, pl, groupID, ud)
			spec := ""
			if groupID != "" {
				spec = SpecHash(data)
			}
			change := TemplateChange{Project: p.Name, Template: t.Name, Name: name, Data: &data, Spec: spec,
				Image: imageTag(pl.image), ImageGiB: pl.image.RootVolumeGiB}
			switch {
			case cur == nil:
				change.Op, change.Reason, change.Channel = OpCreate, "new template", recordedChannel(cfg.Admin, p)
			case groupID == "":
				change.Op, change.ID, change.Reason = OpUpdate, cur.ID, "security group recreated"
			case cur.Spec != spec && pl.previousImage != "":
				change.Op, change.ID = OpUpdate, cur.ID
				change.Reason = fmt.Sprintf("image updated: %s → %s", pl.previousImage, cmp.Or(pl.image.Name, pl.image.ID))
			case cur.Spec != spec:
				change.Op, change.ID, change.Reason = OpUpdate, cur.ID, "spec changed"
			default:
				ours, err := strconv.ParseInt(cur.Tags[TagVersion], 10, 64)
				if err != nil || ours <= 0 || ours > cur.LatestVersion {
					ours = cur.LatestVersion
				}
				if cur.DefaultVersion == ours {
					continue
				}
				change = TemplateChange{Op: OpRestoreDefault, Project: p.Name, Template: t.Name, Name: name, ID: cur.ID, Version: ours,
					Reason: fmt.Sprintf("default version %d was set outside launchwarden; restoring %d", cur.DefaultVersion, ours)}
			}
			rp.Templates = append(rp.Templates, change)
		}
	}

	// Entries that left the config: delete their templates, then their
	// groups. A frozen project's resources stay as they are. A template
	// that launched instances still there stays too: it is what makes them
	// ours (aws:ec2launchtemplate:id), so that as orphans they are told of
	// and terminated after the grace period rather than forgotten.
	inUse := map[string]bool{}
	for _, in := range snap.Instances {
		if in.LaunchTemplateID != "" {
			inUse[in.LaunchTemplateID] = true
		}
	}
	for _, t := range snap.Templates {
		o := owner{t.Project, t.TemplateName}
		if !t.Managed || wanted[o] || cfg.Frozen[t.Project] != nil || inUse[t.ID] {
			continue
		}
		rp.Templates = append(rp.Templates, TemplateChange{Op: OpDelete, Project: t.Project, Template: t.TemplateName, Name: t.Name, ID: t.ID, Reason: "no longer in the config"})
	}
	for _, g := range snap.SecurityGroups {
		o := owner{g.Project, g.TemplateName}
		if !g.Managed || wanted[o] || cfg.Frozen[g.Project] != nil {
			continue
		}
		rp.Groups = append(rp.Groups, GroupChange{Op: OpDelete, Project: g.Project, Template: g.TemplateName, Name: g.Name, ID: g.ID})
	}
}

// heldNotices tells the team and the admins why a template is not written
// in a region.
func heldNotices(plan *RunPlan, p *projects.Project, t *projects.Template, snap *cloud.Snapshot, problems []string) {
	for _, ch := range slices.Compact([]string{p.SlackChannel, plan.AdminChannel}) {
		if ch == "" {
			continue
		}
		plan.Notices = append(plan.Notices, notify.Notice{
			Kind: notify.KindTemplateHeld, Channel: ch, Project: p.Name, Account: snap.Account, Region: snap.Region,
			Template: t.Name, Reason: fmt.Sprintf("%s left as it is in %s/%s", Name(p.Name, t.Name), snap.Account, snap.Region),
			Detail: strings.Join(problems, "\n"),
		})
	}
}

// TemplatesOnly returns a copy of the plan that keeps launch templates and
// security groups true and does nothing else: no instance change, no
// deletion, no tag on existing templates, and no notice but the closings of
// templates it creates closed. serve uses it when a new config fails to
// load: the last good config keeps templates right while destructive
// actions are frozen. A template it creates keeps its closing (see
// admission.go): that is announced now, as no later run would announce it.
func (p *RunPlan) TemplatesOnly() *RunPlan {
	out := *p
	out.Notices, out.Held = nil, nil
	out.frozenBare = nil // nothing else is announced
	type key struct{ project, template string }
	createdClosed := map[key]bool{}
	out.Regions = make([]*RegionPlan, len(p.Regions))
	for i, rp := range p.Regions {
		r := &RegionPlan{Account: rp.Account, Region: rp.Region}
		for _, g := range rp.Groups {
			if g.Op != OpDelete {
				r.Groups = append(r.Groups, g)
			}
		}
		for _, t := range rp.Templates {
			if t.Op != OpDelete {
				r.Templates = append(r.Templates, t)
			}
			if t.Op == OpCreate && t.LaunchClosed != "" {
				createdClosed[key{t.Project, t.Template}] = true
			}
		}
		out.Regions[i] = r
	}
	for _, n := range p.Notices {
		if n.Kind == notify.KindLaunchesClosed && createdClosed[key{n.Project, n.Template}] {
			out.Notices = append(out.Notices, n)
		}
	}
	return &out
}
