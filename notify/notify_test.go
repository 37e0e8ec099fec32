package notify

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

var now = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

// teamNotices is a realistic run for one project's channel.
func teamNotices() []Notice {
	n := func(kind Kind, id, tpl, typ, action string, in time.Duration, reason string) Notice {
		nt := Notice{Kind: kind, Channel: "packit-infra", Project: "packit", Account: "123456789012", Region: "us-east-1",
			InstanceID: id, Template: tpl, InstanceType: typ, Action: action, Reason: reason}
		if in != 0 {
			nt.Deadline = now.Add(in)
		}
		return nt
	}
	return []Notice{
		n(KindStopped, "i-0d1e2f3a4b5c6d7e8", "fedora-large", "m5.xlarge", "stop", 0, "TTL 3d reached"),
		n(KindExpiring, "i-0a1b2c3d4e5f60718", "fedora-large", "m5.xlarge", "stop", 5*time.Hour, "TTL 3d reached"),
		n(KindExpiring, "i-0b2c3d4e5f6071829", "centos-gpu", "g4dn.xlarge", "terminate", 26*time.Hour+30*time.Minute, "stopped for 7d"),
		n(KindExpiring, "i-09a8b7c6d5e4f3a2b", "fedora-small", "t3.medium", "stop", 45*time.Minute, "TTL 1d reached"),
		n(KindOverQuota, "i-0c3d4e5f607182930", "fedora-large", "m5.4xlarge", "stop", 24*time.Hour, "over vCPU quota"),
		n(KindDisallowedType, "i-0e5f6071829304a5b", "custom", "p4d.24xlarge", "terminate", 24*time.Hour, "p4d.24xlarge is not allowed for packit"),
		{Kind: KindTemplateChanged, Channel: "packit-infra", Project: "packit", Template: "fedora-large",
			Detail: "image ami-0123 → ami-0456\ndisk 50 GiB → 80 GiB"},
		n(KindTerminated, "i-0f60718293a4b5c6d", "centos-gpu", "g4dn.xlarge", "terminate", 0, "stopped for 7d"),
	}
}

// adminNotices is what the admin channel learns from a run.
func adminNotices() []Notice {
	return []Notice{
		{Kind: KindOrphan, Channel: "lw-admin", Project: "oldproj", Account: "123456789012", Region: "eu-west-1",
			InstanceID: "i-0123456789abcdef0", Template: "legacy", InstanceType: "t3.large", Action: "terminate",
			Deadline: now.Add(72 * time.Hour), Reason: "project left the config"},
		{Kind: KindSafety, Channel: "lw-admin", Reason: "cap of 20 stops held back 35 actions",
			Detail: "packit: 30 stops\ncockpit: 5 terminates"},
		{Kind: KindFrozen, Channel: "lw-admin", Project: "cockpit",
			Detail: "projects/cockpit.toml:12:3: unknown key \"ttl_days\"\nprojects/cockpit.toml:20:1: template \"big\": instance type \"x1e.32xlarge\" exceeds the admin cap"},
		{Kind: KindUndelivered, Channel: "lw-admin", Project: "packit", Reason: "digest for #packit-infra not delivered",
			Detail: "slack: channel_not_found"},
		{Kind: KindActionFailed, Channel: "lw-admin", Project: "packit", Account: "123456789012", Region: "us-east-1",
			InstanceID: "i-0a1b2c3d4e5f60718", Action: "stop", Detail: "UnauthorizedOperation: not allowed"},
	}
}

