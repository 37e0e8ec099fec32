package slack

import (
	"github.com/slack-go/slack"

	"github.com/launchwarden/launchwarden/notify"
)

// Block Kit limits of buttons (https://docs.slack.dev/reference/block-kit/block-elements/button-element,
// .../blocks/actions-block, .../composition-objects/confirmation-dialog-object).
const (
	maxActionElements = 25 // elements in one actions block
	maxButtonText     = 75
	maxConfirmTitle   = 100
	maxConfirmText    = 300
)

// extendButtons is the actions block holding the Extend button of each
// item that has one, or nil when none does. Items are those a section
// shows (maxItems of them at most, fewer than maxActionElements), so every
// button sits under the line it extends.
func extendButtons(items []notify.Item) *slack.ActionBlock {
	var elems []slack.BlockElement
	for _, it := range items {
		if it.Extend == "" || len(elems) == maxActionElements {
			continue
		}
		b := slack.NewButtonBlockElement(notify.ExtendAction+it.Subject, it.Extend,
			plain(truncate(it.ExtendLabel+" · "+it.Subject, maxButtonText)))
		b.WithConfirm(slack.NewConfirmationBlockObject(
			plain(truncate(it.ExtendLabel+"?", maxConfirmTitle)),
			plain(truncate("Postpone the expiry of "+it.Subject+", within the max lifetime. The next run counts from the new expiry.", maxConfirmText)),
			plain("Extend"), plain("Cancel")))
		elems = append(elems, b)
	}
	if elems == nil {
		return nil
	}
	return slack.NewActionBlock("", elems...)
}
