package projects

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// BuiltinDefaults are the project defaults used where launchwarden.toml's
// [defaults] says nothing: 4 instances, 16 vCPUs, any type the caps allow;
// a 3-day ttl, warned 1 day before (at most half the ttl), stopped on
// expiry, terminated after 14 days stopped, mode "enforce".
func BuiltinDefaults() Defaults {
	return Defaults{
		Limits: Limits{MaxInstances: 4, MaxVCPUs: 16},
		Lifecycle: Lifecycle{
			TTL:                   Duration(3 * Day),
			WarnBefore:            Duration(Day),
			OnExpiry:              OnExpiryStop,
			TerminateStoppedAfter: Duration(14 * Day),
			Mode:                  ModeEnforce,
		},
	}
}

// BuiltinCaps are the caps used where launchwarden.toml's [caps] says
// nothing: 10 instances, 64 vCPUs, general-purpose and burstable types,
// 200 GiB volumes, ttl up to 14 days, 30 days of life including
// extensions, 24 hours of notice, an hour's grace for an instance started
// again after its expiry, a day per click of a digest's Extend button, no SSH from the whole internet nor from prefixes
// shorter than /16 (IPv4) or /32 (IPv6), stopped instances terminated
// within 30 days, and mode "enforce" only.
func BuiltinCaps() Caps {
	return Caps{
		MaxInstances:         10,
		MaxVCPUs:             64,
		AllowedInstanceTypes: []string{"t3.*", "t3a.*", "m6i.*", "m7i.*", "c6i.*", "c7i.*"},
		MaxVolumeGiB:         200,
		MaxTTL:               Duration(14 * Day),
		MaxLifetime:          Duration(30 * Day),
		MinNotice:            Duration(24 * time.Hour),
		RestartGrace:         Duration(time.Hour),
		ButtonExtend:         Duration(Day),
		AllowWorldSSH:        false,
		// Longer than the built-in default of 14 days, shorter than a
		// forgotten instance's bill should grow.
		MaxTerminateStoppedAfter: Duration(30 * Day),
		MinSSHPrefixIPv4:         16,
		MinSSHPrefixIPv6:         32,
		AllowedModes:             []string{ModeEnforce},
	}
}

// BuiltinSafety is used where [safety] says nothing: at most 10 stops or
// terminations a run, orphans terminated after 7 days, and enforce off, so
// a new deployment only plans until an admin turns it on.
func BuiltinSafety() Safety {
	return Safety{MaxDestructivePerRun: 10, OrphanGrace: Duration(7 * Day)}
}

// Default values of launchwarden.toml keys.
const (
	DefaultSchedule = "*/15 * * * *"
	DefaultKeysURL  = "https://github.com"
)

var adminHomes = map[string]string{
	"schedule": "top-level (before any [table])",
	"profile":  "[aws]", "accounts": "[aws]",
	"admin_channel": "[slack]", "token_env": "[slack]", "token_file": "[slack]",
	"signing_secret_env": "[slack]", "signing_secret_file": "[slack]", "webhooks": "[slack]",
	"keys_url": "[github]",
	"key_env":  "[state]", "key_file": "[state]", "previous_keys": "[state]",
	"base_url": "[web]", "password_env": "[web]", "password_file": "[web]",
	"max_instances": "[caps]", "max_vcpus": "[caps]", "allowed_instance_types": "[caps]",
	"max_volume_gib": "[caps]", "max_ttl": "[caps]", "max_lifetime": "[caps]", "min_notice": "[caps]", "restart_grace": "[caps]",
	"button_extend": "[caps]", "allow_world_ssh": "[caps]", "max_terminate_stopped_after": "[caps]",
	"min_ssh_prefix_ipv4": "[caps]", "min_ssh_prefix_ipv6": "[caps]", "allowed_modes": "[caps]",
	"shared_channels":         "[grants.<project>]",
	"max_destructive_per_run": "[safety]", "orphan_grace": "[safety]", "enforce": "[safety]",
	"ttl": "[defaults.lifecycle]", "warn_before": "[defaults.lifecycle]", "on_expiry": "[defaults.lifecycle]",
	"terminate_stopped_after": "[defaults.lifecycle]", "mode": "[defaults.lifecycle]",
}