func TestGroupOneDigestPerChannel(t *testing.T) {
	var notices []Notice
	for i := range 500 {
		notices = append(notices, Notice{
			Kind:       Kinds[i%len(Kinds)],
			Channel:    fmt.Sprintf("team-%02d", i%20),
			Project:    fmt.Sprintf("proj-%02d", i%20),
			InstanceID: fmt.Sprintf("i-%017d", i),
			Action:     "stop",
			Deadline:   now.Add(time.Duration(i%7) * time.Hour),
		})
	}
	usage := map[string]Usage{"proj-03": {Project: "proj-03", Instances: 25, MaxInstances: 20}}

	got := Group("run-1", now, notices, usage)

	var channels []string
	total := 0
	for _, d := range got {
		channels = append(channels, d.Channel)
		total += len(d.Notices)
		for _, n := range d.Notices {
			if n.Channel != d.Channel {
				t.Errorf("digest %s holds a notice for %s", d.Channel, n.Channel)
			}
		}
	}
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("team-%02d", i))
	}
	if diff := cmp.Diff(want, channels); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
	if total != 500 {
		t.Errorf("digests hold %d notices, want 500", total)
	}
	if d := got[3]; d.Usage == nil || d.Usage.Instances != 25 || d.Project != "proj-03" {
		t.Errorf("digest for team-03: project %q usage %+v, want proj-03 with its usage", d.Project, d.Usage)
	}

	// Any input order gives the same digests.
	reversed := make([]Notice, len(notices))
	for i, n := range notices {
		reversed[len(notices)-1-i] = n
	}
	if diff := cmp.Diff(got, Group("run-1", now, reversed, usage)); diff != "" {
		t.Errorf("Group depends on input order (-first +reversed):\n%s", diff)
	}
}

