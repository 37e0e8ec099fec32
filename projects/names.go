package projects

// TemplateName is the name of a project's launch template in EC2:
// lw-<project>-<template>. Project and template names may both hold
// hyphens, so two files can spell the same name (project a-b's template c
// and project a's template b-c); checkGlobalNames refuses that.
func TemplateName(project, template string) string {
	return "lw-" + project + "-" + template
}

// checkGlobalNames reports every EC2 template name that two projects would
// both use, in both files, each naming the other's file and line. Both
// projects are then frozen: neither may own a name the other also claims,
// and which file was there first cannot be told from the repo alone.
func checkGlobalNames(parsed []*projectFile) {
	type claim struct {
		pf   *projectFile
		i    int // the template's index
		path string
	}
	claims := map[string]claim{}
	var clashes [][2]claim
	for _, pf := range parsed {
		for i, t := range pf.raw.Templates {
			if t.Name == "" {
				continue
			}
			c := claim{pf, i, joinKey(indexPath("templates", i), "name")}
			name := TemplateName(pf.name, t.Name)
			if first, ok := claims[name]; ok && first.pf != pf {
				clashes = append(clashes, [2]claim{first, c})
				continue
			}
			claims[name] = c
		}
	}
	for _, cl := range clashes {
		for k, c := range cl {
			other := cl[1-k]
			pos := other.pf.d.ix.lookup(other.path)
			c.pf.d.report(c.path, "rename one of the two templates; until then neither project changes anything",
				"template name %s is also claimed by %s:%d (project %q, template %q); EC2 template names must be unique",
				TemplateName(c.pf.name, c.pf.raw.Templates[c.i].Name), other.pf.d.file, pos.line, other.pf.name, other.pf.raw.Templates[other.i].Name)
		}
	}
}
