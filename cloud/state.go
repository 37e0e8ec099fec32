package cloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// MinStateKeyLen is the shortest state key accepted, in bytes: 32 bytes,
// the size of HMAC-SHA256's output, so that the key is not the weak part.
const MinStateKeyLen = 32

// sigLen is how many bytes of the HMAC-SHA256 a signed value keeps: 16
// bytes (128 bits, 32 hex digits), as HMAC-SHA-256-128 does (RFC 4868).
// A forger can check a guess only by tagging an instance and waiting for a
// run to act on it, so 2^-128 per guess is far beyond reach, while the
// value stays well inside EC2's 256-character tag values.
const sigLen = 16

// sigSep separates a state value from its signature. Tag values keep to
// letters, digits, spaces and + - = . _ : / @, which every AWS service
// accepts in tags.
const sigSep = " sig="

// StateKeys sign the state values launchwarden writes on instances and
// verify them when it reads them back. The current key signs; it and the
// previous keys (kept while a rotation settles) verify.
//
// A value's signature covers the tag key, the value and a scope: the
// instance ID for values written on one instance at a time (expires-at,
// keep, protected, adopted, extended), and nothing for notices, whose value is shared
// by every instance of one project and stage announced in one run and
// names that project, stage, time and run itself (see lifecycle.Notice).
type StateKeys struct {
	keys [][]byte // current first
}

// NewStateKeys returns keys that sign with current and also verify with
// previous. Every key must be at least MinStateKeyLen bytes.
func NewStateKeys(current []byte, previous ...[]byte) (*StateKeys, error) {
	k := &StateKeys{}
	for i, key := range append([][]byte{current}, previous...) {
		if len(key) < MinStateKeyLen {
			which := "the state key"
			if i > 0 {
				which = fmt.Sprintf("previous state key %d", i)
			}
			return nil, fmt.Errorf("%s is %d bytes; it must be at least %d (e.g. 'openssl rand -hex 32')", which, len(key), MinStateKeyLen)
		}
		k.keys = append(k.keys, key)
	}
	return k, nil
}

// ErrNoStateKey is returned by writes of state values when the client has
// no StateKeys: unsigned state would be ignored by the next run.
var ErrNoStateKey = errors.New("no state key: state values cannot be signed")

// mac returns the truncated HMAC of a value under one key.
func mac(key []byte, scope, tag, value string) []byte {
	h := hmac.New(sha256.New, key)
	// Length-prefixed fields, so that no two (scope, tag, value) triples
	// share an input.
	fmt.Fprintf(h, "launchwarden-state-v1\x00%d:%s%d:%s%d:%s", len(scope), scope, len(tag), tag, len(value), value)
	return h.Sum(nil)[:sigLen]
}

// Sign returns value with its signature appended, for tag key tag in scope
// (an instance ID, or "" for a shared notice).
func (k *StateKeys) Sign(scope, tag, value string) string {
	return value + sigSep + hex.EncodeToString(mac(k.keys[0], scope, tag, value))
}

// Verify returns the value of a signed tag value and whether its signature
// is good under any of the keys. A nil *StateKeys verifies nothing.
func (k *StateKeys) Verify(scope, tag, signed string) (string, bool) {
	if k == nil {
		return "", false
	}
	i := strings.LastIndex(signed, sigSep)
	if i < 0 {
		return "", false
	}
	value, sig := signed[:i], signed[i+len(sigSep):]
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sigLen {
		return "", false
	}
	for _, key := range k.keys {
		if hmac.Equal(got, mac(key, scope, tag, value)) {
			return value, true
		}
	}
	return "", false
}

// stateScope is the scope a state tag's value is signed in: the instance
// for values written one instance at a time, nothing for notices (which are
// shared and name what they are about in their value).
func stateScope(tag, instanceID string) string {
	if tag == TagNotice {
		return ""
	}
	return instanceID
}

// stateTags are the instance tags whose values launchwarden signs, in the
// order Instance.Forged lists them; the constants below index them.
var stateTags = [...]string{TagExpiresAt, TagNotice, TagKeep, TagProtected, TagAdopted, TagExtended}

const (
	stateExpiresAt = iota
	stateNotice
	stateKeep
	stateProtected
	stateAdopted
	stateExtended
)

// IsStateTag reports whether key is a tag whose value launchwarden signs.
func IsStateTag(key string) bool {
	for _, k := range stateTags {
		if k == key {
			return true
		}
	}
	return false
}

// WriteState signs and writes state values on instances: ID → state tag →
// value (unsigned; see StateKeys for what each signature covers). Equal
// signed values share a CreateTags call, so a notice shared by many
// instances costs one call per 1000 of them. Without keys nothing is
// written and every ID fails with ErrNoStateKey.
func (c *Client) WriteState(ctx context.Context, changes map[string]map[string]string) BatchResult {
	if c.Keys == nil {
		var res BatchResult
		for id := range changes {
			res.fail([]string{id}, fmt.Errorf("writing state in %s: %w", c, ErrNoStateKey))
		}
		return res
	}
	signed := make(map[string]map[string]string, len(changes))
	// A value signed without its instance (a notice) is signed once for
	// all the instances that share it.
	type tag struct{ key, value string }
	shared := map[tag]string{}
	for id, tags := range changes {
		m := make(map[string]string, len(tags))
		for k, v := range tags {
			if IsStateTag(k) {
				if scope := stateScope(k, id); scope != "" {
					v = c.Keys.Sign(scope, k, v)
				} else if s, ok := shared[tag{k, v}]; ok {
					v = s
				} else {
					s = c.Keys.Sign(scope, k, v)
					shared[tag{k, v}] = s
					v = s
				}
			}
			m[k] = v
		}
		signed[id] = m
	}
	return c.ApplyTags(ctx, signed)
}

// LookupInstance describes one instance by ID in the client's region, its
// ownership and state judged as Observe judges them against the templates
// of snap (observed before). It returns nil, nil when the region has no
// such instance, or only a terminated one.
func (c *Client) LookupInstance(ctx context.Context, id string, snap *Snapshot) (*Instance, error) {
	owners := ownersOf(snap)
	out, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing %s in %s: %w", id, c, err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if in.State != nil && in.State.Name == ec2types.InstanceStateNameTerminated {
				continue
			}
			i := newInstance(in, c.Account, c.Region, owners, c.Keys)
			return &i, nil
		}
	}
	return nil, nil
}
