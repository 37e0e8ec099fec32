// Package deploy_test keeps the deployment files true to the code: the IAM
// policy grants exactly the EC2 operations of cloud.EC2, every write only on
// resources launchwarden owns (by tag), and the manifests and systemd units
// keep the settings that stop two runs from acting at once.
package deploy_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The tag conditions that scope a write to launchwarden's own resources.
const (
	projectTag     = "aws:ResourceTag/launchwarden:project"     // instances of a project
	templateTag    = "aws:ResourceTag/aws:ec2launchtemplate:id" // instances launched from a template (set by EC2)
	managedTag     = "aws:ResourceTag/launchwarden:managed"     // templates and groups it created
	managedRequest = "aws:RequestTag/launchwarden:managed"      // what it creates
	adoptedRequest = "aws:RequestTag/launchwarden:adopted"      // an admin's adoption
)

// document is an IAM policy document, as much of it as the tests read.
type document struct {
	Version   string
	Statement []statement
}

type statement struct {
	Sid         string
	Effect      string
	Principal   map[string]stringList
	Action      stringList
	NotAction   stringList
	Resource    stringList
	NotResource stringList
	// Condition maps an operator (StringEquals, Null, …) to keys and values.
	Condition map[string]map[string]stringList
}

// stringList is an IAM value that may be one string or a list of them.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = many
	return nil
}

func readPolicy(t *testing.T, path string) document {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.Version != "2012-10-17" {
		t.Errorf("%s: Version = %q, want 2012-10-17 (older versions have no policy variables)", path, d.Version)
	}
	if len(d.Statement) == 0 {
		t.Fatalf("%s: no statements", path)
	}
	return d
}

// ec2Calls returns the EC2 operations launchwarden calls as IAM actions: the
// methods of the EC2 interface in cloud/api.go, read from the source so the
// policy test follows the interface as it grows.
func ec2Calls(t *testing.T) []string {
	t.Helper()
	const path = "../cloud/api.go"
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "EC2" {
			return true
		}
		iface, ok := ts.Type.(*ast.InterfaceType)
		if !ok {
			t.Fatalf("%s: EC2 is not an interface", path)
		}
		for _, m := range iface.Methods.List {
			for _, name := range m.Names {
				actions = append(actions, "ec2:"+name.Name)
			}
		}
		return false
	})
	if len(actions) == 0 {
		t.Fatalf("%s: found no methods of an EC2 interface", path)
	}
	slices.Sort(actions)
	return actions
}

// stringConst returns the value of the string constant name in a Go file.
func stringConst(t *testing.T, path, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: %s is not a string literal", path, name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
		}
	}
	t.Fatalf("%s: no constant %s", path, name)
	return ""
}

func isWrite(action string) bool { return !strings.HasPrefix(action, "ec2:Describe") }

// requiresTag reports whether the statement's condition only matches when
// key is present: Null false, or a positive string match (absent keys never
// match StringEquals or StringLike; they do match StringNotEquals and the
// IfExists forms, which therefore do not count).
func requiresTag(s statement, key string) bool {
	for op, keys := range s.Condition {
		values, ok := keys[key]
		if !ok {
			continue
		}
		switch op {
		case "Null":
			if slices.Equal(values, stringList{"false"}) {
				return true
			}
		case "StringEquals", "StringLike", "StringEqualsIgnoreCase":
			return true
		}
	}
	return false
}

// onlyResources reports whether every resource of s is of the given EC2
// resource type, e.g. "vpc" for arn:aws:ec2:*:*:vpc/*.
func onlyResources(s statement, kind string) bool {
	if len(s.Resource) == 0 {
		return false
	}
	for _, r := range s.Resource {
		parts := strings.SplitN(r, ":", 6)
		if len(parts) != 6 || parts[2] != "ec2" || !strings.HasPrefix(parts[5], kind+"/") {
			return false
		}
	}
	return true
}

