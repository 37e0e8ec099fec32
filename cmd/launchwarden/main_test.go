package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// TestMain lets the test binary stand in for the launchwarden binary: run
// with LAUNCHWARDEN_TEST_MAIN=1, it is main. Tests use that to run
// subcommands as child processes (and kill them) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("LAUNCHWARDEN_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// killer SIGKILLs a child process at its n-th point: an EC2 request
// reaching the emulator or a Slack message reaching the Slack server.
// Whether an EC2 request takes effect before the kill is part of the draw,
// so kills land before a call and after a call whose answer is lost; a
// Slack message is always delivered first, so kills also land between a
// delivered digest and the tags that record it.
type killer struct {
	mu     sync.Mutex
	proc   *os.Process
	points int
	at     int
	before bool // kill before the request takes effect
	killed bool
}

func (k *killer) arm(p *os.Process, at int, before bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.proc, k.points, k.at, k.before, k.killed = p, 0, at, before, false
}

// disarm ends a run and returns whether it was killed, and how many
// points it reached.
func (k *killer) disarm() (killed bool, points int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	killed, points = k.killed, k.points
	k.proc, k.points, k.killed = nil, 0, false
	return killed, points
}

// point counts a point; it kills the child if this is the chosen one and
// reports whether the point's request must be dropped.
func (k *killer) point(after bool) (drop bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		return true // the child is gone; nobody reads the answer
	}
	if !after {
		k.points++
	}
	if k.proc == nil || k.points != k.at || k.before == after {
		return false
	}
	k.killed = true
	_ = k.proc.Kill()
	return k.before
}

// killerHandler counts every EC2 request as a point.
func (k *killer) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k.point(false) {
			return
		}
		next.ServeHTTP(w, r)
		k.point(true)
	})
}