var capKeys = []string{"max_instances", "max_vcpus", "allowed_instance_types", "max_volume_gib", "max_ttl", "max_lifetime", "min_notice", "restart_grace", "button_extend", "allow_world_ssh",
	"max_terminate_stopped_after", "min_ssh_prefix_ipv4", "min_ssh_prefix_ipv6", "allowed_modes"}

// grantKeys are capKeys and what only a grant can say.
var grantKeys = append(slices.Clone(capKeys), "shared_channels")

// parseAdmin decodes and checks launchwarden.toml. It returns nil and the
// problems if there are any.
func parseAdmin(file, src string) (*Admin, *decoder) {
	d := &decoder{file: file, homes: adminHomes}
	m := d.parse(src)
	if m == nil {
		return nil, d
	}
	root := table{d: d, m: m}
	root.known("schedule", "aws", "slack", "github", "defaults", "caps", "grants", "safety", "state", "web")
	a := &Admin{
		Schedule: DefaultSchedule,
		GitHub:   GitHub{KeysURL: DefaultKeysURL},
		Defaults: BuiltinDefaults(),
		Caps:     BuiltinCaps(),
		Grants:   map[string]Grant{},
		Safety:   BuiltinSafety(),
	}
	if s, ok := root.str("schedule"); ok {
		if _, err := cron.ParseStandard(s); err != nil {
			d.report("schedule", `use 5 cron fields ("*/15 * * * *") or a descriptor ("@hourly", "@every 15m")`, "invalid cron schedule %q: %v", s, err)
		} else {
			a.Schedule = s
		}
	}
	if root.required("aws", "[[aws.accounts]] with name, id and regions") {
		if t, ok := root.sub("aws"); ok {
			a.AWS = decodeAWS(t)
		}
	}
	if root.required("slack", `[slack] with admin_channel and token_env = "LAUNCHWARDEN_SLACK_TOKEN"`) {
		if t, ok := root.sub("slack"); ok {
			a.Slack = decodeSlack(t)
		}
	}
	if t, ok := root.sub("github"); ok {
		t.known("keys_url")
		if s, ok := t.str("keys_url"); ok {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				d.report(t.keyPath("keys_url"), `use a base URL such as "https://github.com"`, "%q is not an http(s) URL", s)
			} else {
				a.GitHub.KeysURL = strings.TrimRight(s, "/")
			}
		}
	}
	if t, ok := root.sub("caps"); ok {
		t.known(capKeys...)
		g := decodeGrant(t)
		if g.AllowedInstanceTypes != nil && len(g.AllowedInstanceTypes) == 0 && t.has("allowed_instance_types") {
			d.report("caps.allowed_instance_types", `e.g. ["t3.*", "m6i.*"]`, "allowed_instance_types is empty, so no instance type is allowed")
		}
		a.Caps = applyGrant(a.Caps, g, true)
		if a.Caps.MaxLifetime < a.Caps.MaxTTL {
			d.report("caps.max_lifetime", "max_lifetime counts extensions too, so it must be at least max_ttl",
				"max_lifetime (%s) is shorter than max_ttl (%s)", a.Caps.MaxLifetime, a.Caps.MaxTTL)
		}
		if a.Caps.ButtonExtend > a.Caps.MaxLifetime {
			d.report("caps.button_extend", "one click cannot give more than a whole lifetime: use a day or so",
				"button_extend (%s) is longer than max_lifetime (%s)", a.Caps.ButtonExtend, a.Caps.MaxLifetime)
		}
	}
	if t, ok := root.sub("defaults"); ok {
		a.Defaults = decodeDefaults(t, a.Caps)
	}
	if t, ok := root.sub("grants"); ok {
		for name := range t.m {
			path := t.keyPath(name)
			if msg := nameProblem(name); msg != "" {
				d.report(path, "grants are keyed by project name: [grants.packit]", "%s", msg)
				continue
			}
			g, ok := t.sub(name)
			if !ok {
				continue
			}
			g.known(grantKeys...)
			a.Grants[name] = decodeGrant(g)
		}
	}
	if t, ok := root.sub("safety"); ok {
		t.known("max_destructive_per_run", "orphan_grace", "enforce")
		if n, ok := t.posInt("max_destructive_per_run"); ok {
			a.Safety.MaxDestructivePerRun = n
		}
		if v, ok := t.duration("orphan_grace"); ok {
			a.Safety.OrphanGrace = v
		}
		if v, ok := t.boolean("enforce"); ok {
			a.Safety.Enforce = v
		}
	}
	if t, ok := root.sub("state"); ok {
		a.State = decodeState(t)
	}
	if t, ok := root.sub("web"); ok {
		a.Web = decodeWeb(t)
	}
	if len(d.probs) > 0 {
		return nil, d
	}
	return a, d
}

