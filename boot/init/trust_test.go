package modeinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/registry/trust"
)

func TestLoadPolicy(t *testing.T) {
	keys := t.TempDir()
	if _, _, err := trust.WriteKeyPair(filepath.Join(keys, "site"), nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(keys, "site.key")) // only public keys go into an initramfs
	none := t.TempDir()
	allow := filepath.Join(t.TempDir(), "allow-weaker")
	os.WriteFile(allow, nil, 0o644)
	noAllow := filepath.Join(t.TempDir(), "absent")
	for _, tc := range []struct {
		name, dir, allow, verify string
		mode, err                string
	}{
		{"keys: require by default", keys, noAllow, "", verifyRequire, ""},
		{"no keys: off by default", none, noAllow, "", verifyOff, ""},
		{"no keys: warn", none, noAllow, "warn", verifyWarn, ""},
		{"no keys cannot require", none, noAllow, "require", "", "holds no trusted keys"},
		{"keys: off refused", keys, noAllow, "off", "", "not built to allow weaker verification"},
		{"keys: warn refused", keys, noAllow, "warn", "", "not built to allow weaker verification"},
		{"keys: off allowed", keys, allow, "off", verifyOff, ""},
		{"keys: warn allowed", keys, allow, "warn", verifyWarn, ""},
		{"no key directory", filepath.Join(none, "absent"), noAllow, "", verifyOff, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadPolicy(tc.dir, tc.allow, tc.verify)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil || p.mode != tc.mode {
				t.Fatalf("got mode %q, %v; want %q", p.mode, err, tc.mode)
			}
			if tc.dir == keys && (len(p.keys) != 1 || !strings.HasPrefix(p.ids(), "sha256:")) {
				t.Errorf("keys %v", p.ids())
			}
		})
	}
	// A private key where a public one belongs is an error naming the file.
	bad := t.TempDir()
	trust.WriteKeyPair(filepath.Join(bad, "k"), nil)
	os.Rename(filepath.Join(bad, "k.key"), filepath.Join(bad, "k2.pub"))
	if _, err := loadPolicy(bad, noAllow, ""); err == nil || !strings.Contains(err.Error(), "k2.pub") {
		t.Errorf("a private key as k2.pub: %v", err)
	}
}

func TestVerifyParam(t *testing.T) {
	p, err := parseParams("mode.ref=h/r:t mode.verify=warn")
	if err != nil || p.verify != verifyWarn {
		t.Fatalf("mode.verify=warn: %q %v", p.verify, err)
	}
	if _, err := parseParams("mode.ref=h/r:t mode.verify=maybe"); err == nil || !strings.Contains(err.Error(), "mode.verify=maybe") {
		t.Errorf("mode.verify=maybe: %v", err)
	}
}
