package projects

import (
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func ptr[T any](v T) *T { return &v }

// ignoreLines leaves out where admin keys are written: other tests check them.
var ignoreLines = cmp.Options{
	cmpopts.IgnoreFields(Account{}, "IDLine", "VPCLine", "SubnetLines"),
	cmpopts.IgnoreFields(Network{}, "VPCLine", "SubnetLines"),
	cmpopts.IgnoreFields(Template{}, "Lines"),
}

// TestLoadExample loads examples/config-repo and checks the effective
// values, including those that come from defaults.
func TestLoadExample(t *testing.T) {
	cfg, probs := Load("../examples/config-repo")
	if err := probs.Err(); err != nil {
		t.Fatalf("example repo has problems:\n%v", err)
	}
	const (
		h2  = Duration(2 * time.Hour)
		h4  = Duration(4 * time.Hour)
		h12 = Duration(12 * time.Hour)
		d1  = Duration(Day)
		d2  = Duration(2 * Day)
		d3  = Duration(3 * Day)
		d7  = Duration(7 * Day)
		d14 = Duration(14 * Day)
		d30 = Duration(30 * Day)
	)
	capsTypes := []string{"t3.*", "t3a.*", "m6i.*", "m7i.*", "c6i.*"}

	wantAdmin := &Admin{
		Schedule: "*/15 * * * *",
		AWS: AWS{Accounts: []Account{{
			Name: "ci-lending", ID: "123456789012",
			RoleARN: "arn:aws:iam::123456789012:role/launchwarden",
			Regions: []string{"us-east-1", "eu-central-1"},
			Networks: map[string]Network{
				"us-east-1":    {VPCID: "vpc-0a1b2c3d4e5f60718", SubnetIDs: []string{"subnet-0a1b2c3d4e5f60719", "subnet-0a1b2c3d4e5f6071a"}},
				"eu-central-1": {VPCID: "vpc-0f1e2d3c4b5a69788", SubnetIDs: []string{"subnet-0f1e2d3c4b5a69789"}, PublicIP: ptr(false)},
			},
		}}},
		Slack: Slack{
			AdminChannel:  "#launchwarden-admins",
			Token:         SecretRef{Env: "LAUNCHWARDEN_SLACK_TOKEN"},
			SigningSecret: SecretRef{File: "/run/secrets/slack-signing-secret"},
			Webhooks:      map[string]SecretRef{"#osbuild-ci": {Env: "LAUNCHWARDEN_WEBHOOK_OSBUILD"}},
		},
		GitHub: GitHub{KeysURL: "https://github.com"},
		Defaults: Defaults{
			Limits:    Limits{MaxInstances: 3, MaxVCPUs: 16},
			Lifecycle: Lifecycle{TTL: d3, WarnBefore: d1, OnExpiry: "stop", TerminateStoppedAfter: d14, Mode: "enforce"},
		},
		Caps: Caps{
			MaxInstances: 10, MaxVCPUs: 64, AllowedInstanceTypes: capsTypes,
			MaxVolumeGiB: 200, MaxTTL: d14, MaxLifetime: d30, MinNotice: d1, RestartGrace: Duration(time.Hour), ButtonExtend: d1,
			MaxTerminateStoppedAfter: d30, MinSSHPrefixIPv4: 16, MinSSHPrefixIPv6: 32, AllowedModes: []string{"enforce"},
		},
		Grants: map[string]Grant{
			"osbuild": {MaxVCPUs: ptr(96), MaxVolumeGiB: ptr(500), AllowedInstanceTypes: []string{"c7i.*"}},
			"cockpit": {AllowedModes: []string{"stop-only"}},
		},
		Safety: Safety{MaxDestructivePerRun: 20, OrphanGrace: d7, Enforce: true},
		State:  State{Key: SecretRef{Env: "LAUNCHWARDEN_STATE_KEY"}},
	}
	if diff := cmp.Diff(wantAdmin, cfg.Admin, ignoreLines); diff != "" {
		t.Errorf("admin (-want +got):\n%s", diff)
	}

	packitOwners := []string{"lbarcziova", "majamassarini", "nforro"}
	cockpitOwners := []string{"martinpitt", "allisonkarlitskaya", "jelly"}
	osbuildOwners := []string{"ondrejbudai", "supakeen", "thozza", "achilleas-k"}
	wantProjects := []*Project{
		{
			Name: "cockpit", File: "projects/cockpit.toml", Owners: cockpitOwners, SlackChannel: "C04ABCDE123",
			// max_vcpus comes from [defaults], the allowlist from [caps],
			// on_expiry and terminate_stopped_after from [defaults].
			Limits: Limits{MaxInstances: 4, MaxVCPUs: 16, AllowedInstanceTypes: capsTypes},
			// RequestedLimits holds only what the file says.
			RequestedLimits: Limits{MaxInstances: 4},
			Lifecycle:       Lifecycle{TTL: d1, WarnBefore: h4, OnExpiry: "stop", TerminateStoppedAfter: d14, Mode: "stop-only"},
			Templates: []Template{{
				Name: "tasks", ImageSelector: &ImageSelector{Owners: []string{"125523088429"}, Name: "Fedora-Cloud-Base-Generic-41-*", Architecture: "x86_64"}, InstanceType: "m7i.2xlarge", VolumeGiB: 150,
				SSHFrom:           []string{"198.51.100.0/24", "192.0.2.128/25"},
				SSHKeysFromGitHub: cockpitOwners,
				CloudInit:         "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, podman.socket]\n",
				Tags:              map[string]string{"team": "cockpit", "purpose": "browser-tests"},
				ShutdownBehavior:  "stop",
			}},
		},
		{
			Name: "osbuild", File: "projects/osbuild.toml", Owners: osbuildOwners, SlackChannel: "#osbuild-ci",
			// max_vcpus 96 and c7i.* are allowed by the grant.
			Limits:          Limits{MaxInstances: 8, MaxVCPUs: 96, AllowedInstanceTypes: []string{"c6i.*", "c7i.*", "t3.*"}},
			RequestedLimits: Limits{MaxInstances: 8, MaxVCPUs: 96, AllowedInstanceTypes: []string{"c6i.*", "c7i.*", "t3.*"}},
			Lifecycle:       Lifecycle{TTL: h12, WarnBefore: h2, OnExpiry: "terminate", TerminateStoppedAfter: d14, Mode: "enforce"},
			Templates: []Template{
				{
					Name: "builder-x86", ImageSelector: &ImageSelector{Owners: []string{"self"}, Name: "osbuild-runner-x86_64-*", Architecture: "x86_64"}, InstanceType: "c7i.8xlarge", VolumeGiB: 500,
					SSHFrom:           []string{"203.0.113.64/26"},
					SSHKeysFromGitHub: osbuildOwners,
					Tags:              map[string]string{"team": "osbuild", "workload": "image-builds"},
					ShutdownBehavior:  "stop",
				},
				{
					Name: "small", Images: map[string]string{"us-east-1": "ami-0d1f6b4c8a5e71d24", "eu-central-1": "ami-0d1f6b4c8a5e71d25"}, InstanceType: "t3.medium",
					SSHFrom:           []string{"203.0.113.64/26"},
					SSHKeysFromGitHub: []string{"ondrejbudai", "supakeen"},
					Tags:              map[string]string{},
					ShutdownBehavior:  "stop",
				},
			},
		},
		{
			Name: "packit", File: "projects/packit.toml", Owners: packitOwners, SlackChannel: "#packit-ci",
			Limits:          Limits{MaxInstances: 6, MaxVCPUs: 24, AllowedInstanceTypes: []string{"t3.*", "m6i.*"}},
			RequestedLimits: Limits{MaxInstances: 6, MaxVCPUs: 24, AllowedInstanceTypes: []string{"t3.*", "m6i.*"}},
			Lifecycle:       Lifecycle{TTL: d2, WarnBefore: h12, OnExpiry: "stop", TerminateStoppedAfter: d7, Mode: "enforce"},
			Templates: []Template{
				{
					Name: "fedora", ImageSelector: &ImageSelector{Owners: []string{"125523088429"}, Name: "Fedora-Cloud-Base-Generic-41-*", Architecture: "x86_64"}, InstanceType: "t3.large", VolumeGiB: 40,
					SSHFrom:           []string{"203.0.113.0/24", "2001:db8:1000::/40"},
					SSHKeysFromGitHub: packitOwners,
					CloudInit:         "#cloud-config\npackages:\n  - packit\n  - mock\n",
					Tags:              map[string]string{"team": "packit", "cost-center": "ci-lending"},
					ShutdownBehavior:  "stop",
				},
				{
					Name: "centos-stream", ImageSelector: &ImageSelector{Owners: []string{"125523088429"}, Name: "CentOS-Stream-ec2-10-*", Architecture: "x86_64"}, InstanceType: "m6i.xlarge", VolumeGiB: 80,
					SSHFrom:           []string{"203.0.113.0/24"},
					SSHKeysFromGitHub: []string{"lbarcziova"},
					Tags:              map[string]string{},
					ShutdownBehavior:  "terminate",
				},
			},
			Extensions: []Extension{{
				Instance: "i-0c1d2e3f4a5b6c7d8",
				Until:    time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC),
				Reason:   "bisecting a kernel regression in CentOS Stream 10",
			}},
		},
	}
	if diff := cmp.Diff(wantProjects, cfg.Projects, ignoreLines, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]Problems{}, cfg.Frozen); diff != "" {
		t.Errorf("frozen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("../examples/config-repo", cfg.Dir); diff != "" {
		t.Errorf("Dir (-want +got):\n%s", diff)
	}
}