func decodeWeb(t table) Web {
	t.known("base_url", "password_env", "password_file", "password")
	var w Web
	if t.has("password") {
		t.d.report(t.keyPath("password"), "use password_env or password_file to name where the secret is", "secrets must not be written in the config repo")
	}
	if s, ok := t.str("base_url"); ok {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.d.report(t.keyPath("base_url"), `use the status pages' address, e.g. "https://launchwarden.example.org"`, "%q is not an http(s) URL", s)
		} else {
			w.BaseURL = strings.TrimRight(s, "/")
		}
	}
	w.Password = decodeSecretRef(t, "password_env", "password_file", false)
	return w
}

func decodeAWS(t table) AWS {
	t.known("profile", "accounts")
	var aws AWS
	aws.Profile, _ = t.str("profile")
	if !t.required("accounts", `[[aws.accounts]] with name, id and regions`) {
		return aws
	}
	list, _ := t.list("accounts")
	if len(list) == 0 && t.has("accounts") {
		t.d.report(t.keyPath("accounts"), "add an [[aws.accounts]] entry", "no AWS account configured")
	}
	names := map[string]bool{}
	places := map[string]string{}
	for _, at := range list {
		acc := decodeAccount(at)
		if acc.Name != "" {
			if names[acc.Name] {
				t.d.report(at.keyPath("name"), "give every account its own name", "duplicate account name %q", acc.Name)
			}
			names[acc.Name] = true
		}
		for i, r := range acc.Regions {
			place := acc.ID + "/" + r
			if first, dup := places[place]; dup && acc.ID != "" {
				t.d.report(indexPath(at.keyPath("regions"), i), "manage each account and region once", "account %s region %s is already managed by account %q", acc.ID, r, first)
			}
			places[place] = acc.Name
		}
		aws.Accounts = append(aws.Accounts, acc)
	}
	return aws
}

func decodeAccount(t table) Account {
	t.known("name", "id", "role_arn", "regions", "vpc_id", "subnet_ids", "public_ip", "networks")
	d := t.d
	var a Account
	a.IDLine = d.ix.lookup(t.keyPath("id")).line
	if t.required("name", `name = "ci"`) {
		if s, ok := t.str("name"); ok {
			if msg := nameProblem(s); msg != "" {
				d.report(t.keyPath("name"), "", "account %s", msg)
			} else {
				a.Name = s
			}
		}
	}
	if t.required("id", `id = "123456789012"`) {
		if s, ok := t.str("id"); ok {
			if accountIDRe.MatchString(s) {
				a.ID = s
			} else {
				d.report(t.keyPath("id"), "an AWS account id is 12 digits, written as a string to keep leading zeros", "%q is not an AWS account id", s)
			}
		}
	}
	if s, ok := t.str("role_arn"); ok {
		m := roleARNRe.FindStringSubmatch(s)
		switch {
		case m == nil:
			d.report(t.keyPath("role_arn"), `e.g. "arn:aws:iam::123456789012:role/launchwarden"`, "%q is not an IAM role ARN", s)
		case a.ID != "" && m[2] != a.ID:
			d.report(t.keyPath("role_arn"), "use a role in the account itself", "role %q is in account %s, not %s", s, m[2], a.ID)
		default:
			a.RoleARN = s
		}
	}
	if t.required("regions", `regions = ["us-east-1"]`) {
		if regions, ok := t.strs("regions"); ok {
			if len(regions) == 0 {
				d.report(t.keyPath("regions"), `e.g. regions = ["us-east-1"]`, "regions is empty")
			}
			for i, r := range regions {
				if !regionRe.MatchString(r) {
					d.report(indexPath(t.keyPath("regions"), i), `e.g. "us-east-1"`, "%q is not an AWS region", r)
					continue
				}
				if slices.Contains(a.Regions, r) {
					d.report(indexPath(t.keyPath("regions"), i), "", "region %s is listed twice", r)
					continue
				}
				a.Regions = append(a.Regions, r)
			}
		}
	}
	n := decodeNetwork(t)
	a.VPCID, a.SubnetIDs, a.PublicIP, a.VPCLine, a.SubnetLines = n.VPCID, n.SubnetIDs, n.PublicIP, n.VPCLine, n.SubnetLines
	if a.VPCID != "" && len(a.Regions) > 1 {
		d.report(t.keyPath("vpc_id"), "a VPC belongs to one region: use [aws.accounts.networks.<region>] tables instead", "vpc_id is set for an account with %d regions", len(a.Regions))
	}
	if nt, ok := t.sub("networks"); ok {
		a.Networks = map[string]Network{}
		for region := range nt.m {
			rt, ok := nt.sub(region)
			if !ok {
				continue
			}
			if !slices.Contains(a.Regions, region) {
				d.report(rt.path, "add the region to regions or remove this table", "network for region %q, which is not in regions", region)
			}
			rt.known("vpc_id", "subnet_ids", "public_ip")
			a.Networks[region] = decodeNetwork(rt)
		}
	}
	return a
}

