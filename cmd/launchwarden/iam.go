package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/launchwarden/launchwarden/cloud/iamguard"
	"github.com/launchwarden/launchwarden/projects"
)

// runIAM prints IAM policies generated from the config. Its one subcommand,
// launch-guard, prints the policy for the role the provisioning service
// launches with (see package iamguard and deploy/README.md).
func runIAM(_ context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "launch-guard" {
		fmt.Fprintln(e.stderr, "usage: launchwarden iam launch-guard [--config DIR]")
		if len(args) == 0 {
			return &exitError{code: exitUsage}
		}
		return usageError("unknown iam subcommand %q: the one there is is launch-guard", args[0])
	}
	fs := newFlagSet(e, "iam launch-guard", "",
		"Print the IAM policy to attach to the role that launches instances (the provisioning service's):\n"+
			"it denies launches from closed or unmanaged templates, without a template, of instance types no\n"+
			"project may use, and with volumes above the largest cap. Generated from launchwarden.toml alone.")
	config := fs.String("config", ".", "config repo `dir` (holds launchwarden.toml)")
	if err := parseFlags(fs, args[1:]); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usageError("iam launch-guard takes no arguments, got %q", fs.Args())
	}
	cfg, problems := projects.Load(*config)
	if cfg.Admin == nil {
		for _, p := range problems {
			fmt.Fprintln(e.stderr, p.String())
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("%s/launchwarden.toml is invalid: no policy printed", *config)}
	}
	policy, err := iamguard.Generate(cfg.Admin)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	_, err = e.stdout.Write(policy)
	return err
}