// TestDefaultsNeverExceedCaps checks that values a project leaves out are
// taken from the defaults but clamped to the project's caps.
func TestDefaultsNeverExceedCaps(t *testing.T) {
	fsys := fstest.MapFS{
		AdminFile: {Data: []byte(`
[[aws.accounts]]
name = "a"
id = "111122223333"
regions = ["us-east-1"]
[slack]
admin_channel = "#admins"
token_env = "T"
[caps]
max_instances = 2
max_vcpus = 8
max_ttl = "1d"
`)},
		"projects/demo.toml":  {Data: []byte("owners = [\"octocat\"]\n[slack]\nchannel = \"#demo\"\n[lifecycle]\nwarn_before = \"2h\"\n")},
		"projects/short.toml": {Data: []byte("owners = [\"octocat\"]\n[slack]\nchannel = \"#short\"\n[lifecycle]\nttl = \"6h\"\n")},
	}
	cfg, probs := LoadFS(fsys, testNow)
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string][]any{}
	for _, p := range cfg.Projects {
		got[p.Name] = []any{p.Limits.MaxInstances, p.Limits.MaxVCPUs, p.Lifecycle.TTL.String(), p.Lifecycle.WarnBefore.String()}
	}
	want := map[string][]any{
		"demo":  {2, 8, "1d", "2h"},
		"short": {2, 8, "6h", "3h"}, // the default warn_before (1d) becomes half the ttl
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("effective values (-want +got):\n%s", diff)
	}
}