func decodeNetwork(t table) Network {
	var n Network
	if s, ok := t.str("vpc_id"); ok {
		if vpcIDRe.MatchString(s) {
			n.VPCID = s
			n.VPCLine = t.d.ix.lookup(t.keyPath("vpc_id")).line
		} else {
			t.d.report(t.keyPath("vpc_id"), `e.g. "vpc-0123456789abcdef0"`, "%q is not a VPC id", s)
		}
	}
	if list, ok := t.strs("subnet_ids"); ok {
		for i, s := range list {
			path := indexPath(t.keyPath("subnet_ids"), i)
			if !subnetIDRe.MatchString(s) {
				t.d.report(path, `e.g. "subnet-0123456789abcdef0"`, "%q is not a subnet id", s)
				continue
			}
			if slices.Contains(n.SubnetIDs, s) {
				t.d.report(path, "list each subnet once", "subnet %s is listed twice", s)
				continue
			}
			n.SubnetIDs = append(n.SubnetIDs, s)
			n.SubnetLines = append(n.SubnetLines, t.d.ix.lookup(path).line)
		}
		if n.VPCID == "" && len(n.SubnetIDs) > 0 && !t.has("vpc_id") {
			t.d.report(t.keyPath("subnet_ids"), "add the subnets' vpc_id", "subnet_ids without vpc_id")
		}
	}
	if v, ok := t.boolean("public_ip"); ok {
		n.PublicIP = &v
	}
	return n
}

// inlineSecretKeys are keys people write when they put a secret inline.
var inlineSecretKeys = map[string]string{
	"token":          "token_env or token_file",
	"bot_token":      "token_env or token_file",
	"signing_secret": "signing_secret_env or signing_secret_file",
	"url":            "url_env or url_file",
	"webhook_url":    "url_env or url_file in a [slack.webhooks] entry",
}

func decodeSlack(t table) Slack {
	d := t.d
	known := []string{"admin_channel", "token_env", "token_file", "signing_secret_env", "signing_secret_file", "webhooks"}
	rejectInlineSecrets(t)
	t.known(append(known, slices.Collect(maps.Keys(inlineSecretKeys))...)...)
	var s Slack
	if t.required("admin_channel", `admin_channel = "#launchwarden-admins"`) {
		if c, ok := t.str("admin_channel"); ok {
			if msg, hint := slackChannelProblem(c); msg != "" {
				d.report(t.keyPath("admin_channel"), hint, "%s", msg)
			} else {
				s.AdminChannel = c
			}
		}
	}
	s.Token = decodeSecretRef(t, "token_env", "token_file", true)
	s.SigningSecret = decodeSecretRef(t, "signing_secret_env", "signing_secret_file", false)
	if wt, ok := t.sub("webhooks"); ok {
		s.Webhooks = map[string]SecretRef{}
		for ch := range wt.m {
			if msg, hint := slackChannelProblem(ch); msg != "" {
				d.report(wt.keyPath(ch), hint, "%s", msg)
				continue
			}
			ct, ok := wt.sub(ch)
			if !ok {
				continue
			}
			rejectInlineSecrets(ct)
			ct.known(append([]string{"url_env", "url_file"}, slices.Collect(maps.Keys(inlineSecretKeys))...)...)
			if ref := decodeSecretRef(ct, "url_env", "url_file", true); !ref.IsZero() {
				s.Webhooks[ch] = ref
			}
		}
	}
	return s
}

