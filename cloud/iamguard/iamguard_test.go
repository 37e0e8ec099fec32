package iamguard_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud/iamguard"
	"github.com/launchwarden/launchwarden/projects"
)

func ptr[T any](v T) *T { return &v }

func admin(caps []string, grants map[string]projects.Grant) *projects.Admin {
	return &projects.Admin{
		AWS:    projects.AWS{Accounts: []projects.Account{{ID: "123456789012", RoleARN: "arn:aws:iam::123456789012:role/launchwarden"}}},
		Caps:   projects.Caps{AllowedInstanceTypes: caps, MaxVolumeGiB: 200},
		Grants: grants,
	}
}

func TestAllowedTypesIsTheUnionOfCapsAndGrants(t *testing.T) {
	a := admin([]string{"t3.*", "m7i.large"}, map[string]projects.Grant{
		"osbuild": {AllowedInstanceTypes: []string{"c7i.*", "t3.2xlarge"}},
		"cockpit": {AllowedInstanceTypes: []string{"m7i.*"}},
		"packit":  {MaxVolumeGiB: ptr(100)},
	})
	got, err := iamguard.AllowedTypes(a)
	if err != nil {
		t.Fatal(err)
	}
	// m7i.large and t3.2xlarge are covered by the family patterns.
	if diff := cmp.Diff([]string{"c7i.*", "m7i.*", "t3.*"}, got); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if got := iamguard.MaxVolumeGiB(a); got != 200 {
		t.Errorf("max volume = %d, want the caps' 200 (a smaller grant does not lower it)", got)
	}
	a.Grants["osbuild"] = projects.Grant{MaxVolumeGiB: ptr(500)}
	if got := iamguard.MaxVolumeGiB(a); got != 500 {
		t.Errorf("max volume = %d, want osbuild's 500", got)
	}
}

func TestGuardStatements(t *testing.T) {
	doc, err := iamguard.Guard(admin([]string{"t3.*"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	type stmt struct{ Sid, Resource, Op, Key string }
	var got []stmt
	for _, s := range doc.Statement {
		if s.Effect != "Deny" || s.Action != "ec2:RunInstances" {
			t.Errorf("%s: %s %s, want Deny ec2:RunInstances", s.Sid, s.Effect, s.Action)
		}
		for op, kv := range s.Condition {
			for k := range kv {
				got = append(got, stmt{s.Sid, s.Resource, op, k})
			}
		}
	}
	// Each key on the resource type that has it (RunInstances in the
	// Service Authorization Reference).
	want := []stmt{
		{"DenyClosedTemplates", "arn:aws:ec2:*:*:launch-template/*", "StringEquals", "aws:ResourceTag/launchwarden:launch"},
		{"DenyLaunchWithoutTemplate", "arn:aws:ec2:*:*:instance/*", "Null", "ec2:LaunchTemplate"},
		{"DenyUnmanagedTemplates", "arn:aws:ec2:*:*:launch-template/*", "StringNotEquals", "aws:ResourceTag/launchwarden:managed"},
		{"DenyInstanceTypes", "arn:aws:ec2:*:*:instance/*", "StringNotLike", "ec2:InstanceType"},
		{"DenyLargeVolumes", "arn:aws:ec2:*:*:volume/*", "NumericGreaterThan", "ec2:VolumeSize"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}

	doc, err = iamguard.Guard(admin([]string{"*"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Statement {
		if s.Sid == "DenyInstanceTypes" {
			t.Error(`caps allowing "*" still deny instance types`)
		}
	}
}

func TestGenerateFailsClearly(t *testing.T) {
	many := make([]string, 0, 400)
	for i := range 400 {
		many = append(many, "x"+strings.Repeat("y", i%7)+".family"+string(rune('a'+i%26))+string(rune('a'+i/26))+"*")
	}
	cases := map[string]struct {
		admin *projects.Admin
		want  string
	}{
		"character class": {admin([]string{"m[56]i.*"}, nil), `caps.allowed_instance_types: "m[56]i.*" cannot be written as an IAM StringLike pattern`},
		"in a grant":      {admin([]string{"t3.*"}, map[string]projects.Grant{"osbuild": {AllowedInstanceTypes: []string{`c7i\.*`}}}), `grants.osbuild.allowed_instance_types`},
		"too large":       {admin(many, nil), "above the 6144 of an IAM managed policy"},
		"partitions": {&projects.Admin{AWS: projects.AWS{Accounts: []projects.Account{
			{RoleARN: "arn:aws:iam::123456789012:role/a"}, {RoleARN: "arn:aws-us-gov:iam::123456789012:role/a"},
		}}, Caps: projects.Caps{AllowedInstanceTypes: []string{"t3.*"}, MaxVolumeGiB: 8}}, `partitions "aws" and "aws-us-gov"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := iamguard.Generate(tc.admin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestGeneratedPolicyFitsAndIsValidJSON(t *testing.T) {
	cfg, problems := projects.Load("../../examples/config-repo")
	if len(problems) > 0 {
		t.Fatalf("example config: %v", problems)
	}
	b, err := iamguard.Generate(cfg.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("not JSON:\n%s", b)
	}
	if n := iamguard.Size(b); n > iamguard.ManagedPolicyLimit || n < 500 {
		t.Errorf("size %d outside (500, %d]", n, iamguard.ManagedPolicyLimit)
	}
	// GovCloud accounts get their partition in every ARN.
	a := admin([]string{"t3.*"}, nil)
	a.AWS.Accounts[0].RoleARN = "arn:aws-us-gov:iam::123456789012:role/launchwarden"
	b, err = iamguard.Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "arn:aws:") || !strings.Contains(string(b), "arn:aws-us-gov:ec2:*:*:instance/*") {
		t.Errorf("GovCloud policy:\n%s", b)
	}
}