func TestEffectiveCaps(t *testing.T) {
	a := &Admin{
		Caps: Caps{MaxInstances: 5, MaxVCPUs: 16, AllowedInstanceTypes: []string{"t3.*"}, MaxVolumeGiB: 100, MaxTTL: Duration(7 * Day)},
		Grants: map[string]Grant{
			"big": {MaxVCPUs: ptr(64), AllowedInstanceTypes: []string{"c7i.*", "t3.*"}, AllowWorldSSH: ptr(true)},
		},
	}
	tests := []struct {
		project string
		want    Caps
	}{
		{"other", a.Caps},
		{"big", Caps{MaxInstances: 5, MaxVCPUs: 64, AllowedInstanceTypes: []string{"t3.*", "c7i.*"}, MaxVolumeGiB: 100, MaxTTL: Duration(7 * Day), AllowWorldSSH: true}},
	}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, a.EffectiveCaps(tt.project)); diff != "" {
				t.Errorf("EffectiveCaps (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{"t3.*"}, a.Caps.AllowedInstanceTypes); diff != "" {
		t.Errorf("EffectiveCaps changed the admin's caps (-want +got):\n%s", diff)
	}
}

func TestMatchInstanceType(t *testing.T) {
	globs := []string{"t3.*", "m6i.large", "c[67]i.*", "[bad"}
	tests := map[string]bool{
		"t3.micro":    true,
		"t3a.micro":   false,
		"m6i.large":   true,
		"m6i.xlarge":  false,
		"c7i.8xlarge": true,
		"c5.large":    false,
		"[bad":        false,
	}
	for typ, want := range tests {
		if got := MatchInstanceType(globs, typ); got != want {
			t.Errorf("MatchInstanceType(%q) = %v, want %v", typ, got, want)
		}
	}
}