func TestPolicyGrantsExactlyTheEC2Calls(t *testing.T) {
	p := readPolicy(t, "iam/launchwarden-policy.json")
	var granted []string
	for _, s := range p.Statement {
		for _, a := range s.Action {
			if !slices.Contains(granted, a) {
				granted = append(granted, a)
			}
		}
	}
	slices.Sort(granted)
	if diff := cmp.Diff(ec2Calls(t), granted); diff != "" {
		t.Errorf("actions granted by iam/launchwarden-policy.json differ from the methods of cloud.EC2 (-called +granted):\n%s", diff)
	}
}

func TestPolicyHasNoWildcardsOrExceptions(t *testing.T) {
	for _, s := range readPolicy(t, "iam/launchwarden-policy.json").Statement {
		if s.Effect != "Allow" {
			t.Errorf("statement %s: Effect %q; the policy only allows", s.Sid, s.Effect)
		}
		if len(s.NotAction) > 0 || len(s.NotResource) > 0 {
			t.Errorf("statement %s: NotAction or NotResource grant everything else", s.Sid)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: action %q has a wildcard; name each action", s.Sid, a)
			}
		}
		if slices.ContainsFunc(s.Action, isWrite) && slices.Contains(s.Resource, "*") {
			t.Errorf("statement %s: writes on Resource \"*\"; name the resource type's ARN", s.Sid)
		}
	}
}

func TestPolicyScopesEveryWriteToOwnedResources(t *testing.T) {
	p := readPolicy(t, "iam/launchwarden-policy.json")
	// CreateSecurityGroup is authorized on the VPC too, which carries no
	// launchwarden tag; the group itself must still carry launchwarden:managed.
	untagged := map[string]string{"ec2:CreateSecurityGroup": "vpc"}

	scoped := map[string]bool{}
	for _, s := range p.Statement {
		tagged := requiresTag(s, projectTag) || requiresTag(s, templateTag) || requiresTag(s, managedTag) ||
			requiresTag(s, managedRequest) || requiresTag(s, adoptedRequest)
		for _, a := range slices.DeleteFunc(slices.Clone(s.Action), func(a string) bool { return !isWrite(a) }) {
			switch {
			case tagged:
				scoped[a] = true
			case untagged[a] != "" && onlyResources(s, untagged[a]):
			default:
				t.Errorf("statement %s: %s without a condition on a launchwarden tag", s.Sid, a)
			}
			if (a == "ec2:StopInstances" || a == "ec2:TerminateInstances") && !requiresTag(s, projectTag) && !requiresTag(s, templateTag) {
				t.Errorf("statement %s: %s must require the %s or %s tag on the instance", s.Sid, a, projectTag, templateTag)
			}
		}
	}
	for _, a := range ec2Calls(t) {
		if isWrite(a) && !scoped[a] {
			t.Errorf("%s is not granted by any statement scoped to a launchwarden tag", a)
		}
	}
}

func TestAssumeRolePolicyNamesOnlyRoles(t *testing.T) {
	for _, s := range readPolicy(t, "iam/assume-role-policy.json").Statement {
		if diff := cmp.Diff(stringList{"sts:AssumeRole"}, s.Action); diff != "" {
			t.Errorf("statement %s: actions (-want +got):\n%s", s.Sid, diff)
		}
		if len(s.Resource) == 0 {
			t.Errorf("statement %s: no role ARNs", s.Sid)
		}
		for _, r := range s.Resource {
			if !strings.HasPrefix(r, "arn:aws:iam::") || !strings.Contains(r, ":role/") || strings.Contains(r, "*") {
				t.Errorf("statement %s: resource %q is not one role's ARN", s.Sid, r)
			}
		}
	}
}

