package fleet

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// MaxSSHKeys bounds the authorized keys of a rule.
const MaxSSHKeys = 64

// sshKeyTypes are the public key types a rule's ssh_keys may hold (those of
// OpenSSH's authorized_keys, without certificates).
var sshKeyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true, "ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true,
	"ecdsa-sha2-nistp521": true, "sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// checkSSHKeys checks a rule's ssh_keys: each one line "TYPE BASE64
// [COMMENT]" of a known type whose key data decodes and names that type.
// Options before the type (from="…") are not taken: the keys also go into
// cloud-init's user-data, which writes them as they are.
func checkSSHKeys(keys []string) error {
	if len(keys) > MaxSSHKeys {
		return fmt.Errorf("ssh_keys: %d keys, at most %d", len(keys), MaxSSHKeys)
	}
	for i, k := range keys {
		if err := checkSSHKey(k); err != nil {
			return fmt.Errorf("ssh_keys[%d] %q: %v", i, short(k), err)
		}
	}
	return nil
}

func checkSSHKey(k string) error {
	if len(k) > 16<<10 {
		return fmt.Errorf("%d bytes, at most 16 KiB", len(k))
	}
	for _, c := range k {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("a control character (one key per item, on one line)")
		}
	}
	f := strings.Fields(k)
	if len(f) < 2 {
		return fmt.Errorf("want TYPE BASE64 [COMMENT], as in ~/.ssh/id_ed25519.pub")
	}
	if !sshKeyTypes[f[0]] {
		return fmt.Errorf("key type %q: want ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or an sk- key", f[0])
	}
	data, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return fmt.Errorf("key data: %v", err)
	}
	// The key data begins with its type, as a length-prefixed string.
	if len(data) < 4 || int(binary.BigEndian.Uint32(data)) > len(data)-4 ||
		!bytes.Equal(data[4:4+binary.BigEndian.Uint32(data)], []byte(f[0])) {
		return fmt.Errorf("key data is not a %s key", f[0])
	}
	return nil
}

// short is s cut for an error message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
