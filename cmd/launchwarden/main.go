// Command launchwarden keeps a shared fleet of lent EC2 instances safe, cheap
// and tidy: it reads a config repo of per-project TOML files, keeps the
// projects' launch templates true, enforces quotas and expires instances,
// telling each team on Slack first.
//
// main stays thin: it turns signals into a context and calls run, which
// dispatches to one function per subcommand. Each subcommand parses its own
// flags and returns an error; an *exitError carries a specific exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"
)

// Exit codes shared by all subcommands.
const (
	exitOK      = 0 // success
	exitFailed  = 1 // the command ran and found a problem (invalid config, undelivered digest, frozen project, failed operation)
	exitUsage   = 2 // bad flags or arguments
	exitUnsafe  = 3 // a safety cap held some actions back; admins were told
	exitAborted = 4 // nothing was done: observation or admin config failed
)

// exitError makes run end the process with a specific code. Err, if set, is
// printed to stderr first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError reports a usage mistake (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env is what a subcommand may touch of the outside world. Tests build their
// own env instead of using the process's.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// clock, if set, replaces time.Now as the time serve plans at and its
	// status pages count from (tests set the emulator's clock).
	clock func() time.Time
}

// now is the time as e's clock says.
func (e env) now() time.Time {
	if e.clock != nil {
		return e.clock()
	}
	return time.Now()
}

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

// commands lists the subcommands. Each lives in its own file.
var commands = map[string]command{
	"validate": {"check a config repo and report every problem with file:line", runValidate},
	"diff":     {"show what a config change does: templates, limits, lifecycle, frozen projects (offline)", runDiff},
	"sim":      {"run the EC2 emulator on a loopback port", runSim},
	"plan":     {"observe AWS and print what a run would do; changes nothing", runPlan},
	"run":      {"observe, plan and apply once (for schedulers)", runRun},
	"extend":   {"give one instance more time, within the caps (admins)", runExtend},
	"adopt":    {"make an instance no managed template launched a project's (admins)", runAdopt},
	"status":   {"show instances with age, expiry and next action, and quota usage", runStatus},
	"serve":    {"run on the admin file's cron schedule and serve health and metrics", runServe},
	"iam":      {"print the IAM launch guard for the launching role: iam launch-guard", runIAM},
	"demo":     {"walk a simulated fleet through a week, against an in-process EC2 emulator and Slack server", runDemo},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks for a graceful end; with the handler gone, a
	// second one ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	e := env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(exitStatus(e, run(ctx, e, os.Args[1:])))
}

// exitStatus prints err (if any) and turns it into a process exit code.
func exitStatus(e env, err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(e.stderr, "launchwarden:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(e.stderr, "launchwarden:", err)
	return exitFailed
}

func run(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		usage(e.stderr)
		return &exitError{code: exitUsage}
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(e.stdout)
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		usage(e.stderr)
		return usageError("unknown command %q", name)
	}
	return cmd.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: launchwarden <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'launchwarden <command> --help' for a command's flags.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit codes: 0 ok, 1 problem found (undelivered digest, withheld action,")
	fmt.Fprintln(w, "            frozen project) or operation failed, 2 usage,")
	fmt.Fprintln(w, "            3 safety cap held actions back, 4 aborted before any action")
}
