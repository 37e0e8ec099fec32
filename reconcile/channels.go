package reconcile

import (
	"slices"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
)

// TagChannel on a managed template records its project's Slack channel
// (projects.ChannelKey), a signed marker: the record that settles which of
// two project files naming the same channel is its established owner (see
// projects.Config.Settle). A project records its channel unless its grant
// lets it share it; a project sharing by grant leaves what is there.
const TagChannel = "launchwarden:channel"

// ChannelOwners returns, by channel key, the one project whose templates
// record it; a channel recorded by several projects maps to "" (nobody can
// be told apart).
func ChannelOwners(obs *Observation) map[string]string {
	owners := map[string]string{}
	for _, snap := range obs.Snapshots {
		for _, t := range snap.Templates {
			ch := t.Tags[TagChannel]
			if !t.Managed || ch == "" {
				continue
			}
			if o, seen := owners[ch]; seen && o != t.Project {
				owners[ch] = ""
				continue
			}
			owners[ch] = t.Project
		}
	}
	return owners
}

// planChannel records a valid project's channel on its template cur.
func planChannel(rp *RegionPlan, admin *projects.Admin, p *projects.Project, cur *cloud.Template) {
	want := recordedChannel(admin, p)
	switch got, ok := cur.Tags[TagChannel]; {
	case want == "" && p.SlackChannel != "":
		// Shared by grant: what is recorded stays.
	case want == "" && ok:
		rp.TemplateTags = append(rp.TemplateTags, TagChange{ID: cur.ID, Name: cur.Name, Delete: []string{TagChannel}})
	case want != "" && got != want:
		rp.TemplateTags = append(rp.TemplateTags, TagChange{ID: cur.ID, Name: cur.Name, Set: map[string]string{TagChannel: want}})
	}
}

// recordedChannel is the TagChannel value of project p's templates: its
// channel, unless it has none or its grant lets it share it.
func recordedChannel(admin *projects.Admin, p *projects.Project) string {
	if p.SlackChannel == "" {
		return ""
	}
	if admin != nil && slices.ContainsFunc(admin.Grants[p.Name].SharedChannels, func(g string) bool {
		return projects.ChannelKey(g) == projects.ChannelKey(p.SlackChannel)
	}) {
		return ""
	}
	return projects.ChannelKey(p.SlackChannel)
}