func TestGroup(t *testing.T) {
	early, late := now.Add(time.Hour), now.Add(5*time.Hour)
	tests := []struct {
		name    string
		notices []Notice
		usage   map[string]Usage
		want    []Digest
	}{
		{
			name: "sorted by kind then deadline then instance",
			notices: []Notice{
				{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1"},
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-3", Deadline: late},
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-2", Deadline: late},
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-9", Deadline: early},
				{Kind: KindFrozen, Channel: "c", Project: "p"},
			},
			usage: map[string]Usage{"p": {Project: "p", Instances: 3, MaxInstances: 5}},
			want: []Digest{{Channel: "c", Project: "p", RunID: "r", Now: now,
				Usage: &Usage{Project: "p", Instances: 3, MaxInstances: 5},
				Notices: []Notice{
					{Kind: KindFrozen, Channel: "c", Project: "p"},
					{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-9", Deadline: early},
					{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-2", Deadline: late},
					{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-3", Deadline: late},
					{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1"},
				}}},
		},
		{
			name: "duplicates dropped, also across time zones",
			notices: []Notice{
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-1", Deadline: early},
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-1", Deadline: early.In(time.FixedZone("CET", 3600))},
			},
			want: []Digest{{Channel: "c", Project: "p", RunID: "r", Now: now, Notices: []Notice{
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-1", Deadline: early},
			}}},
		},
		{
			name: "duplicates apart in the input dropped; notices apart only in the termination they announce both kept",
			notices: []Notice{
				{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1", TerminateAt: late},
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-2", Deadline: early},
				{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1", TerminateAt: late},
				{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1", TerminateAt: early},
			},
			want: []Digest{{Channel: "c", Project: "p", RunID: "r", Now: now, Notices: []Notice{
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-2", Deadline: early},
				{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1", TerminateAt: early},
				{Kind: KindStopped, Channel: "c", Project: "p", InstanceID: "i-1", TerminateAt: late},
			}}},
		},
		{
			name: "shared channel has no project and no usage",
			notices: []Notice{
				{Kind: KindStopped, Channel: "shared", Project: "b", InstanceID: "i-2"},
				{Kind: KindStopped, Channel: "shared", Project: "a", InstanceID: "i-1"},
			},
			usage: map[string]Usage{"a": {Project: "a"}, "b": {Project: "b"}},
			want: []Digest{{Channel: "shared", RunID: "r", Now: now, Notices: []Notice{
				{Kind: KindStopped, Channel: "shared", Project: "a", InstanceID: "i-1"},
				{Kind: KindStopped, Channel: "shared", Project: "b", InstanceID: "i-2"},
			}}},
		},
		{
			name: "notices without a channel still form a digest",
			notices: []Notice{
				{Kind: KindExpiring, Project: "p", InstanceID: "i-1", Deadline: early},
				{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-2", Deadline: early},
			},
			want: []Digest{
				{Project: "p", RunID: "r", Now: now, Notices: []Notice{{Kind: KindExpiring, Project: "p", InstanceID: "i-1", Deadline: early}}},
				{Channel: "c", Project: "p", RunID: "r", Now: now, Notices: []Notice{{Kind: KindExpiring, Channel: "c", Project: "p", InstanceID: "i-2", Deadline: early}}},
			},
		},
		{
			name: "no notices, no digests",
			want: []Digest{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Group("r", now, tt.notices, tt.usage)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Group (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderTextGolden(t *testing.T) {
	many := make([]Notice, 0, 25)
	for i := range 25 {
		many = append(many, Notice{Kind: KindExpiring, Channel: "big", Project: "bigproj", InstanceID: fmt.Sprintf("i-%017x", i),
			Template: "fedora", InstanceType: "t3.small", Action: "stop", Deadline: now.Add(time.Duration(i+1) * time.Hour), Reason: "TTL 3d reached"})
	}
	tests := []struct {
		name    string
		notices []Notice
		usage   map[string]Usage
		hint    string
		// statusURL is [web] base_url: items about instances link to
		// their project's status page.
		statusURL string
	}{
		{name: "team", notices: teamNotices(), usage: map[string]Usage{"packit": {Project: "packit", Instances: 9, MaxInstances: 10, VCPUs: 72, MaxVCPUs: 64}},
			hint: "See https://github.com/example/lent-vms/tree/main/projects."},
		{name: "team-linked", notices: teamNotices(), statusURL: "https://lw.example.org"},
		{name: "admin", notices: adminNotices()},
		{name: "admin-linked", notices: adminNotices(), statusURL: "https://lw.example.org"},
		{name: "overflow", notices: many, usage: map[string]Usage{"bigproj": {Project: "bigproj", Instances: 25, VCPUs: 50}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := Group("20261125T060000Z-7f3a", now, tt.notices, tt.usage)
			if len(ds) != 1 {
				t.Fatalf("Group made %d digests, want 1", len(ds))
			}
			ds[0].ExtendHint = tt.hint
			ds[0].StatusURL = tt.statusURL
			golden(t, filepath.Join("testdata", tt.name+".golden"), RenderText(ds[0]))
		})
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestHeadline(t *testing.T) {
	tests := []struct {
		name string
		d    Digest
		want string
	}{
		{"team", Group("r", now, teamNotices(), nil)[0],
			"launchwarden · packit: 3 instances expire soon, 1 over quota, 1 disallowed type, 1 stopping now, 1 terminating now, 1 template changed"},
		{"admin", Group("r", now, adminNotices(), nil)[0],
			"launchwarden · #lw-admin: project frozen, 1 safety alert, 1 digest undelivered, 1 action failed, 1 orphan"},
		{"empty", Digest{Channel: "C0123ABCD"}, "launchwarden · C0123ABCD: nothing to report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Headline(tt.d)); diff != "" {
				t.Errorf("Headline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSectionsMergeUnsortedKinds(t *testing.T) {
	d := Digest{Channel: "c", Project: "p", Now: now, Notices: []Notice{
		{Kind: KindStopped, InstanceID: "i-1"},
		{Kind: KindFrozen, Project: "p", Detail: "projects/p.toml:1:1: bad"},
		{Kind: KindStopped, InstanceID: "i-2", Reason: "TTL 1d reached"},
	}}
	want := []Section{
		{Kind: KindFrozen, Title: "Project frozen by config errors", Note: sectionInfo[KindFrozen].note,
			Items: []Item{{Subject: "p", Detail: "projects/p.toml:1:1: bad"}}},
		{Kind: KindStopped, Title: "Stopping now", Note: sectionInfo[KindStopped].note, Items: []Item{{Subject: "i-1"}, {Subject: "i-2", What: "TTL 1d reached"}}},
	}
	if diff := cmp.Diff(want, Sections(d)); diff != "" {
		t.Errorf("Sections (-want +got):\n%s", diff)
	}
}

func TestRelative(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"now", 0, "now"},
		{"under a minute", 59 * time.Second, "now"},
		{"minutes", 45 * time.Minute, "in 45m"},
		{"hours", 5 * time.Hour, "in 5h"},
		{"hours and minutes", 5*time.Hour + 30*time.Minute + 20*time.Second, "in 5h 30m"},
		{"days", 48 * time.Hour, "in 2d"},
		{"days and hours, minutes dropped", 26*time.Hour + 30*time.Minute, "in 1d 2h"},
		{"past", -3 * time.Hour, "3h ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Relative(now, now.Add(tt.in)); got != tt.want {
				t.Errorf("Relative(now, now+%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUsageLine(t *testing.T) {
	tests := []struct {
		name string
		u    Usage
		want string
	}{
		{"within", Usage{Instances: 4, MaxInstances: 10, VCPUs: 16, MaxVCPUs: 64}, "4/10 instances, 16/64 vCPUs"},
		{"over", Usage{Instances: 12, MaxInstances: 10, VCPUs: 16, MaxVCPUs: 64}, "12/10 instances (over), 16/64 vCPUs"},
		{"unlimited", Usage{Instances: 3, VCPUs: 6}, "3 instances (no limit), 6 vCPUs (no limit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UsageLine(tt.u); got != tt.want {
				t.Errorf("UsageLine(%+v) = %q, want %q", tt.u, got, tt.want)
			}
		})
	}
}

func TestExtensionSnippetIsTOML(t *testing.T) {
	type extension struct {
		Instance string
		Until    time.Time
		Reason   string
	}
	type file struct{ Extensions []extension }
	tests := []struct {
		name     string
		instance string
		until    time.Time
	}{
		{"plain", "i-0a1b2c3d4e5f60718", time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)},
		{"non-UTC until is written in UTC", "i-1", time.Date(2026, 11, 28, 11, 0, 0, 0, time.FixedZone("CET", 3600))},
		{"quotes and control characters are escaped", "i-\"odd\"\\\x01", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snippet := ExtensionSnippet("packit", tt.instance, tt.until)
			var got file
			md, err := toml.Decode(snippet, &got)
			if err != nil {
				t.Fatalf("snippet does not parse: %v\n%s", err, snippet)
			}
			if undecoded := md.Undecoded(); len(undecoded) > 0 {
				t.Errorf("snippet has unexpected keys %v", undecoded)
			}
			want := file{Extensions: []extension{{Instance: tt.instance, Until: tt.until, Reason: "why the instance is still needed"}}}
			if diff := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
				t.Errorf("decoded snippet (-want +got):\n%s", diff)
			}
			if !strings.Contains(snippet, "projects/packit.toml") {
				t.Errorf("snippet does not name the file to edit:\n%s", snippet)
			}
		})
	}
}

// fakeSender fails for the channels in fail and records what it was sent.
type fakeSender struct {
	fail map[string]error

	mu   sync.Mutex
	sent []string
}

func (f *fakeSender) Send(_ context.Context, d Digest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, d.Channel)
	return f.fail[d.Channel]
}

func TestDeliver(t *testing.T) {
	var ds []Digest
	for i := range 30 {
		ds = append(ds, Digest{Channel: fmt.Sprintf("c%02d", i)})
	}
	gone := Permanent(errors.New("channel_not_found"))
	busy := errors.New("slack server error: 503")
	f := &fakeSender{fail: map[string]error{"c03": gone, "c17": busy}}

	results := Deliver(context.Background(), f, ds)

	type outcome struct {
		Channel   string
		Err       error
		Permanent bool
	}
	var got, want []outcome
	for _, r := range results {
		got = append(got, outcome{r.Digest.Channel, r.Err, IsPermanent(r.Err)})
	}
	for _, d := range ds {
		err := f.fail[d.Channel]
		want = append(want, outcome{d.Channel, err, IsPermanent(err)})
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if len(f.sent) != len(ds) {
		t.Errorf("sender saw %d digests, want %d", len(f.sent), len(ds))
	}
}

// gateSender holds every send until maxParallel of them are in flight, so
// the test sees the bound reached without sleeping.
type gateSender struct {
	full chan struct{}

	mu             sync.Mutex
	inFlight, peak int
	closed         bool
}

func (g *gateSender) Send(context.Context, Digest) error {
	g.mu.Lock()
	g.inFlight++
	g.peak = max(g.peak, g.inFlight)
	if g.inFlight == maxParallel && !g.closed {
		g.closed = true
		close(g.full)
	}
	g.mu.Unlock()
	<-g.full
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
	return nil
}

func TestDeliverBoundsConcurrency(t *testing.T) {
	g := &gateSender{full: make(chan struct{})}
	results := Deliver(context.Background(), g, make([]Digest, 3*maxParallel))
	for i, r := range results {
		if r.Err != nil {
			t.Errorf("result %d: %v", i, r.Err)
		}
	}
	if g.peak != maxParallel {
		t.Errorf("peak in-flight sends = %d, want %d", g.peak, maxParallel)
	}
}

func TestDeliverCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeSender{}
	for _, r := range Deliver(ctx, f, []Digest{{Channel: "a"}, {Channel: "b"}}) {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("digest %s: err %v, want context.Canceled", r.Digest.Channel, r.Err)
		}
	}
	if len(f.sent) != 0 {
		t.Errorf("sent %v after cancellation", f.sent)
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("channel_not_found")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error is retryable", base, false},
		{"marked", Permanent(base), true},
		{"marked then wrapped", fmt.Errorf("send to #x: %w", Permanent(base)), true},
		{"not sent is not permanent", ErrNotSent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if err := Permanent(base); !errors.Is(err, base) || err.Error() != base.Error() {
		t.Errorf("Permanent(%v) = %v, want the same text wrapping the original", base, err)
	}
}

func TestDiscardHoldsTheGate(t *testing.T) {
	for _, r := range Deliver(context.Background(), Discard{}, []Digest{{Channel: "a"}}) {
		if !errors.Is(r.Err, ErrNotSent) {
			t.Errorf("Discard result err = %v, want ErrNotSent", r.Err)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogSender(t *testing.T) {
	d := Group("r", now, teamNotices(), nil)[0]
	var b strings.Builder
	if err := (&LogSender{W: &b}).Send(context.Background(), d); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff(RenderText(d)+"\n", b.String()); diff != "" {
		t.Errorf("written text (-want +got):\n%s", diff)
	}
	if err := (&LogSender{W: failingWriter{}}).Send(context.Background(), d); err == nil {
		t.Error("Send to a failing writer returned nil")
	}
}

func TestUndelivered(t *testing.T) {
	results := []Result{
		{Digest: Digest{Channel: "ok", Project: "a"}},
		{Digest: Digest{Channel: "gone", Project: "b"}, Err: Permanent(errors.New("channel_not_found"))},
		{Digest: Digest{Channel: "busy", Project: "c"}, Err: errors.New("503")},
		{Digest: Digest{Channel: "admin"}, Err: Permanent(errors.New("invalid_auth"))},
		{Digest: Digest{Channel: "off", Project: "d"}, Err: ErrNotSent},
	}
	// Temporary failures too: an outage of days must not be invisible.
	want := []Notice{
		{Kind: KindUndelivered, Channel: "admin", Project: "b",
			Reason: "digest for #gone not delivered (permanent failure, retrying cannot fix it)", Detail: "channel_not_found"},
		{Kind: KindUndelivered, Channel: "admin", Project: "c",
			Reason: "digest for #busy not delivered (temporary failure, tried again next run)", Detail: "503"},
	}
	if diff := cmp.Diff(want, Undelivered(results, "admin")); diff != "" {
		t.Errorf("Undelivered (-want +got):\n%s", diff)
	}
}

// BenchmarkGroup groups a large run: 10,000 notices over 200 channels.
func BenchmarkGroup(b *testing.B) {
	notices := make([]Notice, 10_000)
	for i := range notices {
		notices[i] = Notice{Kind: Kinds[i%len(Kinds)], Channel: fmt.Sprintf("team-%03d", i%200), Project: fmt.Sprintf("p-%03d", i%200),
			InstanceID: fmt.Sprintf("i-%017x", i), Action: "stop", Deadline: now.Add(time.Duration(i) * time.Minute)}
	}
	for b.Loop() {
		Group("r", now, notices, nil)
	}
}

// BenchmarkRenderText renders a 300-notice digest.
func BenchmarkRenderText(b *testing.B) {
	notices := make([]Notice, 300)
	for i := range notices {
		notices[i] = Notice{Kind: Kinds[i%len(Kinds)], Channel: "c", Project: "p", InstanceID: fmt.Sprintf("i-%017x", i),
			Template: "fedora", InstanceType: "t3.small", Action: "stop", Deadline: now.Add(time.Hour), Reason: "TTL 3d reached"}
	}
	d := Group("r", now, notices, nil)[0]
	for b.Loop() {
		RenderText(d)
	}
}
