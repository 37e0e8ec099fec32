package projects

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIndexKeys(t *testing.T) {
	src := `# comment
owners = ["a", "b"] # trailing
"quoted key" = 1
dotted.inner = "x"

[slack]
channel = "#c"

[[templates]]
name = "one"
cloud_init = """
[not.a.table]
name = "not a key"
"""
tags = { team = "t", "a:b" = "c" }

[templates.extra]

[[templates]]
name = 'two'
ssh_from = [
  "192.0.2.0/24", # office
  "198.51.100.0/24",
]

[[templates.parts]]
x = 1

[slack.webhooks."#ops"]
url_env = "X"
`
	got := indexKeys(src)
	want := map[string]position{
		"owners":                        {2, 1},
		"owners[0]":                     {2, 11},
		"owners[1]":                     {2, 16},
		`"quoted key"`:                  {3, 1},
		"dotted":                        {4, 1},
		"dotted.inner":                  {4, 1},
		"slack":                         {6, 1},
		"slack.channel":                 {7, 1},
		"templates":                     {9, 1},
		"templates[0]":                  {9, 1},
		"templates[0].name":             {10, 1},
		"templates[0].cloud_init":       {11, 1},
		"templates[0].tags":             {15, 1},
		"templates[0].extra":            {17, 1},
		"templates[0].tags.team":        {15, 10},
		`templates[0].tags."a:b"`:       {15, 22},
		"templates[1]":                  {19, 1},
		"templates[1].name":             {20, 1},
		"templates[1].ssh_from":         {21, 1},
		"templates[1].ssh_from[0]":      {22, 3},
		"templates[1].ssh_from[1]":      {23, 3},
		"templates[1].parts":            {26, 1},
		"templates[1].parts[0]":         {26, 1},
		"templates[1].parts[0].x":       {27, 1},
		`slack.webhooks."#ops"`:         {29, 1},
		`slack.webhooks."#ops".url_env`: {30, 1},
	}
	for path, pos := range want {
		if diff := cmp.Diff(pos, got[path], cmp.AllowUnexported(position{})); diff != "" {
			t.Errorf("position of %s (-want +got):\n%s", path, diff)
		}
	}
	for _, notKey := range []string{"not.a.table", "templates[0].cloud_init.name", "templates[2]"} {
		if _, ok := got[notKey]; ok {
			t.Errorf("indexed %s, which is not a key", notKey)
		}
	}
}

func TestKeyIndexLookupFallsBackToParent(t *testing.T) {
	ix := indexKeys("[[templates]]\nname = \"a\"\n\n[[templates]]\nname = \"b\"\n")
	tests := []struct {
		path string
		want position
	}{
		{"templates[1].name", position{5, 1}},
		{"templates[1].image", position{4, 1}},
		{"templates[1].ssh_from[3]", position{4, 1}},
		{"nothing.here", position{}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ix.lookup(tt.path), cmp.AllowUnexported(position{})); diff != "" {
				t.Errorf("lookup (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParentPath(t *testing.T) {
	tests := map[string]string{
		"a.b":             "a",
		"a[2]":            "a",
		"a[2].b":          "a[2]",
		`a."x.y"`:         "a",
		`a."x[1]".b`:      `a."x[1]"`,
		"a":               "",
		`s."q\"uote.d".k`: `s."q\"uote.d"`,
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, parentPath(in)); diff != "" {
			t.Errorf("parentPath(%q) (-want +got):\n%s", in, diff)
		}
	}
}

// FuzzIndexKeys checks that the indexer survives any text, including text
// that is not TOML at all.
func FuzzIndexKeys(f *testing.F) {
	f.Add("a = 1\n[[t]]\nx = [1, {y = 2}]\n")
	f.Add("s = \"\"\"\nunterminated")
	f.Add("[a.\"b\nc = '")
	f.Add("k = { a = [\n# c\n], 'q' = '''x'''}")
	f.Fuzz(func(t *testing.T, src string) {
		for path, pos := range indexKeys(src) {
			if pos.line < 1 || pos.col < 1 {
				t.Errorf("%s at %+v", path, pos)
			}
		}
	})
}
