package slack

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/launchwarden/launchwarden/notify"
)

// Slack's Block Kit limits (https://api.slack.com/reference/block-kit).
const (
	maxBlocks     = 50
	maxHeaderText = 150
	maxText       = 3000
	// maxItems keeps a section readable at a glance even when its items
	// would fit in maxText.
	maxItems = 15
	// maxDetail bounds the detail text under one item, so one long config
	// error cannot push the other items out.
	maxDetail = 600
	// maxFallback bounds the plain-text fallback, which Slack shows in
	// notifications and to clients without Block Kit.
	maxFallback = 3000
)

// emoji marks each kind's section so the digest reads at a glance.
var emoji = map[notify.Kind]string{
	notify.KindFrozen:          ":ice_cube:",
	notify.KindSafety:          ":rotating_light:",
	notify.KindUndelivered:     ":mailbox_with_no_mail:",
	notify.KindActionFailed:    ":x:",
	notify.KindExtended:        ":calendar:",
	notify.KindExpiring:        ":hourglass_flowing_sand:",
	notify.KindOverQuota:       ":chart_with_upwards_trend:",
	notify.KindDisallowedType:  ":no_entry:",
	notify.KindStopped:         ":double_vertical_bar:",
	notify.KindTerminated:      ":wastebasket:",
	notify.KindOrphan:          ":ghost:",
	notify.KindLaunchesClosed:  ":no_entry_sign:",
	notify.KindLaunchesOpened:  ":white_check_mark:",
	notify.KindTemplateChanged: ":gear:",
	notify.KindKeysKept:        ":key:",
	notify.KindTemplateHeld:    ":construction:",
}

// Blocks lays a digest out in Block Kit: a header with the headline, the
// project's usage, one section per kind (with the Extend buttons of the
// items it shows, and the extension snippet, after it), and a context line
// naming the run. It stays within Slack's limits of 50 blocks and 3,000
// characters per text: items that do not fit are counted ("… and 12
// more"), never silently dropped.
func Blocks(d notify.Digest) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(truncate(notify.Headline(d), maxHeaderText))),
	}
	if d.Usage != nil {
		blocks = append(blocks, section("*Usage:* "+escape(notify.UsageLine(*d.Usage))))
	}

	sections := notify.Sections(d)
	for i, s := range sections {
		text, shown := sectionText(s)
		buttons := extendButtons(s.Items[:shown])
		need := 2 // divider + section
		if s.Snippet != "" {
			need++
		}
		if buttons != nil {
			need++
		}
		// Keep one block for the context line, and one for the count of
		// sections that do not fit.
		if len(blocks)+need > maxBlocks-2 {
			rest := 0
			for _, r := range sections[i:] {
				rest += len(r.Items)
			}
			blocks = append(blocks, section(escape(notify.More(rest))))
			break
		}
		blocks = append(blocks, slack.NewDividerBlock(), section(text))
		if buttons != nil {
			blocks = append(blocks, buttons)
		}
		if s.Snippet != "" {
			blocks = append(blocks, section(truncate(escape(s.Note)+"\n```"+escape(s.Snippet)+"```", maxText)))
		}
	}

	blocks = append(blocks, slack.NewContextBlock("", markdown(escape(notify.ContextLine(d)))))
	return blocks
}

// sectionText renders a section's title, note and as many items as fit in
// one text object, ending with "… and N more" when some do not. It returns
// the text and how many items it shows.
func sectionText(s notify.Section) (string, int) {
	title := "*" + escape(s.Title) + "* (" + strconv.Itoa(len(s.Items)) + ")"
	if e := emoji[s.Kind]; e != "" {
		title = e + " " + title
	}
	var b strings.Builder
	b.WriteString(title)
	if s.Note != "" && s.Snippet == "" {
		b.WriteString("\n_" + escape(s.Note) + "_")
	}
	// Reserve room for the longest possible "… and N more" line.
	budget := maxText - len("\n"+notify.More(len(s.Items)))
	for i, it := range s.Items {
		line := "\n" + itemText(it)
		if i == maxItems || b.Len()+len(line) > budget {
			b.WriteString("\n" + notify.More(len(s.Items)-i))
			return truncate(b.String(), maxText), i
		}
		b.WriteString(line)
	}
	return truncate(b.String(), maxText), len(s.Items)
}

func itemText(it notify.Item) string {
	line := "•"
	switch {
	case it.Subject != "" && it.Link != "":
		line += " <" + escape(it.Link) + "|" + escape(it.Subject) + ">"
	case it.Subject != "":
		line += " `" + escape(it.Subject) + "`"
	}
	if it.About != "" {
		line += " (" + escape(it.About) + ")"
	}
	if it.What != "" {
		if line != "•" {
			line += ":"
		}
		line += " " + escape(it.What)
	}
	if it.Detail != "" {
		line += "\n```" + escape(truncate(it.Detail, maxDetail)) + "```"
	}
	return line
}

// FallbackText is the message's plain text: RenderText cut at a line
// boundary to fit in maxFallback characters.
func FallbackText(d notify.Digest) string {
	text := notify.RenderText(d)
	if len(text) <= maxFallback {
		return text
	}
	const cut = "\n… (truncated)"
	text = text[:maxFallback-len(cut)]
	if i := strings.LastIndexByte(text, '\n'); i > 0 {
		text = text[:i]
	}
	return text + cut
}

// escape makes text safe for mrkdwn: Slack asks that &, < and > be
// escaped, since < starts links and mentions.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// truncate cuts s to at most n bytes (so at most n characters) without
// splitting a UTF-8 sequence, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	i := n - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func markdown(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(markdown(s), nil, nil)
}
