package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/launchwarden/launchwarden/cloud"
)

// runAdopt is the admins' way to make an instance launchwarden's that no
// managed template launched (one made by hand, or whose template is gone):
// it writes a signed launchwarden:adopted naming the project and template,
// bound to the instance, and the project and template labels. From the next
// run on, the instance is the project's like any other: counted in its
// quota, warned, stopped and terminated by its rules.
//
// Signing needs the state key, which only launchwarden's admins hold: that
// is what makes this an admin command.
func runAdopt(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "adopt", "INSTANCE --project P --template T",
		"Make an instance that no managed template launched launchwarden's, as an instance of a project's template.\nWrites a signed launchwarden:adopted. Admins only: it needs the state key.")
	config := fs.String("config", ".", "config repo `dir`")
	endpointURL := fs.String("endpoint-url", "", "EC2 and STS endpoint `url` (e.g. the emulator)")
	regions := fs.String("region", "", "comma-separated `regions` to look in (default: all configured)")
	project := fs.String("project", "", "the project that takes the instance (required)")
	template := fs.String("template", "", "the project's template it counts as (required)")
	id, err := parseInstanceFlags(fs, args, "adopt")
	if id == "" {
		return err
	}
	if *project == "" || *template == "" {
		return usageError("--project and --template are required")
	}

	w := worker{config: *config, regions: splitList(*regions), endpointURL: *endpointURL, log: slog.New(slog.NewTextHandler(e.stderr, nil)), getenv: e.getenv}
	cfg, err := w.loadConfig()
	if err != nil {
		return err
	}
	p := cfg.Project(*project)
	if p == nil {
		if _, frozen := cfg.Frozen[*project]; frozen {
			return &exitError{code: exitFailed, err: fmt.Errorf("project %s is frozen by config problems; fix its file first", *project)}
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("no project %s in the config", *project)}
	}
	if p.Template(*template) == nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("project %s has no template %s", *project, *template)}
	}
	clients, err := w.connect(ctx, cfg)
	if err != nil {
		return err
	}
	snaps, err := cloud.ObserveAll(ctx, clients)
	if err != nil {
		return &exitError{code: exitAborted, err: err}
	}
	var (
		in     *cloud.Instance
		client *cloud.Client
	)
	for i, c := range clients {
		found, err := c.LookupInstance(ctx, id, snaps[i])
		if err != nil {
			return &exitError{code: exitAborted, err: err}
		}
		if found != nil {
			in, client = found, c
			break
		}
	}
	switch {
	case in == nil:
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: no such instance in the configured accounts and regions", id)}
	case in.Project != "" && !in.Adopted:
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: launched from the managed template of %s/%s, so it is %s's already; adoption is for instances no managed template launched", id, in.Project, in.Template, in.Project)}
	}
	res := client.WriteState(ctx, map[string]map[string]string{id: {
		cloud.TagAdopted:  *project + "/" + *template,
		cloud.TagProject:  *project,
		cloud.TagTemplate: *template,
	}})
	if err := res.Failed[id]; err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	was := "adopted"
	if in.Adopted {
		was = fmt.Sprintf("adopted (was %s/%s)", in.Project, in.Template)
	}
	fmt.Fprintf(e.stdout, "%s (%s): %s by %s/%s; the next run manages it by %s's rules\n", id, client, was, *project, *template, *project)
	return nil
}