// TestKilledRunsConverge kills `launchwarden run` (a child process) with
// SIGKILL at a random point of each of 50 runs, each followed by a normal
// run, while the fleet ages, new instances arrive and a template changes.
// Afterwards, and after every run, the invariants of docs/design.md must hold.
func TestKilledRunsConverge(t *testing.T) {
	cycles := 50
	if testing.Short() {
		cycles = 12
	}
	const capPerRun = 3
	w := newWorld(t, map[string]string{"launchwarden.toml": faultAdmin(capPerRun),
		"projects/packit.toml": faultProject("packit"), "projects/cockpit.toml": faultProject("cockpit"), "projects/osbuild.toml": faultProject("osbuild")})
	k := &killer{}
	srv := httptest.NewServer(k.handler(w.sim))
	defer srv.Close()
	w.endpoint = srv.URL
	w.slack.OnPost = func() { k.point(false); k.point(true) }

	projectNames := []string{"packit", "cockpit", "osbuild"}
	next := 1
	launch := func(n int) {
		for range n {
			w.seed(fmt.Sprintf("i-%017x", next), projectNames[next%3], ec2sim.StateRunning, time.Duration(next%24)*time.Hour, nil)
			next++
		}
	}
	launch(12)
	w.seed("i-0000000000000ffff", "gone", ec2sim.StateRunning, 2*time.Hour, nil) // an orphan
	untagged := map[string]bool{}
	for i := range 3 {
		id := fmt.Sprintf("i-00000000000a%05d", i)
		w.seed(id, "", ec2sim.StateRunning, 40*24*time.Hour, nil)
		untagged[id] = true
	}
	start := w.instances()

	rng := rand.New(rand.NewPCG(2026, 11))
	points := 20 // kill points of a run; then those of the last normal run
	var (
		acts        []actRecord
		killedRuns  = map[int]bool{}
		tagsAfter   = map[int]map[string]ec2sim.Instance{}
		kills, runs int
	)
	record := func(run int, before map[string]ec2sim.Instance) {
		after := w.instances()
		tagsAfter[run] = after
		got := acted(before, after)
		if len(got) > capPerRun {
			t.Errorf("run %d acted on %d instances, more than the cap of %d", run, len(got), capPerRun)
		}
		for id, a := range got {
			acts = append(acts, actRecord{at: w.sim.Now(), id: id, action: a})
		}
		for id := range untagged {
			if b, a := start[id], after[id]; a.State != b.State || fmt.Sprint(a.Tags) != fmt.Sprint(b.Tags) {
				t.Errorf("run %d touched untagged %s: %s %v → %s %v", run, id, b.State, b.Tags, a.State, a.Tags)
			}
		}
	}
	for cycle := range cycles {
		w.sim.Advance(2 * time.Hour)
		if cycle%5 == 4 {
			launch(3)
		}
		if cycle == cycles/3 || cycle == 2*cycles/3 {
			// A template change: new version, new default, new spec tag.
			typ := map[bool]string{true: "t3.small", false: "t3.micro"}[cycle == cycles/3]
			if err := os.WriteFile(filepath.Join(w.dir, "projects", "packit.toml"),
				[]byte(strings.Replace(faultProject("packit"), "t3.micro", typ, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}

		runs++
		w.slack.StartRun(runs)
		before := w.instances()
		cmd := exec.Command(os.Args[0], w.runArgs("--log-format", "json")...)
		cmd.Env = append(os.Environ(), "LAUNCHWARDEN_TEST_MAIN=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		k.arm(cmd.Process, 1+rng.IntN(points), rng.IntN(2) == 0)
		err := cmd.Wait()
		if killed, _ := k.disarm(); killed {
			kills++
			killedRuns[runs] = true
		} else if code := cmd.ProcessState.ExitCode(); code != exitOK && code != exitUnsafe {
			t.Errorf("run %d (not killed) exited %d: %v", runs, code, err)
		}
		record(runs, before)

		runs++
		w.slack.StartRun(runs)
		before = w.instances()
		if code := w.run(t); code != exitOK && code != exitUnsafe {
			t.Errorf("run %d after a kill exited %d", runs, code)
		}
		_, points = k.disarm()
		points = max(points, 4)
		record(runs, before)
	}
	t.Logf("%d runs, %d killed, %d instances stopped or terminated", runs, kills, len(acts))
	if kills < cycles/2 {
		t.Errorf("only %d of %d runs were killed: the kill points miss the runs", kills, cycles)
	}

	history := w.slack.notices()
	for _, a := range acts {
		checkAnnounced(t, map[string]string{a.id: a.action}, a.at, history, 2*time.Hour)
	}
	checkAnnouncedOnce(t, history, killedRuns, tagsAfter)

	// Converged: the templates are what the config says, and a run at the
	// same time as the last one changes nothing more.
	w.checkTemplatesConverged(t)
	w.sim.ResetCalls()
	w.run(t)
	if got := w.mutatingCalls(); len(got) > 0 {
		t.Errorf("a run after convergence still changed things: %v", got)
	}
}

type actRecord struct {
	at         time.Time
	id, action string
}

// checkAnnouncedOnce asserts that no stage was announced twice, with one
// exception no design can avoid: a run killed after Slack took its digest
// but before it recorded the notice tag. The next run cannot know the
// digest went out, and announces the stage again.
func checkAnnouncedOnce(t *testing.T, history []delivered, killedRuns map[int]bool, after map[int]map[string]ec2sim.Instance) {
	t.Helper()
	first := map[string]delivered{}
	excused := 0
	for _, d := range history {
		if !d.announces() {
			continue
		}
		key := fmt.Sprintf("%s %s@%s", d.instance, d.action, d.deadline.Format("2006-01-02T15:04"))
		f, seen := first[key]
		if !seen {
			first[key] = d
			continue
		}
		tag := after[f.run][d.instance].Tags[cloud.TagNotice]
		if killedRuns[f.run] && !strings.HasPrefix(tag, d.action+"@") {
			excused++
			first[key] = d
			continue
		}
		t.Errorf("announced twice: %s (runs %d and %d; notice tag after run %d: %q)", key, f.run, d.run, f.run, tag)
	}
	t.Logf("%d stages announced again after a run was killed between delivering and recording them", excused)
}
