package testenv

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// The world end to end: a template and an instance launched from it with a
// signed expiry, observed through the SDK as launchwarden observes them.
func TestSignedInstanceIsObservedThroughTheSDK(t *testing.T) {
	e := New(t, Options{})
	if !e.Sim.Now().Equal(T0) {
		t.Errorf("emulator clock %s, want T0", e.Sim.Now())
	}
	c := e.Connect(t, 2)[0]
	lt := EarlierTemplate(t, c, "lw-packit-fedora", "packit", "fedora")
	expires := T0.Add(24 * time.Hour).Format(time.RFC3339)
	e.Sim.Seed(ec2sim.SeedInstance{ID: "i-00000000000000001", ImageID: Image, InstanceType: "t3.micro", LaunchTime: T0, AttachTime: T0,
		Tags: Launched(lt, "i-00000000000000001", "packit", "fedora", map[string]string{cloud.TagExpiresAt: expires})})
	snap, err := c.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Instances) != 1 {
		t.Fatalf("observed %d instances, want 1", len(snap.Instances))
	}
	in := snap.Instances[0]
	if in.Project != "packit" || in.Template != "fedora" || in.ExpiresAt.Format(time.RFC3339) != expires {
		t.Errorf("observed %s/%s expiring %s, want packit/fedora expiring %s", in.Project, in.Template, in.ExpiresAt, expires)
	}
	if got := Verify("i-00000000000000001", cloud.TagExpiresAt, e.Sim.Instances(Account, Region)[0].Tags[cloud.TagExpiresAt]); got != expires {
		t.Errorf("Verify = %q, want %q", got, expires)
	}
	if got := Verify("i-00000000000000002", cloud.TagExpiresAt, e.Sim.Instances(Account, Region)[0].Tags[cloud.TagExpiresAt]); !strings.HasPrefix(got, "unsigned: ") {
		t.Errorf("another instance's expiry verified: %q", got)
	}
}

func TestKeysServer(t *testing.T) {
	e := New(t, Options{Endpoint: "http://127.0.0.1:1"})
	if e.Sim != nil || e.Endpoint != "http://127.0.0.1:1" {
		t.Errorf("with an endpoint: sim %v, endpoint %s", e.Sim, e.Endpoint)
	}
	for path, want := range map[string]string{
		"/alice.keys":                  "200 " + KeyLine(t, "alice") + "\n",
		"/ghost.keys":                  "404 404 page not found\n",
		"/broken-for-carol/carol.keys": "503 unicorn\n",
		"/broken-for-carol/dave.keys":  "200 " + KeyLine(t, "dave") + "\n",
	} {
		resp, err := http.Get(e.KeysURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Status[:3] + " " + string(body); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	if KeyLine(t, "alice") == KeyLine(t, "bob") || !strings.HasPrefix(KeyLine(t, "bob"), "ssh-ed25519 ") {
		t.Errorf("keys: alice %q, bob %q", KeyLine(t, "alice"), KeyLine(t, "bob"))
	}
}

func TestSlackRecordsAndRefuses(t *testing.T) {
	s := NewSlack(t, func() time.Time { return T0 })
	api := slack.New("xoxb-test", slack.OptionAPIURL(s.GetAPIURL()))
	post := func(channel string) error {
		_, _, err := api.PostMessage(channel, slack.MsgOptionText("hello "+channel, false))
		return err
	}
	s.StartRun(1)
	if err := post("#a"); err != nil {
		t.Fatal(err)
	}
	s.Refuse("#b", "channel_not_found")
	if err := post("#b"); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("post to a refused channel: %v", err)
	}
	s.Set(true, 0)
	if err := post("#a"); err == nil {
		t.Error("post while down succeeded")
	}
	s.Set(false, 0)
	s.StartRun(2)
	if err := post("#c"); err != nil {
		t.Fatal(err)
	}
	got := s.Take()
	if len(got) != 2 || got[0].Channel != "#a" || got[0].Run != 1 || !got[0].At.Equal(T0) || got[1].Text != "hello #c" || got[1].Run != 2 {
		t.Errorf("posts %+v", got)
	}
	if len(s.Take()) != 0 || len(s.Posts()) != 2 || len(s.Texts("#a")) != 1 {
		t.Errorf("after Take: %d taken, %d posts, texts of #a %q", len(s.Take()), len(s.Posts()), s.Texts("#a"))
	}
}

func TestWriteRepo(t *testing.T) {
	dir := WriteRepo(t, "", map[string]string{"launchwarden.toml": "a", "projects/p.toml": "b"})
	for name, want := range map[string]string{"launchwarden.toml": "a", "projects/p.toml": "b"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}
