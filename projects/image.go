package projects

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Values DescribeImages accepts, from the EC2 API reference: the owner
// aliases of the Owners parameter and the architecture filter's values
// (ArchitectureValues in the API model).
var (
	imageOwnerAliases   = []string{"self", "amazon", "aws-marketplace"}
	imageArchitectures  = []string{"x86_64", "arm64", "i386", "x86_64_mac", "arm64_mac"}
	imageNamePatternRe  = regexp.MustCompile(`^[A-Za-z0-9()\[\] ./'@_*?-]{1,128}$`)
	imageSelectorKeys   = []string{"owners", "name", "architecture", "pin"}
	imageSelectorSample = `[templates.image] with owners = ["125523088429"], name = "Fedora-Cloud-Base-Generic-41-*", architecture = "x86_64"`
)

// decodeImage reads the template's image: image = "ami-…" (one region),
// [templates.images] (an id per region) or [templates.image] (a selector).
// Exactly one of image and images must be given.
func decodeImage(t table, tpl *Template) {
	d := t.d
	switch {
	case t.has("image") && t.has("images"):
		d.report(t.keyPath("images"), "keep one of them", "set either image or images, not both")
		return
	case !t.has("image") && !t.has("images"):
		t.required("image", imageSelectorSample)
		return
	case t.has("images"):
		it, ok := t.sub("images")
		if !ok {
			return
		}
		if len(it.m) == 0 {
			d.report(it.path, `e.g. us-east-1 = "ami-0123456789abcdef0"`, "images is empty")
		}
		tpl.Images = map[string]string{}
		for _, region := range slices.Sorted(maps.Keys(it.m)) {
			if !regionRe.MatchString(region) {
				d.report(it.keyPath(region), `key each AMI id by its region, e.g. us-east-1 = "ami-…"`, "%q is not an AWS region", region)
				continue
			}
			if id, ok := it.str(region); ok {
				if msg := imageIDProblem(id); msg != "" {
					d.report(it.keyPath(region), `an AMI id is "ami-" and 8 or 17 hex digits, e.g. "ami-0123456789abcdef0"`, "%s", msg)
					continue
				}
				tpl.Images[region] = id
			}
		}
		return
	}
	switch v := t.m["image"].(type) {
	case string:
		if msg := imageIDProblem(v); msg != "" {
			d.report(t.keyPath("image"), `an AMI id is "ami-" and 8 or 17 hex digits, e.g. "ami-0123456789abcdef0"`, "%s", msg)
			return
		}
		tpl.Image = v
	case map[string]any:
		st, _ := t.sub("image")
		tpl.ImageSelector = decodeImageSelector(st)
	default:
		t.wrongType("image", "an AMI id or a selector table", imageSelectorSample, v)
	}
}

func imageIDProblem(s string) string {
	if !imageRe.MatchString(s) {
		return fmt.Sprintf("%q is not an AMI id", s)
	}
	return ""
}

// decodeImageSelector reads [templates.image]. Owners are required, as
// Packer and Terraform require them: a name pattern alone would match
// anyone's public image.
func decodeImageSelector(t table) *ImageSelector {
	d := t.d
	t.known(imageSelectorKeys...)
	sel := &ImageSelector{}
	ok := true
	if t.required("owners", `owners = ["125523088429"] (account ids, or "self", "amazon")`) {
		owners, good := t.strs("owners")
		ok = ok && good
		if good && len(owners) == 0 {
			d.report(t.keyPath("owners"), `list the accounts whose images you trust, e.g. ["125523088429"] or ["amazon"]`, "owners is empty: any account's public image could match")
			ok = false
		}
		for i, o := range owners {
			switch {
			case accountIDRe.MatchString(o) || slices.Contains(imageOwnerAliases, o):
				if slices.Contains(sel.Owners, o) {
					d.report(indexPath(t.keyPath("owners"), i), "list each owner once", "%q is listed twice", o)
					ok = false
					continue
				}
				sel.Owners = append(sel.Owners, o)
			default:
				d.report(indexPath(t.keyPath("owners"), i), `an owner is a 12-digit account id or one of "self", "amazon", "aws-marketplace"`, "%q is not an image owner", o)
				ok = false
			}
		}
	} else {
		ok = false
	}
	if t.required("name", `name = "Fedora-Cloud-Base-Generic-41-*"`) {
		if s, good := t.str("name"); good {
			if !imageNamePatternRe.MatchString(s) {
				d.report(t.keyPath("name"), "AMI names are 3 to 128 letters, digits, spaces and ( ) [ ] . / - ' @ _; * and ? are wildcards", "%q is not an image name pattern", s)
				ok = false
			} else if strings.Trim(s, "*?") == "" {
				d.report(t.keyPath("name"), `narrow the pattern, e.g. "Fedora-Cloud-Base-Generic-41-*"`, "name %q matches every image of the owners", s)
				ok = false
			}
			sel.Name = s
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	if t.required("architecture", `architecture = "x86_64"`) {
		if s, good := t.str("architecture"); good && slices.Contains(imageArchitectures, s) {
			sel.Architecture = s
		} else if good {
			d.report(t.keyPath("architecture"), `use "x86_64" or "arm64"`, "unknown architecture %q", s)
			ok = false
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	sel.Pin, _ = t.boolean("pin")
	if !ok {
		return nil
	}
	return sel
}

// checkImage reports an image that cannot be right in every region the
// template lives in: a plain id where there is more than one region, and a
// per-region table that misses a region or names one not managed.
func (r resolver) checkImage(path string, t Template, regions []string) {
	switch {
	case t.Image != "" && len(regions) > 1:
		r.d.report(joinKey(path, "image"),
			fmt.Sprintf(`use a selector, %s; or an id per region, [templates.images] with %s = "ami-…"`, imageSelectorSample, strings.Join(regions, ` = "ami-…", `)),
			"AMI ids are regional, and this template is created in %d regions (%s): the id exists in at most one of them", len(regions), strings.Join(regions, ", "))
	case t.Images != nil:
		for _, region := range regions {
			if _, ok := t.Images[region]; !ok {
				r.d.report(joinKey(path, "images"), fmt.Sprintf(`add %s = "ami-…"`, region), "no image for region %s, where the template is created", region)
			}
		}
		for _, region := range slices.Sorted(maps.Keys(t.Images)) {
			if !slices.Contains(regions, region) {
				r.d.report(joinKey(joinKey(path, "images"), region), "remove it, or ask an admin to manage the region", "region %s is not managed by launchwarden", region)
			}
		}
	}
}

// Regions returns every region of every account, sorted, without repeats:
// where each template is created.
func (a *Admin) Regions() []string {
	var out []string
	for _, acct := range a.AWS.Accounts {
		out = append(out, acct.Regions...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
