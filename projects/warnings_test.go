package projects

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestLifetimeWarnings(t *testing.T) {
	for _, tt := range []struct {
		name, lifecycle string
		want            string // "" for no warning
	}{
		{"min_notice outweighs warn_before", "ttl = \"12h\"\nwarn_before = \"2h\"",
			"projects/demo.toml:6:1: lifecycle.warn_before: instances live about ttl − warn_before + min_notice = 12h − 2h + 12h = 22h, not 12h (a notice gives at least caps.min_notice; set warn_before to 12h or more to have instances stopped at their ttl)"},
		{"warn_before equals min_notice", "ttl = \"2d\"\nwarn_before = \"12h\"", ""},
		{"notify-only stops nothing", "ttl = \"12h\"\nwarn_before = \"2h\"\nmode = \"notify-only\"", ""},
		{"default warn_before is half a short ttl", "ttl = \"6h\"",
			"projects/demo.toml:4:1: lifecycle.warn_before: instances live about ttl − warn_before + min_notice = 6h − 3h + 12h = 15h, not 6h (a notice gives at least caps.min_notice; set warn_before to 12h or more to have instances stopped at their ttl)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := caseFS(t, "testdata/shared").(fstest.MapFS)
			m[AdminFile] = &fstest.MapFile{Data: append(m[AdminFile].Data, "allowed_modes = [\"notify-only\"]\n"...)}
			m["projects/demo.toml"] = &fstest.MapFile{Data: []byte("owners = [\"octocat\"]\n[slack]\nchannel = \"#demo\"\n[lifecycle]\n" + tt.lifecycle + "\n")}
			cfg, probs := LoadFS(m, testNow)
			if err := probs.Err(); err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(cfg.Warnings) > 0 {
				got = cfg.Warnings[0].String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warning (-want +got):\n%s", diff)
			}
		})
	}
}
