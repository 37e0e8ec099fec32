package change

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// now is when the testdata's extensions are judged.
var now = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func load(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := Load(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update if intended):\n%s", path, diff)
	}
}

// TestGolden renders the change from testdata/base to testdata/head, a pair
// of config repos with every kind of change: an admin file that adds a
// region, lowers caps, adds and raises grants and shortens the orphan
// grace; projects added (valid and invalid), removed, frozen, unfrozen and
// still frozen; templates created, changed in every field, deleted and
// renamed; limits bound by a request, a default, a cap and a grant;
// lifecycle changes; extensions added (fitting and past), changed and
// removed.
func TestGolden(t *testing.T) {
	r := Compare(load(t, "testdata/base"), load(t, "testdata/head"), now)
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"diff.txt", func(b *bytes.Buffer) error { return r.WriteText(b) }},
		{"diff.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"diff.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, f.name, b.Bytes())
		})
	}
}

// TestGoldenCoversEveryKind keeps the testdata honest: the pair exercises
// every status, template operation and extension operation.
func TestGoldenCoversEveryKind(t *testing.T) {
	r := Compare(load(t, "testdata/base"), load(t, "testdata/head"), now)
	seen := map[string]bool{}
	for _, p := range r.Projects {
		seen["status "+p.Status] = true
		for _, tc := range p.Templates {
			seen["template "+tc.Op] = true
		}
		for _, e := range p.Extensions {
			seen["extension "+e.Op] = true
			seen["fits "+e.Fits] = true
		}
		for _, l := range p.Limits {
			from, _, _ := strings.Cut(l.After.From, ".")
			seen["limit from "+from] = true
		}
	}
	for _, want := range []string{
		"status added", "status removed", "status changed", "status freezes", "status unfreezes", "status stays frozen",
		"template create", "template change", "template delete", "template ensure",
		"extension added", "extension changed", "extension removed", "fits yes", "fits past",
		"limit from limits", "limit from defaults", "limit from caps", "limit from grants",
	} {
		if !seen[want] {
			t.Errorf("testdata exercises no %q", want)
		}
	}
	if len(r.Admin) == 0 {
		t.Error("testdata changes nothing in launchwarden.toml")
	}
}

// TestRules fails when a field of a config type the diff walks has no rule:
// a new field must say what its key is and what changing it does.
func TestRules(t *testing.T) {
	fields := func(v any) []reflect.StructField {
		return reflect.VisibleFields(reflect.TypeOf(v))
	}
	for _, f := range fields(projects.Template{}) {
		if _, ok := templateRules[f.Name]; !ok && !isPosition(f) {
			t.Errorf("projects.Template.%s has no entry in templateRules", f.Name)
		}
	}
	for _, f := range fields(projects.Project{}) {
		if _, ok := projectRules[f.Name]; !ok && !isPosition(f) {
			t.Errorf("projects.Project.%s has no entry in projectRules", f.Name)
		}
	}
	for _, v := range []any{projects.Caps{}, projects.Grant{}} {
		for _, f := range fields(v) {
			if capNotes[snake(f.Name)] == "" {
				t.Errorf("%T.%s (key %s) has no entry in capNotes", v, f.Name, snake(f.Name))
			}
		}
	}
	for _, f := range fields(projects.Safety{}) {
		if safetyNotes[snake(f.Name)] == nil {
			t.Errorf("projects.Safety.%s (key %s) has no entry in safetyNotes", f.Name, snake(f.Name))
		}
	}
	for _, f := range fields(projects.Lifecycle{}) {
		if lifecycleNotes[snake(f.Name)] == nil {
			t.Errorf("projects.Lifecycle.%s (key %s) has no entry in lifecycleNotes", f.Name, snake(f.Name))
		}
	}
	var keys []string
	for _, f := range fields(projects.Limits{}) {
		keys = append(keys, snake(f.Name))
	}
	if diff := cmp.Diff(limitKeys, keys); diff != "" {
		t.Errorf("limitKeys do not follow projects.Limits (-limitKeys +fields):\n%s", diff)
	}
}

// TestRuleKeysAreDocumented checks the keys the diff shows for template and
// project fields against the config repo's key reference.
func TestRuleKeysAreDocumented(t *testing.T) {
	ref, err := os.ReadFile("../examples/config-repo/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		v     any
		rules map[string]rule
	}{{projects.Template{}, templateRules}, {projects.Project{}, projectRules}} {
		for _, f := range reflect.VisibleFields(reflect.TypeOf(x.v)) {
			r := x.rules[f.Name]
			if r.skip || isPosition(f) {
				continue
			}
			key := fieldKey("", f, r)
			last := key[strings.LastIndex(key, ".")+1:]
			if !bytes.Contains(ref, []byte(last)) {
				t.Errorf("key %q (field %T.%s) is not in examples/config-repo/README.md", key, x.v, f.Name)
			}
		}
	}
}

