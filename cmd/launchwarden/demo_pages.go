package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/launchwarden/launchwarden/projects"
	"github.com/launchwarden/launchwarden/reconcile"
	"github.com/launchwarden/launchwarden/statuspage"
)

// demoPages keeps each of the demo's runs for the status pages, as serve
// does for its own runs.
type demoPages struct {
	store *statuspage.Store
	seen  statuspage.Run
}

// observed is the worker's hook: the config and observation of the run
// being made.
func (p *demoPages) observed(cfg *projects.Config, obs *reconcile.Observation) {
	p.seen = statuspage.Run{Config: cfg, Observation: obs}
}

// record keeps a run with its plan and, when it was applied, its report.
// A nil p records nothing.
func (p *demoPages) record(plan *reconcile.RunPlan, rep *reconcile.Report) {
	if p == nil || p.seen.Observation == nil {
		return
	}
	r := p.seen
	r.Plan, r.Result = plan, resultOK
	if plan.Enforce {
		r.Report = rep
	}
	p.store.Record(r)
	p.seen = statuspage.Run{}
}

// serveDemoPages serves the status pages of store on addr, which must be a
// loopback address, with now as the pages' clock. It returns the pages'
// URL and a func that stops the server; a failure to serve goes to stderr.
func serveDemoPages(addr string, store *statuspage.Store, now func() time.Time, stderr io.Writer) (string, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, usageError("--serve %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", nil, usageError("--serve %q: the demo serves its pages on loopback only (e.g. 127.0.0.1:8080)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("serving the status pages: %w", err)
	}
	srv := &http.Server{Handler: statuspage.Handler(store, statuspage.Options{Now: now}), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, "launchwarden: serving the status pages:", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}
