package main

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/launchwarden/launchwarden/statuspage"
)

var screenshot = flag.String("screenshot", "", "render the status page of the demo's fleet to this PNG `file` (make screenshot)")

// screenshotDays is how far into the demo's week the screenshot is taken:
// Wednesday morning, with warnings out, instances stopped and an orphan.
const screenshotDays = 2

// TestStatusPageScreenshot renders the overview page of the demo's fleet
// with headless Chromium, for the README. It runs only with -screenshot.
func TestStatusPageScreenshot(t *testing.T) {
	if *screenshot == "" {
		t.Skip("renders docs/status-page.png only when asked: make screenshot")
	}
	b := newBrowser(t, 1100, 800)
	store := statuspage.NewStore()
	o := demoOptions{config: "../../examples/config-repo", days: screenshotDays, step: time.Hour, quiet: true, pages: store}
	if _, err := demo(t.Context(), o, io.Discard, io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	end := demoStart.Add(screenshotDays * demoDay)
	srv := httptest.NewServer(statuspage.Handler(store, statuspage.Options{Now: func() time.Time { return end }}))
	defer srv.Close()
	b.load(t, srv.URL+"/")
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", *screenshot, len(png))
}

// TestDemoServesTheStatusPages runs the demo with --serve: it prints the
// pages' URL, the pages show its fleet, and it keeps serving after the
// story until interrupted.
func TestDemoServesTheStatusPages(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		_, err := demo(ctx, demoOptions{config: "../../examples/config-repo", days: 1, step: time.Hour, quiet: true, serve: "127.0.0.1:0"}, out, io.Discard)
		done <- err
	}()
	var url string
	waitFor(t, "the demo to finish its story", out, func() bool {
		m := regexp.MustCompile(`The status pages stay at (http://\S+/) until interrupted`).FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	if !strings.Contains(out.String(), "Status pages: "+url) {
		t.Errorf("the demo did not print the pages' URL before the story:\n%s", out)
	}
	resp, err := http.Get(url + "projects/packit")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Observed <time>2026-11-24 09:00 UTC</time>", demoExtendedID, "lw-packit-fedora"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the packit page lacks %q", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo returned %v after the interrupt", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop when interrupted")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the pages are still served after the demo returned")
	}
}

func TestDemoServesOnLoopbackOnly(t *testing.T) {
	_, err := demo(t.Context(), demoOptions{config: "../../examples/config-repo", days: 1, step: time.Hour, quiet: true, serve: "0.0.0.0:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Errorf("demo --serve 0.0.0.0:0: %v, want a loopback-only refusal", err)
	}
}