// TestEveryTemplateFieldIsCompared changes each field of a template in
// turn and expects the diff to report it under the field's key.
func TestEveryTemplateFieldIsCompared(t *testing.T) {
	base := projects.Template{Name: "t", Image: "ami-0123456789abcdef0", InstanceType: "t3.large", VolumeGiB: 20,
		SSHFrom: []string{"192.0.2.0/24"}, SSHKeysFromGitHub: []string{"octocat"}, CloudInit: "#cloud-config\n",
		Tags: map[string]string{"team": "a"}, ShutdownBehavior: "stop"}
	typ := reflect.TypeOf(base)
	for _, f := range reflect.VisibleFields(typ) {
		if templateRules[f.Name].skip || isPosition(f) {
			continue
		}
		head := base
		hv := reflect.ValueOf(&head).Elem().FieldByIndex(f.Index)
		hv.Set(changed(hv))
		got := compare(base, head, templateRules)
		key := fieldKey("", f, templateRules[f.Name])
		if len(got) == 0 || !strings.HasPrefix(got[0].Key, key) {
			t.Errorf("changing %s: got %+v, want a change of %s", f.Name, got, key)
		}
	}
}

// changed returns a value of v's type that differs from v.
func changed(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		out.SetString(v.String() + "x")
	case reflect.Int, reflect.Int64:
		out.SetInt(v.Int() + 1)
	case reflect.Bool:
		out.SetBool(!v.Bool())
	case reflect.Slice:
		out = reflect.Append(reflect.MakeSlice(v.Type(), 0, v.Len()+1), reflect.Zero(v.Type().Elem()))
		out = reflect.AppendSlice(out, v)
		out.Index(0).Set(changed(out.Index(0)))
	case reflect.Map:
		out = reflect.MakeMap(v.Type())
		out.SetMapIndex(changed(reflect.Zero(v.Type().Key())), changed(reflect.Zero(v.Type().Elem())))
	case reflect.Pointer:
		out = reflect.New(v.Type().Elem())
		if !v.IsNil() {
			out.Elem().Set(changed(v.Elem()))
		}
	case reflect.Struct:
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(changed(v.Field(i)))
				break
			}
		}
	default:
		panic(fmt.Sprintf("changed: no rule for %s", v.Kind()))
	}
	return out
}

// TestLimitsMatchReconcile checks that the effective limits shown are the
// ones a run enforces.
func TestLimitsMatchReconcile(t *testing.T) {
	for _, dir := range []string{"testdata/base", "testdata/head", "../examples/config-repo"} {
		repo := load(t, dir)
		c := comparison{base: repo, head: repo, baseAdmin: repo.Config.Admin, headAdmin: repo.Config.Admin}
		for _, p := range repo.Config.Projects {
			want := reconcile.Limits(repo.Config.Admin, p)
			got := c.limits(repo.Config.Admin, p)
			types := strings.Join(want.AllowedTypes, ", ")
			if types == "" {
				types = "any"
			}
			if got[0].Value != fmt.Sprint(want.MaxInstances) || got[1].Value != fmt.Sprint(want.MaxVCPUs) || got[2].Value != types {
				t.Errorf("%s %s: diff shows %+v, a run enforces %+v", dir, p.Name, got, want)
			}
		}
	}
}

