// Package notify decides what teams are told after a run and whether they
// were told: it groups the run's notices into one digest per Slack channel,
// renders them, delivers them through a Sender and classifies each delivery
// failure as retryable or permanent.
//
// The delivery result is the gate in front of every stop and terminate: a
// Result whose Err is nil means the digest, and every notice in it, reached
// its channel. Anything else, including ErrNotSent from Discard, means the
// team was not told, so the reconciler must not act on those notices.
//
// The package is a leaf: it imports no Slack or AWS code. notify/slack
// implements Sender with slack-go.
package notify

import (
	"context"
	"errors"
	"time"
)

// Kind is what a notice is about. Its position in Kinds is the order in
// which digests present sections.
type Kind string

// The kinds of notice a run produces.
const (
	// KindFrozen: a project file failed validation; nothing destructive happens to the project.
	KindFrozen Kind = "frozen"
	// KindSafety: the run held back actions because they exceeded the admin cap.
	KindSafety Kind = "safety"
	// KindUndelivered: another channel's digest could not be delivered (admin digest).
	KindUndelivered Kind = "undelivered"
	// KindActionFailed: an EC2 action the run attempted failed.
	KindActionFailed Kind = "action-failed"
	// KindUntrusted: launchwarden tags that launchwarden did not write: a
	// state tag whose signature does not verify, or an instance labelled
	// with a project that no managed template launched (admin digest).
	KindUntrusted Kind = "untrusted"
	// KindExtended: someone extended the instance with a digest's Extend
	// button (admin digest).
	KindExtended Kind = "extended"
	// KindExpiring: Action will happen to the instance at Deadline.
	KindExpiring Kind = "expiring"
	// KindOverQuota: the project is over a limit; Action will happen at Deadline.
	KindOverQuota Kind = "over-quota"
	// KindDisallowedType: the instance runs a type the project may not use.
	KindDisallowedType Kind = "disallowed-type"
	// KindStopped: the run stops the instance right after the digest is
	// delivered (and only then).
	KindStopped Kind = "stopped"
	// KindTerminated: the run terminates the instance right after the
	// digest is delivered (and only then).
	KindTerminated Kind = "terminated"
	// KindOrphan: the instance's project or template left the config; Action at Deadline.
	KindOrphan Kind = "orphan"
	// KindLaunchesClosed: a template was closed: the launch guard refuses
	// launches from it until usage allows (or the project file is fixed).
	KindLaunchesClosed Kind = "launches-closed"
	// KindLaunchesOpened: a closed template was opened again.
	KindLaunchesOpened Kind = "launches-opened"
	// KindTemplateChanged: a launch template got a new version.
	KindTemplateChanged Kind = "template-changed"
	// KindKeysKept: SSH keys could not be refreshed, so the template keeps the previous keys.
	KindKeysKept Kind = "keys-kept"
	// KindTemplateHeld: a template is left as it is (or not created) in a
	// region because of problems found against EC2, e.g. no image there.
	KindTemplateHeld Kind = "template-held"
)

// Kinds lists every kind in presentation order: what needs attention first.
var Kinds = []Kind{
	KindFrozen, KindSafety, KindUndelivered, KindActionFailed, KindUntrusted,
	KindExtended, KindTemplateHeld, KindExpiring, KindOverQuota, KindDisallowedType, KindLaunchesClosed,
	KindStopped, KindTerminated, KindOrphan,
	KindLaunchesOpened, KindTemplateChanged, KindKeysKept,
}

// Notice is one thing a team (or the admins) must learn from a run.
type Notice struct {
	Kind    Kind   `json:"kind"`
	Channel string `json:"channel"`           // Slack channel the notice goes to
	Project string `json:"project,omitempty"` // "" for notices about no project (safety, undelivered)
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`

	InstanceID   string `json:"instance_id,omitempty"`
	Template     string `json:"template,omitempty"`
	InstanceType string `json:"instance_type,omitempty"`

	// Action is "stop" or "terminate": announced for expiring, over-quota
	// and orphan notices, taken for stopped and terminated ones.
	Action string `json:"action,omitempty"`
	// Deadline is when the announced action happens.
	Deadline time.Time `json:"deadline,omitzero"`
	// TerminateAt is set on a stopped notice when the stopped instance will
	// be terminated then: the stop's message is its termination notice.
	TerminateAt time.Time `json:"terminate_at,omitzero"`
	// Reason is short and human, e.g. "TTL 3d reached", "over vCPU quota".
	Reason string `json:"reason,omitempty"`
	// Detail is free text: config problems with file:line, a template change summary.
	Detail string `json:"detail,omitempty"`
}

// Usage is a project's consumption against its effective limits. A zero
// maximum means unlimited. Its JSON is snake_case like every object of
// `plan --format json` and `status --format json`.
type Usage struct {
	Project      string `json:"project"`
	Instances    int    `json:"instances"`
	MaxInstances int    `json:"max_instances"`
	VCPUs        int    `json:"vcpus"`
	MaxVCPUs     int    `json:"max_vcpus"`
}

// Digest is everything one channel is told by one run: one message.
type Digest struct {
	Channel string
	// Project is the project the channel serves, or "" when the digest
	// carries notices of several projects or of none (the admin digest).
	Project string
	RunID   string
	Now     time.Time
	Notices []Notice
	// Usage is the project's usage, when Project is set and usage is known.
	Usage *Usage
	// ExtendHint tells how to extend an instance in this config repo, e.g.
	// a link to the projects directory; optional.
	ExtendHint string
	// StatusURL is the base URL of serve's status pages ([web] base_url);
	// when set, each item about an instance links to its project's page.
	StatusURL string
	// ExtendBy is, by project, what the Extend button on the project's
	// expiry items adds (caps.button_extend). A project without an entry
	// gets no button: set only on team digests, and left out for frozen
	// projects. Senders that cannot carry buttons (webhooks) drop them.
	ExtendBy map[string]time.Duration
}

// Sender delivers one digest. A nil error means it was delivered.
type Sender interface {
	Send(ctx context.Context, d Digest) error
}

// Result is the delivery outcome of one digest: Err == nil ⇔ delivered.
type Result struct {
	Digest Digest
	Err    error
}

// ErrNotSent is returned by Discard: notifications are off, so nothing was
// delivered and the gate stays closed.
var ErrNotSent = errors.New("notifications are disabled: digest not sent")

// permanentError marks a failure that retrying cannot fix (unknown channel,
// revoked token, missing webhook).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: retrying the same delivery cannot
// succeed. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent. Errors that are not marked are retryable.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