func TestTrustPolicyMatchesTheSessionName(t *testing.T) {
	// The trust policy pins the session name the code assumes roles with, so
	// CloudTrail shows who acted; a rename in the code must update it.
	session := stringConst(t, "../cloud/connect.go", "roleSessionName")
	for _, s := range readPolicy(t, "iam/trust-policy.json").Statement {
		if diff := cmp.Diff(stringList{"sts:AssumeRole"}, s.Action); diff != "" {
			t.Errorf("statement %s: actions (-want +got):\n%s", s.Sid, diff)
		}
		if len(s.Principal["AWS"]) == 0 || slices.Contains(s.Principal["AWS"], "*") {
			t.Errorf("statement %s: Principal.AWS = %q, want the base identity's ARN", s.Sid, s.Principal["AWS"])
		}
		if diff := cmp.Diff(stringList{session}, s.Condition["StringEquals"]["sts:RoleSessionName"]); diff != "" {
			t.Errorf("statement %s: sts:RoleSessionName (-code +policy):\n%s", s.Sid, diff)
		}
	}
}

// There is no YAML or unit-file parser among the module's dependencies, so
// these checks look for exact lines (trimmed), which is what an operator
// reading the file sees too.
func TestDeploymentFilesKeepTheirGuarantees(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		lines []string
	}{
		{
			name: "cronjob never overlaps and never retries",
			file: "kubernetes/cronjob.yaml",
			lines: []string{
				"concurrencyPolicy: Forbid", "backoffLimit: 0", "restartPolicy: Never",
				"startingDeadlineSeconds: 300", "activeDeadlineSeconds: 780", "- --timeout=10m",
				"- run", "- --config=/config/repo", "- --one-time", "- --link=repo",
				"eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/launchwarden-base",
			},
		},
		{
			name: "deployment has one replica, replaced not rolled",
			file: "kubernetes/deployment.yaml",
			lines: []string{
				"replicas: 1", "type: Recreate", "terminationGracePeriodSeconds: 120",
				"- serve", "- --config=/config/repo", "- --listen=:8080", "- --period=60s",
				"path: /healthz", "path: /readyz", `prometheus.io/scrape: "true"`,
			},
		},
		{
			name:  "pods are locked down",
			file:  "kubernetes/cronjob.yaml",
			lines: []string{"runAsNonRoot: true", "readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", `drop: ["ALL"]`, "type: RuntimeDefault"},
		},
		{
			name:  "serve pod is locked down",
			file:  "kubernetes/deployment.yaml",
			lines: []string{"runAsNonRoot: true", "readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", `drop: ["ALL"]`, "type: RuntimeDefault"},
		},
		{
			name:  "timer fires every 15 minutes and catches up",
			file:  "systemd/launchwarden.timer",
			lines: []string{"OnCalendar=*:0/15", "Persistent=true", "WantedBy=timers.target"},
		},
		{
			name: "run unit is one-shot, pulls first and is sandboxed",
			file: "systemd/launchwarden.service",
			lines: []string{
				"Type=oneshot", "ExecStartPre=/usr/local/libexec/launchwarden-sync-config %S/launchwarden/config",
				"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
				"EnvironmentFile=/etc/launchwarden/launchwarden.env",
			},
		},
		{
			name: "serve unit excludes the timer and is sandboxed",
			file: "systemd/launchwarden-serve.service",
			lines: []string{
				"Conflicts=launchwarden.timer launchwarden.service", "Restart=on-failure",
				"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
				"EnvironmentFile=/etc/launchwarden/launchwarden.env",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for line := range strings.Lines(string(b)) {
				// Drop a trailing YAML comment, e.g. "- --repo=… # CHANGE ME".
				if i := strings.Index(line, " #"); i >= 0 {
					line = line[:i]
				}
				have[strings.TrimSpace(line)] = true
			}
			var missing []string
			for _, l := range tt.lines {
				if !have[l] {
					missing = append(missing, l)
				}
			}
			if diff := cmp.Diff([]string(nil), missing); diff != "" {
				t.Errorf("%s lacks lines (-want +missing):\n%s", tt.file, diff)
			}
		})
	}
}