func rejectInlineSecrets(t table) {
	for k, instead := range inlineSecretKeys {
		if t.has(k) && !t.d.hasProblem(t.keyPath(k)) {
			t.d.report(t.keyPath(k), "use "+instead+" to name where the secret is", "secrets must not be written in the config repo")
		}
	}
}

// decodeSecretRef reads a pair of envKey/fileKey, exactly one of which may
// be set (and must, if required).
func decodeSecretRef(t table, envKey, fileKey string, required bool) SecretRef {
	var r SecretRef
	env, hasEnv := t.str(envKey)
	file, hasFile := t.str(fileKey)
	switch {
	case hasEnv && hasFile:
		t.d.report(t.keyPath(fileKey), "remove one of them", "set either %s or %s, not both", envKey, fileKey)
	case hasEnv:
		if !envNameRe.MatchString(env) {
			if !slackTokenRe.MatchString(env) && !slackWebhookRe.MatchString(env) {
				t.d.report(t.keyPath(envKey), `name an environment variable, e.g. "LAUNCHWARDEN_SLACK_TOKEN"`, "%q is not an environment variable name", env)
			}
		} else {
			r.Env = env
		}
	case hasFile:
		if strings.TrimSpace(file) == "" {
			t.d.report(t.keyPath(fileKey), "give the path of the file that holds the secret", "%s is empty", fileKey)
		} else {
			r.File = file
		}
	case required && !t.has(envKey) && !t.has(fileKey):
		t.required(envKey, fmt.Sprintf("%s = \"LAUNCHWARDEN_…\" or %s = \"/run/secrets/…\"", envKey, fileKey))
	}
	return r
}

func decodeDefaults(t table, caps Caps) Defaults {
	t.known("limits", "lifecycle")
	def := BuiltinDefaults()
	d := t.d
	if lt, ok := t.sub("limits"); ok {
		l := decodeLimits(lt)
		def.Limits.MaxInstances = pick(l.MaxInstances, def.Limits.MaxInstances)
		def.Limits.MaxVCPUs = pick(l.MaxVCPUs, def.Limits.MaxVCPUs)
		def.Limits.AllowedInstanceTypes = l.AllowedInstanceTypes
		if l.MaxInstances > caps.MaxInstances {
			d.report(lt.keyPath("max_instances"), "defaults must be within [caps]", "max_instances %d is above caps.max_instances %d", l.MaxInstances, caps.MaxInstances)
		}
		if l.MaxVCPUs > caps.MaxVCPUs {
			d.report(lt.keyPath("max_vcpus"), "defaults must be within [caps]", "max_vcpus %d is above caps.max_vcpus %d", l.MaxVCPUs, caps.MaxVCPUs)
		}
		for i, g := range l.AllowedInstanceTypes {
			if !globCovered(caps.AllowedInstanceTypes, g) {
				d.report(indexPath(lt.keyPath("allowed_instance_types"), i), "defaults must be within [caps]", "%q is not within caps.allowed_instance_types %s", g, quoteList(caps.AllowedInstanceTypes))
			}
		}
	}
	if lt, ok := t.sub("lifecycle"); ok {
		l := decodeLifecycle(lt)
		def.Lifecycle.TTL = pick(l.TTL, def.Lifecycle.TTL)
		def.Lifecycle.WarnBefore = pick(l.WarnBefore, def.Lifecycle.WarnBefore)
		def.Lifecycle.OnExpiry = pick(l.OnExpiry, def.Lifecycle.OnExpiry)
		def.Lifecycle.TerminateStoppedAfter = pick(l.TerminateStoppedAfter, def.Lifecycle.TerminateStoppedAfter)
		def.Lifecycle.Mode = pick(l.Mode, def.Lifecycle.Mode)
		if l.TerminateStoppedAfter > caps.MaxTerminateStoppedAfter {
			d.report(lt.keyPath("terminate_stopped_after"), "defaults must be within [caps]", "terminate_stopped_after %s is above caps.max_terminate_stopped_after %s", l.TerminateStoppedAfter, caps.MaxTerminateStoppedAfter)
		}
		if l.TTL > caps.MaxTTL {
			d.report(lt.keyPath("ttl"), "defaults must be within [caps]", "ttl %s is above caps.max_ttl %s", l.TTL, caps.MaxTTL)
		}
		if l.TTL == 0 && l.WarnBefore >= def.Lifecycle.TTL {
			d.report(lt.keyPath("warn_before"), "set a longer ttl or a shorter warn_before", "warn_before (%s) is not shorter than the default ttl (%s)", l.WarnBefore, def.Lifecycle.TTL)
		}
		if def.Lifecycle.Mode == ModeStopOnly && def.Lifecycle.OnExpiry == OnExpiryTerminate {
			d.report(lt.keyPath("on_expiry"), `use on_expiry = "stop", or mode = "enforce"`, `on_expiry = "terminate" contradicts mode = "stop-only"`)
		}
	}
	return def
}

