package main

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
)

// These tests drive serve's status pages on the emulator: serve plans at
// the emulator's clock, so a test moves time by moving that clock and
// waiting for the next run (serve runs every second here).

// pageT0 is when the scripted fleet is first observed.
var pageT0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

const (
	pageDueID   = "i-00000000000000a01" // born 20h before pageT0: warned at once, stopped 4h later
	pageFreshID = "i-00000000000000a02" // born 1h before pageT0
	pageOtherID = "i-00000000000000b01" // a project the config does not name
)

// newPageEnv is serveEnv with a fixed start and the scripted fleet, and
// serve's clock set to the emulator's.
func newPageEnv(t *testing.T) *serveEnv {
	t.Helper()
	sim, endpoint, keysURL := startEmulator(t, pageT0)
	dir := testenv.WriteRepo(t, "", map[string]string{"launchwarden.toml": serveAdminTOML, "projects/packit.toml": servePackitTOML})
	se := &serveEnv{sim: sim, endpoint: endpoint, keysURL: keysURL, dir: dir, clock: sim.Now}
	packit := se.templateID(t)
	gone := templateID(t, sim, dir, endpoint, keysURL, serveAccount, serveRegion, "gone", "x")
	fleet := []struct {
		id, lt, project, template string
		born                      time.Duration
	}{
		{pageDueID, packit, "packit", "fedora", 20 * time.Hour},
		{pageFreshID, packit, "packit", "fedora", time.Hour},
		{pageOtherID, gone, "gone", "x", 2 * time.Hour},
	}
	for _, in := range fleet {
		sim.Seed(ec2sim.SeedInstance{
			ID: in.id, InstanceType: "t3.micro", LaunchTime: pageT0.Add(-in.born), AttachTime: pageT0.Add(-in.born),
			Tags: testenv.Launched(in.lt, in.id, in.project, in.template, nil),
		})
	}
	return se
}

// waitObserved waits until the status page shows a run that observed the
// fleet at or after at.
func waitObserved(t *testing.T, s *serving, at time.Time) {
	t.Helper()
	want := at.UTC().Format("2006-01-02 15:04 UTC")
	observed := regexp.MustCompile(`Observed <time>([^<]+)</time>`)
	waitFor(t, "a run observing at "+want, s.stderr, func() bool {
		_, body := s.get(t, "/")
		m := observed.FindStringSubmatch(body)
		return m != nil && m[1] >= want
	})
}

func TestStatusPageInBrowser(t *testing.T) {
	b := newBrowser(t, 1280, 900) // skips without chromium
	se := newPageEnv(t)
	s := startServe(t, se, "--schedule", "@every 1s", "--run-now")
	// The first run warns; the next one observes the notice it recorded.
	waitFor(t, "a run that observed the warning", s.stderr, func() bool {
		_, body := s.get(t, "/projects/packit")
		return strings.Contains(body, "told of the stop at 2026-11-23 09:00 UTC")
	})

	// The overview shows every project of the fleet, its quota and the
	// next deadline.
	text := b.load(t, s.url+"/")
	for _, want := range []string{"packit", "gone", "not in the config", "2 of 5 instances", pageDueID, "stop (announced)", "2026-11-23 13:00 UTC (in 4h)"} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q:\n%s", want, text)
		}
	}

	// The project page follows the deadline as the emulated clock moves.
	text = b.load(t, s.url+"/projects/packit")
	for _, want := range []string{pageDueID, pageFreshID, "told of the stop at 2026-11-23 09:00 UTC", "in 4h", "lw-packit-fedora", "10.0.0.0/8", "alice", "warned in #packit"} {
		if !strings.Contains(text, want) {
			t.Errorf("project page lacks %q:\n%s", want, text)
		}
	}
	se.sim.SetNow(pageT0.Add(2 * time.Hour))
	waitObserved(t, s, pageT0.Add(2*time.Hour))
	b.run(t, "reloading", chromedp.Reload())
	text = eval[string](t, b, "document.body.innerText")
	if !strings.Contains(text, "2026-11-23 13:00 UTC (in 2h)") {
		t.Errorf("two hours later, the page does not say the stop is in 2h:\n%s", text)
	}

	// Past the deadline, a run stops the instance, and the page says so.
	se.sim.SetNow(pageT0.Add(4*time.Hour + time.Minute))
	waitFor(t, "the instance to be stopped", s.stderr, func() bool { return se.state(pageDueID) != "running" })
	se.sim.SetNow(pageT0.Add(4*time.Hour + 5*time.Minute)) // stopping settles into stopped
	waitObserved(t, s, pageT0.Add(4*time.Hour+5*time.Minute))
	waitFor(t, "a run that observed the stop", s.stderr, func() bool {
		_, body := s.get(t, "/projects/packit")
		return strings.Contains(body, `<span class="state stopped">stopped</span>`)
	})
	b.run(t, "reloading", chromedp.Reload())
	text = eval[string](t, b, "document.body.innerText")
	for _, want := range []string{pageDueID + ": stopped", "stopped"} {
		if !strings.Contains(text, want) {
			t.Errorf("after the deadline, the page lacks %q:\n%s", want, text)
		}
	}
	if errs := b.takeErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}

	// Unknown projects get the 404 page.
	if code, body := s.get(t, "/projects/nosuch"); code != http.StatusNotFound || !strings.Contains(body, "Not found") {
		t.Errorf("GET /projects/nosuch: %d", code)
	}
	// The health endpoints are as they were.
	if code, body := s.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
}

func TestStatusPageAtPhoneWidth(t *testing.T) {
	b := newBrowser(t, 390, 844)
	se := newPageEnv(t)
	s := startServe(t, se, "--schedule", "@every 1s", "--run-now")
	waitObserved(t, s, pageT0)
	for _, p := range []string{"/", "/projects/packit", "/projects/gone"} {
		b.load(t, s.url+p)
		if width := eval[int](t, b, "window.innerWidth"); width != 390 {
			t.Errorf("%s: window is %d px wide, want 390", p, width)
		}
		if over := b.overflow(t); over > 0 {
			t.Errorf("%s overflows a 390 px wide window by %d px", p, over)
		}
	}
	// The 404 page: the browser logs the status itself, and nothing else.
	b.run(t, "loading the 404 page", chromedp.Navigate(s.url+"/projects/nosuch"), chromedp.WaitReady("body"))
	for _, e := range b.takeErrors() {
		if !strings.Contains(e, "404 (Not Found)") {
			t.Errorf("the 404 page reported %s", e)
		}
	}
	if over := b.overflow(t); over > 0 {
		t.Errorf("the 404 page overflows a 390 px wide window by %d px", over)
	}
}

func TestStatusPagePassword(t *testing.T) {
	se := newPageEnv(t)
	se.writeAdmin(t, serveAdminTOML+"\n[web]\npassword_env = \"LW_TEST_WEB_PASSWORD\"\n")
	t.Setenv("LW_TEST_WEB_PASSWORD", "s3cret")
	s := startServe(t, se, "--schedule", "@every 1h")
	if code, _ := s.get(t, "/"); code != http.StatusUnauthorized {
		t.Errorf("GET / without the password: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/", nil)
	req.SetBasicAuth("anyone", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / with the password: %d", resp.StatusCode)
	}
	// Health and metrics stay open for probes and scrapers.
	for _, p := range []string{"/healthz", "/metrics"} {
		if code, _ := s.get(t, p); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	os.Unsetenv("LW_TEST_WEB_PASSWORD")
	if code, _ := s.get(t, "/"); code != http.StatusServiceUnavailable {
		t.Errorf("GET / with the password's variable unset: %d, want 503", code)
	}
}