// TestStateTagDenyPolicy checks the policy for every other principal of an
// account (the provisioning service's role, people): it must deny writing
// or removing any launchwarden tag on any resource after launch, deny the
// state tags (everything but the project and template labels that our
// templates put on the instances they launch) at launch too, since tags in
// a create call are authorized as CreateTags with ec2:CreateAction, and
// deny changing or deleting managed templates (the template is what makes
// an instance launchwarden's). launchwarden's own role is exempt, so the
// policy can be attached anywhere, an SCP included.
func TestStateTagDenyPolicy(t *testing.T) {
	p := readPolicy(t, "iam/state-tags-deny-policy.json")
	stateKeys := stringList{"launchwarden:managed"}
	for _, name := range []string{"TagExpiresAt", "TagNotice", "TagKeep", "TagProtected", "TagAdopted"} {
		stateKeys = append(stateKeys, stringConst(t, "../cloud/types.go", name))
	}
	slices.Sort(stateKeys)

	bySid := map[string]statement{}
	for _, s := range p.Statement {
		if s.Effect != "Deny" {
			t.Errorf("statement %s: Effect %q; this policy only denies", s.Sid, s.Effect)
		}
		if diff := cmp.Diff(stringList{"arn:aws:iam::*:role/launchwarden"}, s.Condition["ArnNotLike"]["aws:PrincipalArn"]); diff != "" {
			t.Errorf("statement %s: launchwarden's own role must be exempt (-want +got):\n%s", s.Sid, diff)
		}
		bySid[s.Sid] = s
	}

	after := bySid["DenyLaunchwardenTagsAfterLaunch"]
	if diff := cmp.Diff(stringList{"ec2:CreateTags", "ec2:DeleteTags"}, after.Action); diff != "" {
		t.Errorf("after launch: actions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(stringList{"launchwarden:*"}, after.Condition["ForAnyValue:StringLike"]["aws:TagKeys"]); diff != "" {
		t.Errorf("after launch: tag keys (-want +got):\n%s", diff)
	}
	// StringNotEquals matches when ec2:CreateAction is absent: every plain
	// CreateTags and DeleteTags, and create calls other than RunInstances
	// (a template or group tagged launchwarden:managed by someone else).
	if diff := cmp.Diff(stringList{"RunInstances"}, after.Condition["StringNotEquals"]["ec2:CreateAction"]); diff != "" {
		t.Errorf("after launch: ec2:CreateAction (-want +got):\n%s", diff)
	}
	if !slices.Contains(after.Resource, "*") {
		t.Errorf("after launch: resources %q, want every resource", after.Resource)
	}

	launch := bySid["DenyLaunchwardenStateTagsAtLaunch"]
	if diff := cmp.Diff(stringList{"ec2:CreateTags"}, launch.Action); diff != "" {
		t.Errorf("at launch: actions (-want +got):\n%s", diff)
	}
	got := slices.Clone(launch.Condition["ForAnyValue:StringLike"]["aws:TagKeys"])
	slices.Sort(got)
	if diff := cmp.Diff(stateKeys, got); diff != "" {
		t.Errorf("at launch: the state tags denied (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(stringList{"RunInstances"}, launch.Condition["StringEquals"]["ec2:CreateAction"]); diff != "" {
		t.Errorf("at launch: ec2:CreateAction (-want +got):\n%s", diff)
	}

	templates := bySid["DenyChangingManagedLaunchTemplates"]
	for _, a := range []string{"ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate"} {
		if !slices.Contains(templates.Action, a) {
			t.Errorf("managed templates: %s not denied", a)
		}
	}
	if !requiresTag(templates, managedTag) || !onlyResources(templates, "launch-template") {
		t.Errorf("managed templates: want a deny on launch-template/* carrying %s", managedTag)
	}
}
