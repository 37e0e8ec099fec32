package reconcile

import (
	"testing"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
)

// TestNamesAgree: validation checks that names are unique with
// projects.TemplateName, EC2 gets cloud.ManagedName; they must be one name.
func TestNamesAgree(t *testing.T) {
	for _, pt := range [][2]string{{"a-b", "c"}, {"a", "b-c"}, {"packit", "fedora"}} {
		if got, want := projects.TemplateName(pt[0], pt[1]), cloud.ManagedName(pt[0], pt[1]); got != want {
			t.Errorf("projects.TemplateName%v = %q, cloud.ManagedName = %q", pt, got, want)
		}
	}
}