// decodeGrant reads cap keys, each optional; [caps] and [grants.<project>]
// share it.
func decodeGrant(t table) Grant {
	var g Grant
	if n, ok := t.posInt("max_instances"); ok {
		g.MaxInstances = &n
	}
	if n, ok := t.posInt("max_vcpus"); ok {
		g.MaxVCPUs = &n
	}
	if n, ok := t.posInt("max_volume_gib"); ok {
		g.MaxVolumeGiB = &n
	}
	if v, ok := t.duration("max_ttl"); ok {
		g.MaxTTL = &v
	}
	if v, ok := t.duration("max_lifetime"); ok {
		g.MaxLifetime = &v
	}
	if v, ok := t.duration("min_notice"); ok {
		g.MinNotice = &v
	}
	if v, ok := t.duration("restart_grace"); ok {
		g.RestartGrace = &v
	}
	if v, ok := t.duration("button_extend"); ok {
		g.ButtonExtend = &v
	}
	if v, ok := t.boolean("allow_world_ssh"); ok {
		g.AllowWorldSSH = &v
	}
	if v, ok := t.duration("max_terminate_stopped_after"); ok {
		g.MaxTerminateStoppedAfter = &v
	}
	if n, ok := t.prefixLen("min_ssh_prefix_ipv4", 32); ok {
		g.MinSSHPrefixIPv4 = &n
	}
	if n, ok := t.prefixLen("min_ssh_prefix_ipv6", 128); ok {
		g.MinSSHPrefixIPv6 = &n
	}
	if modes, ok := t.strs("allowed_modes"); ok {
		g.AllowedModes = []string{}
		for i, m := range modes {
			if !slices.Contains([]string{ModeEnforce, ModeStopOnly, ModeNotifyOnly}, m) {
				t.d.report(indexPath(t.keyPath("allowed_modes"), i), `use "stop-only" or "notify-only"`, "unknown mode %q", m)
				continue
			}
			g.AllowedModes = append(g.AllowedModes, m)
		}
	}
	if chans, ok := t.strs("shared_channels"); ok {
		for i, c := range chans {
			if msg, hint := slackChannelProblem(c); msg != "" {
				t.d.report(indexPath(t.keyPath("shared_channels"), i), hint, "%s", msg)
				continue
			}
			g.SharedChannels = append(g.SharedChannels, c)
		}
	}
	if globs, ok := t.strs("allowed_instance_types"); ok {
		g.AllowedInstanceTypes = []string{}
		for i, s := range globs {
			if msg := globProblem(s); msg != "" {
				t.d.report(indexPath(t.keyPath("allowed_instance_types"), i), `write an instance type or a glob, e.g. "m6i.large" or "t3.*"`, "%s", msg)
				continue
			}
			g.AllowedInstanceTypes = append(g.AllowedInstanceTypes, s)
		}
	}
	return g
}
