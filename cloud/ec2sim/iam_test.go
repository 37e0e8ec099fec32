package ec2sim

import (
	"testing"
)

// Each case cites the rule of "IAM JSON policy elements: Condition
// operators" (IAM User Guide) it checks.
func TestConditionOperators(t *testing.T) {
	rc := requestContext{
		"ec2:InstanceType":                    {"c7i.8xlarge"},
		"ec2:VolumeSize":                      {"500"},
		"ec2:LaunchTemplate":                  {"arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0abc"},
		"aws:ResourceTag/launchwarden:launch": {"closed"},
		"aws:TagKeys":                         {"team", "workload"},
	}
	cases := []struct {
		name string
		op   string
		key  string
		vals string // JSON
		want bool
	}{
		{"StringEquals matches exactly", "StringEquals", "ec2:InstanceType", `"c7i.8xlarge"`, true},
		{"StringEquals is case-sensitive", "StringEquals", "ec2:InstanceType", `"C7I.8XLARGE"`, false},
		{"values of one key are ORed", "StringEquals", "ec2:InstanceType", `["t3.small","c7i.8xlarge"]`, true},
		{"StringEqualsIgnoreCase folds case", "StringEqualsIgnoreCase", "ec2:InstanceType", `"C7I.8XLARGE"`, true},
		{"StringLike takes * and ?", "StringLike", "ec2:InstanceType", `"c?i.*"`, true},
		{"StringNotLike with several values is their AND", "StringNotLike", "ec2:InstanceType", `["t3.*","m7i.*"]`, true},
		{"StringNotLike false when one value matches", "StringNotLike", "ec2:InstanceType", `["t3.*","c7i.*"]`, false},
		{"missing key makes a positive operator false", "StringEquals", "ec2:Tenancy", `"default"`, false},
		{"missing key makes a negated operator true", "StringNotEquals", "ec2:Tenancy", `"default"`, true},
		{"IfExists is true when the key is missing", "StringEqualsIfExists", "ec2:Tenancy", `"dedicated"`, true},
		{"IfExists checks a present key", "StringEqualsIfExists", "ec2:InstanceType", `"t3.small"`, false},
		{"Null true means absent", "Null", "ec2:Tenancy", `"true"`, true},
		{"Null true on a present key", "Null", "ec2:LaunchTemplate", `"true"`, false},
		{"Null false means present", "Null", "aws:ResourceTag/launchwarden:launch", `"false"`, true},
		{"condition key names ignore case", "Null", "EC2:launchtemplate", `"false"`, true},
		{"tag keys keep their case", "Null", "aws:ResourceTag/LaunchWarden:Launch", `"false"`, false},
		{"NumericGreaterThan", "NumericGreaterThan", "ec2:VolumeSize", `"200"`, true},
		{"NumericGreaterThan takes a JSON number", "NumericGreaterThan", "ec2:VolumeSize", `500`, false},
		{"NumericLessThanEquals", "NumericLessThanEquals", "ec2:VolumeSize", `"500"`, true},
		{"ArnLike matches per component", "ArnLike", "ec2:LaunchTemplate", `"arn:aws:ec2:*:*:launch-template/*"`, true},
		{"ArnLike wrong service", "ArnLike", "ec2:LaunchTemplate", `"arn:aws:iam::*:launch-template/*"`, false},
		{"ArnEquals takes wildcards too", "ArnEquals", "ec2:LaunchTemplate", `"arn:aws:ec2:us-east-1:123456789012:launch-template/lt-*"`, true},
		{"ArnNotLike", "ArnNotLike", "ec2:LaunchTemplate", `"arn:aws:ec2:*:*:launch-template/lt-9*"`, true},
		{"ForAnyValue: one tag key matches", "ForAnyValue:StringEquals", "aws:TagKeys", `"team"`, true},
		{"ForAllValues: every tag key must match", "ForAllValues:StringEquals", "aws:TagKeys", `"team"`, false},
		{"ForAllValues: all match", "ForAllValues:StringLike", "aws:TagKeys", `["team","work*"]`, true},
		{"ForAllValues over a missing key is true", "ForAllValues:StringEquals", "aws:RequestTag/x", `"y"`, true},
		{"ForAnyValue over a missing key is false", "ForAnyValue:StringEquals", "aws:RequestTag/x", `"y"`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCondition(tc.op, tc.key, []byte(tc.vals))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.holds(rc); got != tc.want {
				t.Errorf("%s %s %s = %v, want %v", tc.op, tc.key, tc.vals, got, tc.want)
			}
		})
	}
}

func TestWildcard(t *testing.T) {
	cases := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"ec2:Run*", "ec2:RunInstances", false, true},
		{"ec2:run*", "ec2:RunInstances", true, true},
		{"ec2:run*", "ec2:RunInstances", false, false},
		{"arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/*", false, true},
		{"arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:volume/*", false, false},
		{"a*b*c", "aXbYbZc", false, true},
		{"a?c", "abbc", false, false},
	}
	for _, tc := range cases {
		if got := wildcard(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("wildcard(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

func TestStatementScope(t *testing.T) {
	p, err := parsePolicy([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","NotAction":"ec2:Describe*","NotResource":"arn:aws:ec2:*:*:launch-template/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	st := p.statements[0]
	for _, tc := range []struct {
		action, resource string
		want             bool
	}{
		{"ec2:RunInstances", "arn:aws:ec2:us-east-1:1:instance/*", true},
		{"ec2:DescribeInstances", "arn:aws:ec2:us-east-1:1:instance/*", false},
		{"ec2:RunInstances", "arn:aws:ec2:us-east-1:1:launch-template/lt-1", false},
	} {
		if got := st.appliesTo(tc.action, tc.resource); got != tc.want {
			t.Errorf("appliesTo(%s, %s) = %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
}

func TestParsePolicyRejectsWhatItCannotEvaluate(t *testing.T) {
	for name, doc := range map[string]string{
		"date operator":      `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}}`,
		"policy variable":    `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:ec2:*:*:instance/${aws:username}"}}`,
		"principal":          `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}`,
		"unknown element":    `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resources":"*"}}`,
		"no resource":        `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*"}}`,
		"bad effect":         `{"Version":"2012-10-17","Statement":{"Effect":"deny","Action":"*","Resource":"*"}}`,
		"old version":        `{"Version":"2000-01-01","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`,
		"numeric not number": `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"ec2:VolumeSize":"big"}}}}`,
		"null not bool":      `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"ec2:LaunchTemplate":"yes"}}}}`,
	} {
		if _, err := parsePolicy([]byte(doc)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
