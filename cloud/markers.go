package cloud

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Markers: launchwarden's state on launch templates and security groups.
//
// Every launchwarden:* tag on a template or group other than its labels
// (TagManaged, TagProject, TagTemplate) and TagLaunch is a marker that steers
// a decision or says what was announced: the spec hash, the version
// launchwarden made default, the current image, the hashes of the problems
// and strays already announced, the reason a template is closed. Anyone
// allowed to tag the template could otherwise write them: set a frozen
// project's problem hash so admins are never told, roll an image back with
// pin = true, or name an old version for launchwarden to make default. So
// markers are signed with the StateKeys like instance state, and a value
// that does not verify counts as absent (Template.Forged,
// SecurityGroup.Forged): it is recomputed, re-announced and reported.
//
// A marker's scope is the resource's kind, account, region and name: EC2
// keeps names unique per account and region (launch templates) or VPC
// (groups), and the name is what makes a template ours. Unlike an ID, the
// name is known before the resource exists, so a template is created with
// its markers signed in one call. TagVersion and TagImage are also bound
// to the spec hash they were written with (written together in one call):
// an old version number or image copied back after an update does not
// verify against the current spec.
//
// TagLaunch stays plain: the launch guard's IAM condition compares it with
// "closed". Its reason, TagLaunchReason, is a marker, and a template counts
// as closed by launchwarden only when that verifies.
const (
	// TagVersion on a template is the version launchwarden made default.
	TagVersion = "launchwarden:version"
	// TagImage on a template names the image its default version
	// launches, "<ami-id> <name>".
	TagImage = "launchwarden:image"
	// TagLaunch is "closed" on a template while launches from it are
	// refused (see package iamguard); unsigned, for IAM to read.
	TagLaunch = "launchwarden:launch"
	// TagLaunchReason says why a template is closed; a signed marker.
	TagLaunchReason = "launchwarden:launch-reason"
)

// IsMarker reports whether key, on a launch template or security group, is
// a signed marker (see above).
func IsMarker(key string) bool {
	switch key {
	case TagManaged, TagProject, TagTemplate, TagLaunch:
		return false
	}
	return strings.HasPrefix(key, "launchwarden:")
}

// boundToSpec reports whether a marker's signature also covers the spec hash.
func boundToSpec(key string) bool { return key == TagVersion || key == TagImage }

// Resource kinds for marker scopes.
const (
	kindTemplate = "launch-template"
	kindGroup    = "security-group"
)

// markerScope is what a marker of resource name (of kind, in account and
// region) is signed in; spec is the spec hash for markers bound to it.
func markerScope(kind, account, region, name, key, spec string) string {
	s := kind + " " + account + "/" + region + "/" + name
	if boundToSpec(key) {
		s += " spec=" + spec
	}
	return s
}

// verifyMarkers replaces, in tags, each marker's signed value by its value
// and removes those that do not verify, returning their keys sorted. The
// spec is verified first, as other markers may be bound to it.
func verifyMarkers(keys *StateKeys, kind, account, region, name string, tags map[string]string) []string {
	var forged []string
	spec := ""
	check := func(k string) {
		signed, ok := tags[k]
		if !ok {
			return
		}
		if v, ok := keys.Verify(markerScope(kind, account, region, name, k, spec), k, signed); ok {
			tags[k] = v
			return
		}
		delete(tags, k)
		forged = append(forged, k)
	}
	check(TagSpec)
	spec = tags[TagSpec]
	for k := range tags {
		if k != TagSpec && IsMarker(k) {
			check(k)
		}
	}
	slices.Sort(forged)
	return forged
}

// signMarkers returns tags with each marker signed for the resource; the
// other tags are copied as they are. Markers bound to the spec must be
// written with it. Without keys, tags with markers are an ErrNoStateKey.
func (c *Client) signMarkers(kind, name string, tags map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if !IsMarker(k) {
			out[k] = v
			continue
		}
		if c.Keys == nil {
			return nil, fmt.Errorf("tagging %s %s in %s: %w", kind, name, c, ErrNoStateKey)
		}
		spec, ok := tags[TagSpec]
		if boundToSpec(k) && !ok {
			return nil, fmt.Errorf("tagging %s %s in %s: %s is written with %s", kind, name, c, k, TagSpec)
		}
		out[k] = c.Keys.Sign(markerScope(kind, c.Account, c.Region, name, k, spec), k, v)
	}
	return out, nil
}

// TagTemplate sets tags on one launch template, named name, signing its
// markers.
func (c *Client) TagTemplate(ctx context.Context, id, name string, tags map[string]string) error {
	return c.tagResource(ctx, kindTemplate, id, name, tags)
}

// TagGroup sets tags on one security group, named name, signing its markers.
func (c *Client) TagGroup(ctx context.Context, id, name string, tags map[string]string) error {
	return c.tagResource(ctx, kindGroup, id, name, tags)
}

func (c *Client) tagResource(ctx context.Context, kind, id, name string, tags map[string]string) error {
	signed, err := c.signMarkers(kind, name, tags)
	if err != nil {
		return err
	}
	return c.CreateTags(ctx, []string{id}, signed).Failed[id]
}