func TestNoChange(t *testing.T) {
	r := Compare(load(t, "testdata/head"), load(t, "testdata/head"), now)
	if len(r.Projects) != 0 || len(r.Admin) != 0 || r.Breaks() {
		t.Errorf("a repo compared with itself: %+v", r)
	}
	if got, want := r.Summary(), "no effect: nothing launchwarden acts on changes"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

const admin = `[[aws.accounts]]
name = "test"
id = "111122223333"
regions = ["us-east-1"]

[slack]
admin_channel = "#admins"
token_env = "SLACK_TOKEN"
`

const project = `owners = ["octocat"]

[slack]
channel = "#demo"

[[templates]]
name = "box"
image = "ami-0123456789abcdef0"
instance_type = "t3.large"
`

func loadFS(t *testing.T, files map[string]string) *Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	r, err := LoadFS(fsys, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAdminBrokenAndFixed(t *testing.T) {
	good := loadFS(t, map[string]string{"launchwarden.toml": admin, "projects/demo.toml": project})
	bad := loadFS(t, map[string]string{"launchwarden.toml": admin + "\n[caps]\nmax_vcpus = -1\n", "projects/demo.toml": project})

	r := Compare(good, bad, now)
	if len(r.AdminBroken) != 1 || !r.Breaks() || r.AdminBroken[0].Key != "caps.max_vcpus" {
		t.Errorf("breaking the admin file: AdminBroken = %v, Breaks() = %v", r.AdminBroken, r.Breaks())
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "every run aborts before any action") {
		t.Errorf("text does not say that runs abort:\n%s", b.String())
	}

	r = Compare(bad, good, now)
	if !r.AdminFixed || r.Breaks() {
		t.Errorf("fixing the admin file: AdminFixed = %v, Breaks() = %v", r.AdminFixed, r.Breaks())
	}
}

// TestRegions: a region added gets every project's templates; one removed
// is no longer managed at all, which the note must say.
func TestRegions(t *testing.T) {
	one := loadFS(t, map[string]string{"launchwarden.toml": admin, "projects/demo.toml": project})
	two := loadFS(t, map[string]string{"launchwarden.toml": strings.Replace(admin, `["us-east-1"]`, `["us-east-1", "eu-west-1"]`, 1), "projects/demo.toml": project})
	for _, tt := range []struct {
		name      string
		base, hd  *Repo
		key, note string
	}{
		{"added", one, two, "aws.accounts[test].regions", "every project's templates are created in the added regions"},
		{"removed", two, one, "aws.accounts[test].regions", "launchwarden stops managing the removed ones: their templates and instances are left as they are, and nothing there expires any more"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(tt.base, tt.hd, now)
			if len(r.Admin) != 1 || r.Admin[0].Key != tt.key || r.Admin[0].Note != tt.note {
				t.Errorf("admin changes = %+v, want one change of %s noting %q", r.Admin, tt.key, tt.note)
			}
		})
	}
}

// TestNothingOutsideTheRepoIsRead: a head with a project file, or the whole
// projects folder, linked to a file outside the repo reports a problem and
// never shows what the target holds.
func TestNothingOutsideTheRepoIsRead(t *testing.T) {
	outside := t.TempDir()
	secret := "owners = [\"s3cr3t-token-value\"]\n"
	if err := os.WriteFile(filepath.Join(outside, "x.toml"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	base := loadFS(t, map[string]string{"launchwarden.toml": admin, "projects/demo.toml": project})
	for _, link := range []string{"projects/evil.toml", "projects"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "launchwarden.toml"), []byte(admin), 0o644); err != nil {
				t.Fatal(err)
			}
			target := outside
			if link != "projects" {
				target = filepath.Join(outside, "x.toml")
				if err := os.Mkdir(filepath.Join(dir, "projects"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
				t.Fatal(err)
			}
			r := Compare(base, load(t, dir), now)
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "s3cr3t") {
				t.Errorf("the report shows a file outside the repo:\n%s", b.String())
			}
			if !strings.Contains(b.String(), "symbolic link") {
				t.Errorf("the report does not name the link:\n%s", b.String())
			}
		})
	}
}

func TestNotConfigRepo(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, now)
	if _, ok := err.(*NotConfigRepoError); !ok || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(empty dir) = %v, want a NotConfigRepoError naming the dir", err)
	}
	if _, err := Load(filepath.Join(dir, "missing"), now); !os.IsNotExist(err) {
		t.Errorf("Load(missing dir) = %v, want not-exist", err)
	}
}

// TestMarkdownQuotesConfigValues: a value from the config cannot end a
// table cell, open HTML or mention someone.
func TestMarkdownQuotesConfigValues(t *testing.T) {
	head := strings.Replace(project, `instance_type = "t3.large"`, "instance_type = \"t3.large\"\ntags = { note = \"a|b `x` <img src=x> @octocat\" }", 1)
	r := Compare(loadFS(t, map[string]string{"launchwarden.toml": admin, "projects/demo.toml": project}),
		loadFS(t, map[string]string{"launchwarden.toml": admin, "projects/demo.toml": head}), now)
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want := "| `tags.note` | — | ``a\\|b `x` <img src=x> @octocat`` |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("tag value not quoted as code; want the row %s in:\n%s", want, b.String())
	}
}

