package trust

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteKeyPair(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "k")
	keyFile, pubFile, err := WriteKeyPair(prefix, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", keyFile, fi.Mode().Perm())
	}
	priv, _ := os.ReadFile(keyFile)
	if !strings.Contains(string(priv), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("private key is not in cosign's encrypted format:\n%s", priv)
	}
	if _, _, err := WriteKeyPair(prefix, nil); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second WriteKeyPair: %v, want an error saying the key exists", err)
	}
	signer, err := LoadSigner(keyFile, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	if KeyID(signer.Public()) != keys[0].ID || !strings.HasPrefix(keys[0].ID, "sha256:") || len(keys[0].ID) != 23 {
		t.Errorf("key IDs: private %s, public %s", KeyID(signer.Public()), keys[0].ID)
	}
	if _, err := LoadSigner(keyFile, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "COSIGN_PASSWORD") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestKeyErrors(t *testing.T) {
	dir := t.TempDir()
	keyFile, pubFile, err := WriteKeyPair(filepath.Join(dir, "k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a key\n"), 0o644)
	unreadable := filepath.Join(dir, "unreadable")
	os.Mkdir(unreadable, 0o755) // reading a directory fails even for root
	for _, tc := range []struct {
		name, file string
		private    bool
		want       string
	}{
		{"missing private", filepath.Join(dir, "nope.key"), true, "nope.key: no such file"},
		{"unreadable private", unreadable, true, "unreadable: is a directory"},
		{"public given as private", pubFile, true, "a public key, not a private key"},
		{"junk private", junk, true, "junk: not a PEM file"},
		{"missing public", filepath.Join(dir, "nope.pub"), false, "nope.pub: no such file"},
		{"private given as public", keyFile, false, "this is a private key"},
		{"junk public", junk, false, "junk: not a PEM file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.private {
				_, err = LoadSigner(tc.file, nil)
			} else {
				_, err = LoadPublicKeys(tc.file)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.name == "public given as private" && !errors.Is(err, ErrNotPrivateKey) {
				t.Errorf("%v is not ErrNotPrivateKey", err)
			}
		})
	}
}
