package cloud

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// TestTemplateMarkersVerified: what someone with tag rights can write on a
// managed template: unsigned markers, markers copied from another
// template, a version number copied back from an older spec. None of them
// verifies; each counts as absent and is listed as forged. Labels and
// TagLaunch stay as they are.
func TestTemplateMarkersVerified(t *testing.T) {
	keys := testKeys(t, strings.Repeat("k", 32))
	const account, region, name = "123456789012", "us-east-1", "lw-packit-fedora"
	sign := func(name, key, value, spec string) string {
		return keys.Sign(markerScope(kindTemplate, account, region, name, key, spec), key, value)
	}
	template := func(tags map[string]string) Template {
		lt := ec2types.LaunchTemplate{LaunchTemplateId: aws.String("lt-1"), LaunchTemplateName: aws.String(name)}
		for k, v := range tags {
			lt.Tags = append(lt.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		return newTemplate(lt, account, region, keys)
	}
	labels := map[string]string{TagManaged: "true", TagProject: "packit", TagTemplate: "fedora", TagLaunch: "closed"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range labels {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	cases := []struct {
		name       string
		tags       map[string]string
		wantTags   map[string]string
		wantForged []string
	}{{
		name: "signed by launchwarden",
		tags: with(map[string]string{
			TagSpec:                sign(name, TagSpec, "s2", ""),
			TagVersion:             sign(name, TagVersion, "2", "s2"),
			TagImage:               sign(name, TagImage, "ami-2 Fedora-42", "s2"),
			"launchwarden:frozen":  sign(name, "launchwarden:frozen", "h1", ""),
			TagLaunchReason:        sign(name, TagLaunchReason, "max_instances 3 reached", ""),
			"launchwarden:strays":  sign(name, "launchwarden:strays", "h2", ""),
			"launchwarden:someday": sign(name, "launchwarden:someday", "x", ""),
		}),
		wantTags: with(map[string]string{
			TagSpec: "s2", TagVersion: "2", TagImage: "ami-2 Fedora-42", "launchwarden:frozen": "h1",
			TagLaunchReason: "max_instances 3 reached", "launchwarden:strays": "h2", "launchwarden:someday": "x",
		}),
	}, {
		name: "unsigned, as an older release or a person wrote them",
		tags: with(map[string]string{
			TagSpec: "s2", TagVersion: "2", "launchwarden:frozen": "h1", "launchwarden:frozen-bare": "h3",
			TagLaunchReason: "max_instances 3 reached", "launchwarden:strays": "h2", "launchwarden:held": "h4",
		}),
		wantTags: labels,
		wantForged: []string{"launchwarden:frozen", "launchwarden:frozen-bare", "launchwarden:held",
			TagLaunchReason, TagSpec, "launchwarden:strays", TagVersion},
	}, {
		name: "copied from another project's template",
		tags: with(map[string]string{
			TagSpec:               sign("lw-cockpit-fedora", TagSpec, "s2", ""),
			"launchwarden:frozen": sign("lw-cockpit-fedora", "launchwarden:frozen", "h1", ""),
		}),
		wantTags:   labels,
		wantForged: []string{"launchwarden:frozen", TagSpec},
	}, {
		name: "an old version and image put back beside the current spec",
		tags: with(map[string]string{
			TagSpec:    sign(name, TagSpec, "s2", ""),
			TagVersion: sign(name, TagVersion, "1", "s1"),
			TagImage:   sign(name, TagImage, "ami-1 Fedora-41", "s1"),
		}),
		wantTags:   with(map[string]string{TagSpec: "s2"}),
		wantForged: []string{TagImage, TagVersion},
	}, {
		name: "a marker with a cut signature",
		tags: with(map[string]string{
			"launchwarden:frozen": func() string { s := sign(name, "launchwarden:frozen", "h1", ""); return s[:len(s)-1] }(),
		}),
		wantTags:   labels,
		wantForged: []string{"launchwarden:frozen"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := template(c.tags)
			if diff := cmp.Diff(c.wantTags, got.Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.wantForged, got.Forged); diff != "" {
				t.Errorf("forged (-want +got):\n%s", diff)
			}
			if got.Spec != c.wantTags[TagSpec] {
				t.Errorf("spec = %q, want %q", got.Spec, c.wantTags[TagSpec])
			}
		})
	}
}

// TestGroupMarkersScoped: a group's marker signed for a template of the
// same name does not verify on the group.
func TestGroupMarkersScoped(t *testing.T) {
	keys := testKeys(t, strings.Repeat("k", 32))
	const account, region, name = "123456789012", "us-east-1", "lw-packit-fedora"
	group := func(value string) SecurityGroup {
		return newSecurityGroup(ec2types.SecurityGroup{GroupId: aws.String("sg-1"), GroupName: aws.String(name), Tags: []ec2types.Tag{
			{Key: aws.String(TagManaged), Value: aws.String("true")},
			{Key: aws.String("launchwarden:held"), Value: aws.String(value)},
		}}, account, region, keys)
	}
	good := group(keys.Sign(markerScope(kindGroup, account, region, name, "launchwarden:held", ""), "launchwarden:held", "h"))
	if good.Tags["launchwarden:held"] != "h" || good.Forged != nil {
		t.Errorf("signed for the group: tags %v, forged %v", good.Tags, good.Forged)
	}
	other := group(keys.Sign(markerScope(kindTemplate, account, region, name, "launchwarden:held", ""), "launchwarden:held", "h"))
	if _, ok := other.Tags["launchwarden:held"]; ok || len(other.Forged) != 1 {
		t.Errorf("signed for the template: tags %v, forged %v", other.Tags, other.Forged)
	}
}

// TestSignMarkers: markers are signed on the way out, labels are not; a
// version without its spec, or any marker without keys, is refused.
func TestSignMarkers(t *testing.T) {
	c := &Client{Account: "123456789012", Region: "us-east-1", Keys: testKeys(t, strings.Repeat("k", 32))}
	signed, err := c.signMarkers(kindTemplate, "lw-p-t", map[string]string{TagManaged: "true", TagSpec: "s", TagVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if signed[TagManaged] != "true" || !strings.HasPrefix(signed[TagSpec], "s sig=") || !strings.HasPrefix(signed[TagVersion], "1 sig=") {
		t.Errorf("signed = %v", signed)
	}
	tpl := newTemplate(ec2types.LaunchTemplate{LaunchTemplateName: aws.String("lw-p-t"), Tags: sdkTags(signed)}, c.Account, c.Region, c.Keys)
	if tpl.Tags[TagVersion] != "1" || tpl.Spec != "s" || tpl.Forged != nil {
		t.Errorf("read back: %+v", tpl)
	}
	if _, err := c.signMarkers(kindTemplate, "lw-p-t", map[string]string{TagVersion: "1"}); err == nil {
		t.Error("a version without its spec was signed")
	}
	c.Keys = nil
	if _, err := c.signMarkers(kindTemplate, "lw-p-t", map[string]string{"launchwarden:frozen": "h"}); err == nil {
		t.Error("a marker was written without keys")
	}
	if _, err := c.signMarkers(kindTemplate, "lw-p-t", map[string]string{TagManaged: "true"}); err != nil {
		t.Errorf("labels without keys: %v", err)
	}
}