// TestMarkdownSize: however big the change, the comment stays within
// GitHub's 65,536 characters.
func TestMarkdownSize(t *testing.T) {
	files := map[string]string{"launchwarden.toml": admin}
	for i := range 400 {
		files[fmt.Sprintf("projects/p%03d.toml", i)] = strings.Replace(project, "#demo", fmt.Sprintf("#p%03d", i), 1)
	}
	base := loadFS(t, map[string]string{"launchwarden.toml": admin, "projects/demo.toml": project})
	r := Compare(base, loadFS(t, files), now)
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 65536 || !strings.Contains(b.String(), "more sections left out") {
		t.Errorf("markdown is %d bytes; want at most 65536 and a note on what was left out", b.Len())
	}
}

func TestLineDiff(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       []string
	}{
		{"add", "a\nb\n", "a\nx\nb\n", []string{"  a", "+ x", "  b"}},
		{"remove", "a\nb\nc", "a\nc", []string{"  a", "- b", "  c"}},
		{"replace", "a\nb\nc", "a\nx\nc", []string{"  a", "- b", "+ x", "  c"}},
		{"from nothing", "", "a", []string{"+ a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lineDiff(tt.a, tt.b)); diff != "" {
				t.Errorf("lineDiff (-want +got):\n%s", diff)
			}
		})
	}
	// Hostile sizes fall back to removed-then-added without a big table.
	a, b := strings.Repeat("a\n", 5000), strings.Repeat("b\n", 5000)
	if got := lineDiff(a, b); len(got) != 10000 || got[0] != "- a" || got[9999] != "+ b" {
		t.Errorf("large lineDiff: %d lines", len(got))
	}
}

// TestPositionsAreNotChanges: a line number that moved is no change.
func TestPositionsAreNotChanges(t *testing.T) {
	type net struct {
		VPCID   string
		VPCLine int
		Lines   map[string]int
	}
	type cfg struct{ Networks map[string]net }
	a := cfg{map[string]net{"us-east-1": {VPCID: "vpc-1", VPCLine: 3, Lines: map[string]int{"": 2}}}}
	b := cfg{map[string]net{"us-east-1": {VPCID: "vpc-2", VPCLine: 9, Lines: map[string]int{"": 8}}}}
	got := compare(a, b, nil)
	want := []FieldChange{{Key: "networks.us-east-1.vpc_id", Before: "vpc-1", After: "vpc-2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compare (-want +got):\n%s", diff)
	}
}

func TestSnake(t *testing.T) {
	for name, want := range map[string]string{
		"MaxVCPUs": "max_vcpus", "VolumeGiB": "volume_gib", "SSHKeysFromGitHub": "ssh_keys_from_github",
		"SSHFrom": "ssh_from", "VPCID": "vpc_id", "SubnetIDs": "subnet_ids", "RoleARN": "role_arn",
		"KeysURL": "keys_url", "TTL": "ttl", "MaxTTL": "max_ttl", "AllowWorldSSH": "allow_world_ssh",
		"AvailabilityZone": "availability_zone", "AWS": "aws", "GitHub": "github",
	} {
		if got := snake(name); got != want {
			t.Errorf("snake(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestTighterNote follows limits.Check: over the count the newest are
// terminated, over the vCPUs or of a type no longer allowed they are
// stopped, and the project's mode has the last word.
func TestTighterNote(t *testing.T) {
	enforce := projects.Lifecycle{Mode: projects.ModeEnforce}
	tests := []struct {
		name, key, before, after string
		l                        projects.Lifecycle
		want                     string
	}{
		{"fewer instances", "max_instances", "6", "4", enforce, "if more than 4 instances run, the newest are terminated after a notice; templates close to new launches while one more would pass the limit"},
		{"fewer instances, stop-only", "max_instances", "6", "4", projects.Lifecycle{Mode: projects.ModeStopOnly}, "if more than 4 instances run, the newest are stopped after a notice; templates close to new launches while one more would pass the limit"},
		{"fewer vCPUs, notify-only", "max_vcpus", "16", "8", projects.Lifecycle{Mode: projects.ModeNotifyOnly}, "if running instances use more than 8 vCPUs, the newest are only warned (notify-only); templates close to new launches while one more would pass the limit"},
		{"more instances", "max_instances", "4", "6", enforce, ""},
		{"a type dropped", "allowed_instance_types", "t3.*, m6i.*", "t3.*", enforce, "running instances of a type no longer allowed are stopped after a notice"},
		{"a type added", "allowed_instance_types", "t3.*", "t3.*, m6i.*", enforce, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tighterNote(tt.key, tt.before, tt.after, tt.l); got != tt.want {
				t.Errorf("tighterNote = %q, want %q", got, tt.want)
			}
		})
	}
}
