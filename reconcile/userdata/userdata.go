// Package userdata renders the user data of a launch template: cloud-init
// that installs the template's SSH keys, merged with the project's own
// cloud_init. It decides the document's format and rejects user data EC2
// would refuse.
//
// Without extra cloud-init the user data is one #cloud-config document:
//
//	#cloud-config
//	ssh_authorized_keys:
//	  - "ssh-ed25519 AAAA... github:alice"
//
// With extra cloud-init it is a MIME multipart archive whose first part is
// that document and whose second part is the project's cloud_init, as
// text/cloud-config or text/x-shellscript. Output is byte-stable (the
// boundary is derived from the content), because the template's spec hash
// covers it.
package userdata

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxBytes is EC2's limit on user data, counted before base64 encoding.
const MaxBytes = 16 * 1024

// mergeType makes the project's cloud-config add to our document instead of
// replacing it: lists (ssh_authorized_keys among them) are appended, keys
// already set are kept, and nested lists are merged the same way.
const mergeType = "list(append)+dict(no_replace,recurse_list)+str()"

// ErrCloudInitFormat is returned for extra cloud-init that is neither a
// cloud-config document nor a script.
var ErrCloudInitFormat = errors.New("cloud_init must start with #cloud-config or #!")

// TooLargeError reports user data over MaxBytes.
type TooLargeError struct {
	Size       int // bytes of rendered user data
	Keys       int // SSH keys it held
	ExtraBytes int // bytes of the project's cloud_init in it
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("user data is %s, over EC2's %s limit (%d keys + %s cloud_init)",
		kib(e.Size), kib(MaxBytes), e.Keys, kib(e.ExtraBytes))
}

func kib(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

// Render returns the user data that installs keys (authorized_keys lines,
// kept in the given order) and runs extra, the project's cloud_init ("" for
// none). The same input always gives the same bytes.
func Render(keys []string, extra string) (string, error) {
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return "", err
		}
	}
	doc := keysDocument(keys)
	if extra == "" {
		return checkSize(doc, len(keys), 0)
	}

	var extraType string
	switch firstLine, _, _ := strings.Cut(extra, "\n"); {
	case strings.TrimRight(firstLine, " \t\r") == "#cloud-config":
		extraType = "text/cloud-config"
	case strings.HasPrefix(extra, "#!"):
		extraType = "text/x-shellscript"
	default:
		return "", ErrCloudInitFormat
	}

	// The boundary is derived from the content so the output is stable, and
	// a hash of the content cannot occur in it.
	sum := sha256.Sum256([]byte(doc + "\x00" + extra))
	boundary := "==launchwarden-" + hex.EncodeToString(sum[:12]) + "=="

	var b strings.Builder
	b.Grow(len(doc) + len(extra) + 600)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\n", boundary)
	b.WriteString("MIME-Version: 1.0\n\n")

	fmt.Fprintf(&b, "--%s\n", boundary)
	b.WriteString("Content-Type: text/cloud-config; charset=\"us-ascii\"\n")
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString("Content-Transfer-Encoding: 7bit\n")
	b.WriteString("Content-Disposition: attachment; filename=\"launchwarden-ssh-keys.cfg\"\n\n")
	b.WriteString(doc)

	// cloud-init merges each cloud-config part into what the parts before it
	// built, using the merge type of the part being merged in; so the merge
	// type goes on the project's part, not on ours.
	fmt.Fprintf(&b, "\n--%s\n", boundary)
	fmt.Fprintf(&b, "Content-Type: %s; charset=\"utf-8\"\n", extraType)
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\n")
	if extraType == "text/cloud-config" {
		b.WriteString("Content-Disposition: attachment; filename=\"cloud-init.cfg\"\n")
		b.WriteString("Merge-Type: " + mergeType + "\n\n")
	} else {
		b.WriteString("Content-Disposition: attachment; filename=\"cloud-init.sh\"\n\n")
	}
	b.WriteString(extra)
	if !strings.HasSuffix(extra, "\n") {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n--%s--\n", boundary)
	return checkSize(b.String(), len(keys), len(extra))
}

func checkSize(userData string, keys, extraBytes int) (string, error) {
	if len(userData) > MaxBytes {
		return "", &TooLargeError{Size: len(userData), Keys: keys, ExtraBytes: extraBytes}
	}
	return userData, nil
}

// checkKey rejects what cannot be an authorized_keys line: keys are single
// lines of printable ASCII, and anything else would break the document, not
// only the key.
func checkKey(k string) error {
	if strings.TrimSpace(k) == "" {
		return errors.New("empty SSH key")
	}
	for _, r := range k {
		if r < 0x20 || r > 0x7e {
			return fmt.Errorf("SSH key %.40q… is not one line of printable ASCII", k)
		}
	}
	return nil
}

// yamlEscaper escapes what is special inside a double-quoted YAML scalar;
// checkKey has already rejected control characters.
var yamlEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// keysDocument is the #cloud-config document that installs keys for the
// image's default user. Each key is a double-quoted YAML scalar.
func keysDocument(keys []string) string {
	if len(keys) == 0 {
		return "#cloud-config\nssh_authorized_keys: []\n"
	}
	var b strings.Builder
	b.WriteString("#cloud-config\nssh_authorized_keys:\n")
	for _, k := range keys {
		b.WriteString(`  - "`)
		b.WriteString(yamlEscaper.Replace(k))
		b.WriteString("\"\n")
	}
	return b.String()
}

// KeysFromUserData returns the SSH keys that Render put in userData (raw,
// not base64), in order; nil if there are none or userData was not rendered
// by Render. Only the first ssh_authorized_keys list is read: that is ours,
// and keys the project's own cloud_init adds are not launchwarden's to keep.
func KeysFromUserData(userData string) []string {
	var keys []string
	inList := false
	sc := bufio.NewScanner(strings.NewReader(userData))
	sc.Buffer(nil, MaxBytes+1)
	for sc.Scan() {
		line := sc.Text()
		if !inList {
			inList = line == "ssh_authorized_keys:"
			continue
		}
		item, ok := strings.CutPrefix(line, "  - ")
		if !ok {
			break
		}
		k, err := strconv.Unquote(item) // our escapes (\\ and \") mean the same in Go and YAML
		if err != nil {
			break
		}
		keys = append(keys, k)
	}
	return keys
}
