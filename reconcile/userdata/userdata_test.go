package userdata

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// golden compares got with testdata/<name>.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from golden file (-want +got):\n%s", path, diff)
	}
}

var (
	testKeys = []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGj0zbv4l6cJ6u6mZ1k6yQ3aQ0Jm2Qk8mY0oR9kT1x2c github:alice",
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGRNqlFgED/pf4zXz8IzqA6CALNwYcwgd4MQDmIS1GOtn1SySFObiuyJaOlpqkV5FeEifhxfIC2ejKKtNyO4Cys= github:bob",
	}
	// oddKey has the two characters a double-quoted YAML scalar must escape.
	oddKey = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPy7cX2m0hZ0lq1b9mN3Sx8uK3j0pL5vT7rW2yE4aB6d a "quoted" \path`

	cloudConfig = "#cloud-config\npackages:\n  - git\nruncmd:\n  - [systemctl, enable, --now, podman.socket]\n"
	shellScript = "#!/bin/sh\nset -eu\necho \"ready\" > /etc/motd\n"
)

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		extra string
	}{
		{name: "keys-only", keys: testKeys},
		{name: "no-keys", keys: nil},
		{name: "escaped-key", keys: []string{oddKey}},
		{name: "keys-cloud-config", keys: testKeys, extra: cloudConfig},
		{name: "keys-shell-script", keys: testKeys, extra: shellScript},
		{name: "shell-script-without-final-newline", keys: testKeys, extra: strings.TrimSuffix(shellScript, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.keys, tt.extra)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			golden(t, tt.name, got)
		})
	}
}

// part is a MIME part as cloud-init sees it.
type part struct {
	ContentType string
	MergeType   string
	Body        string
}

// TestRenderMultipart reads the archive back with a MIME parser, as
// cloud-init does, and checks what each part carries.
func TestRenderMultipart(t *testing.T) {
	keysDoc, err := Render(testKeys, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra string
		want  []part
	}{
		{
			name:  "cloud-config merged into ours",
			extra: cloudConfig,
			want: []part{
				{ContentType: "text/cloud-config", Body: keysDoc},
				{ContentType: "text/cloud-config", MergeType: mergeType, Body: cloudConfig},
			},
		},
		{
			name:  "shell script",
			extra: shellScript,
			want: []part{
				{ContentType: "text/cloud-config", Body: keysDoc},
				{ContentType: "text/x-shellscript", Body: shellScript},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userData, err := Render(testKeys, tt.extra)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, readParts(t, userData)); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}

func readParts(t *testing.T, userData string) []part {
	t.Helper()
	header, body, ok := strings.Cut(userData, "\n\n")
	if !ok || !strings.Contains(header, "MIME-Version: 1.0") {
		t.Fatalf("no MIME header in:\n%s", userData)
	}
	contentType, _ := strings.CutPrefix(strings.Split(header, "\n")[0], "Content-Type: ")
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %s, %v", contentType, mediaType, err)
	}
	var parts []part
	r := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("reading parts: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		mediaType, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		parts = append(parts, part{ContentType: mediaType, MergeType: p.Header.Get("Merge-Type"), Body: string(b)})
	}
}

func TestRenderTooLarge(t *testing.T) {
	// 42 RSA-4096-sized keys and 9.1 KiB of cloud_init.
	var keys []string
	for i := range 42 {
		keys = append(keys, fmt.Sprintf("ssh-rsa AAAAB3NzaC1yc2E%s github:user%02d", strings.Repeat("Q", 700), i))
	}
	extra := "#!/bin/sh\n" + strings.Repeat("echo 0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n", 150)

	_, err := Render(keys, extra)

	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("Render() error = %v, want a *TooLargeError", err)
	}
	if tooLarge.Keys != 42 || tooLarge.ExtraBytes != len(extra) || tooLarge.Size <= MaxBytes {
		t.Errorf("TooLargeError = %+v, want 42 keys, %d extra bytes and a size over %d", tooLarge, len(extra), MaxBytes)
	}
	golden(t, "too-large-error", err.Error()+"\n")
}

func TestRenderAtLimit(t *testing.T) {
	base, err := Render(nil, "#!/bin/sh\n")
	if err != nil {
		t.Fatal(err)
	}
	// Pad the script so the user data is exactly MaxBytes; the boundary
	// changes with the content but not its length.
	pad := strings.Repeat("#", MaxBytes-len(base)-1)
	atLimit, err := Render(nil, "#!/bin/sh\n"+pad+"\n")
	if err != nil {
		t.Fatalf("Render() at the limit: error = %v", err)
	}
	if len(atLimit) != MaxBytes {
		t.Fatalf("user data is %d bytes, want exactly %d", len(atLimit), MaxBytes)
	}
	if _, err := Render(nil, "#!/bin/sh\n"+pad+"#\n"); !errors.As(err, new(*TooLargeError)) {
		t.Errorf("Render() one byte over the limit: error = %v, want a *TooLargeError", err)
	}
}

func TestRenderRejects(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		extra   string
		wantErr error // nil: any error
	}{
		{name: "extra neither cloud-config nor script", keys: testKeys, extra: "packages: [git]\n", wantErr: ErrCloudInitFormat},
		{name: "cloud-config archive", keys: testKeys, extra: "#cloud-config-archive\n- type: text/x-shellscript\n", wantErr: ErrCloudInitFormat},
		{name: "leading blank line", keys: testKeys, extra: "\n#cloud-config\n", wantErr: ErrCloudInitFormat},
		{name: "key with a newline", keys: []string{testKeys[0] + "\nruncmd: [reboot]"}},
		{name: "key with non-ASCII", keys: []string{testKeys[0] + " é"}},
		{name: "empty key", keys: []string{" "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.keys, tt.extra)
			if err == nil {
				t.Fatalf("Render() = %q, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Render() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestKeysFromUserDataRoundTrip(t *testing.T) {
	extras := map[string]string{"none": "", "cloud-config": cloudConfig, "shell script": shellScript}
	keySets := map[string][]string{"no keys": nil, "two keys": testKeys, "escaped key": {oddKey, testKeys[0]}}
	for extraName, extra := range extras {
		for keysName, keys := range keySets {
			t.Run(keysName+" with "+extraName, func(t *testing.T) {
				userData, err := Render(keys, extra)
				if err != nil {
					t.Fatalf("Render() error = %v", err)
				}
				if diff := cmp.Diff(keys, KeysFromUserData(userData)); diff != "" {
					t.Errorf("keys read back (-rendered +read):\n%s", diff)
				}
			})
		}
	}
}

func TestKeysFromUserData(t *testing.T) {
	tests := []struct {
		name     string
		userData string
		want     []string
	}{
		{name: "empty", userData: ""},
		{name: "shell script", userData: "#!/bin/sh\necho hi\n"},
		{
			name: "only our list, not one in the project's part",
			userData: mustRender(t, testKeys[:1],
				"#cloud-config\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2 project-key\"\n"),
			want: testKeys[:1],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, KeysFromUserData(tt.userData)); diff != "" {
				t.Errorf("KeysFromUserData() (-want +got):\n%s", diff)
			}
		})
	}
}

func mustRender(t *testing.T, keys []string, extra string) string {
	t.Helper()
	s, err := Render(keys, extra)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRenderDeterministic(t *testing.T) {
	for _, extra := range []string{"", cloudConfig, shellScript} {
		first, second := mustRender(t, testKeys, extra), mustRender(t, testKeys, extra)
		if first != second {
			t.Errorf("two renders with extra %.20q differ:\n%s\n---\n%s", extra, first, second)
		}
	}
	// The boundary follows the content, so changed keys change every line
	// that names it, not only the key lines.
	a, b := mustRender(t, testKeys, shellScript), mustRender(t, testKeys[:1], shellScript)
	if strings.SplitN(a, "\n", 2)[0] == strings.SplitN(b, "\n", 2)[0] {
		t.Errorf("different keys gave the same boundary: %s", strings.SplitN(a, "\n", 2)[0])
	}
}

func BenchmarkRender(b *testing.B) {
	var keys []string
	for i := range 50 {
		keys = append(keys, fmt.Sprintf("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%043d github:user%02d", i, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(keys, cloudConfig); err != nil {
			b.Fatal(err)
		}
	}
}
