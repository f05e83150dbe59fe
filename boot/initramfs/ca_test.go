package initramfs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/registry/serve"
)

// TestAddCA: the site CA joins the initramfs's CA bundle after the
// host's and is carried as /etc/mode/ca.crt; a file that is no certificate
// is refused, naming it.
func TestAddCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := serve.AutoTLS(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, serve.CACertFile)
	host := filepath.Join(dir, "host-bundle.crt")
	os.WriteFile(host, []byte("HOST BUNDLE"), 0o644)
	opts := initramfs.Options{CACerts: host}
	cleanup, err := initramfs.AddCA(&opts, ca)
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := os.ReadFile(opts.CACerts)
	caPEM, _ := os.ReadFile(ca)
	if string(bundle) != "HOST BUNDLE\n"+string(caPEM) {
		t.Errorf("bundle:\n%s", bundle)
	}
	if len(opts.Files) != 1 || opts.Files[0].Source != ca || opts.Files[0].Name != "etc/mode/ca.crt" {
		t.Errorf("files %+v", opts.Files)
	}
	made := opts.CACerts
	cleanup()
	if _, err := os.Stat(made); !os.IsNotExist(err) {
		t.Errorf("the bundle %s outlived cleanup: %v", made, err)
	}
	key := filepath.Join(dir, "ca.key")
	if _, err := initramfs.AddCA(&initramfs.Options{}, key); err == nil || !strings.Contains(err.Error(), key) {
		t.Errorf("a key as CA: %v", err)
	}
}