// TestLoadFreezesOnlyBrokenProjects checks that a broken project file
// freezes that project alone, and a broken admin file leaves Admin nil.
func TestLoadFreezesOnlyBrokenProjects(t *testing.T) {
	cfg, probs := LoadFS(caseFS(t, "testdata/cases/frozen-and-valid"), testNow)
	if cfg.Admin == nil {
		t.Fatal("Admin is nil, want the shared admin file")
	}
	var names []string
	for _, p := range cfg.Projects {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"good"}, names); diff != "" {
		t.Errorf("valid projects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]Problems{"bad": probs}, cfg.Frozen); diff != "" {
		t.Errorf("frozen (-want +got):\n%s", diff)
	}

	cfg, _ = LoadFS(caseFS(t, "testdata/cases/bad-cron"), testNow)
	if cfg.Admin != nil {
		t.Errorf("Admin = %+v, want nil for a broken launchwarden.toml", cfg.Admin)
	}
	names = nil
	for _, p := range cfg.Projects {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"demo"}, names); diff != "" {
		t.Errorf("projects with a broken admin file (-want +got):\n%s", diff)
	}
}

// failingFS fails to open one file.
type failingFS struct {
	fs.FS
	file string
}

func (f failingFS) Open(name string) (fs.File, error) {
	if name == f.file {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.Open(name)
}

func TestLoadUnreadableFile(t *testing.T) {
	fsys := failingFS{FS: caseFS(t, "testdata/cases/frozen-and-valid"), file: "projects/good.toml"}
	cfg, _ := LoadFS(fsys, testNow)
	want := Problems{{File: "projects/good.toml", Message: "cannot read file: permission denied"}}
	if diff := cmp.Diff(want, cfg.Frozen["good"]); diff != "" {
		t.Errorf("frozen good (-want +got):\n%s", diff)
	}
	if len(cfg.Projects) != 0 {
		t.Errorf("projects = %v, want none valid", cfg.Projects)
	}
}

func TestLoadTooLargeFile(t *testing.T) {
	fsys := fstest.MapFS{
		AdminFile:            {Data: make([]byte, maxFileSize+1)},
		"projects/demo.toml": {Data: []byte("owners = [\"octocat\"]\n[slack]\nchannel = \"#demo\"\n")},
	}
	cfg, probs := LoadFS(fsys, testNow)
	want := Problems{{File: AdminFile, Message: "file is larger than 1024 KiB", Hint: "a config file this big is a mistake"}}
	if diff := cmp.Diff(want, probs); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if cfg.Admin != nil {
		t.Error("Admin is not nil")
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "projects/packit.toml", Line: 12, Column: 3, Key: "templates[1].instance_type", Message: "bad", Hint: "fix it"},
			"projects/packit.toml:12:3: templates[1].instance_type: bad (fix it)"},
		{Problem{File: "launchwarden.toml", Line: 1, Message: `missing required key "aws"`},
			`launchwarden.toml:1: missing required key "aws"`},
		{Problem{File: "projects/", Message: "no project files"}, "projects/: no project files"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.p.String()); diff != "" {
			t.Errorf("String() (-want +got):\n%s", diff)
		}
	}
	if err := (Problems{}).Err(); err != nil {
		t.Errorf("Err() of no problems = %v", err)
	}
}
