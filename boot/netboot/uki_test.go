package netboot_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
)

func requiresUKITools(t *testing.T) {
	t.Helper()
	testutil.RequiresTools(t, "objcopy", "sbsign", "sbverify")
	if _, err := os.Stat(uki.Stub); err != nil {
		t.Fatalf("%v: install systemd-boot-efi (make deps)", err)
	}
}

// TestServeUKI: with the site's Secure Boot key, /boot/uki/REPO/REF/mode.efi
// and /boot/mode.efi serve the chain's kernel, initramfs and command line as
// one EFI binary signed with it; built once; bad names refused; a key that
// is not the certificate's refused at New.
func TestServeUKI(t *testing.T) {
	requiresUKITools(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	// A layer without a kernel: the chain boots the server's.
	root, layer := filepath.Join(dir, "root"), filepath.Join(dir, "base.sqfs")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("tiny\n"), 0o644)
	if out, err := exec.Command("mksquashfs", root, layer, "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v: %s", err, out)
	}
	if _, err := s.AddChain(ctx, "tiny", "base", []store.Layer{{Path: layer, Meta: layers.Meta{Name: "base"}}}); err != nil {
		t.Fatal(err)
	}
	k, i := filepath.Join(dir, "k"), filepath.Join(dir, "i")
	kb, ib := bytes.Repeat([]byte("KERNEL"), 3000), bytes.Repeat([]byte("INITRD"), 4000)
	os.WriteFile(k, kb, 0o644)
	os.WriteFile(i, ib, 0o644)
	site, err := uki.WriteKey(filepath.Join(dir, "site"), "mode test site")
	if err != nil {
		t.Fatal(err)
	}
	other, err := uki.WriteKey(filepath.Join(dir, "other"), "another site")
	if err != nil {
		t.Fatal(err)
	}
	listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}

	if _, err := netboot.New(s, listen, netboot.Options{Kernel: k, Initrd: i, SecureBoot: &uki.Signer{Key: site.Key, Cert: other.Cert}}); err == nil || !strings.Contains(err.Error(), "is not the key of certificate") {
		t.Errorf("a key and another's certificate: %v", err)
	}

	nb, err := netboot.New(s, listen, netboot.Options{Kernel: k, Initrd: i, Advertise: "10.0.0.1:5000", SecureBoot: &site})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	srv := httptest.NewServer(nb)
	defer srv.Close()

	if code, body := get(t, srv.URL+"/boot/"+netboot.UKIFile); code != 404 || !strings.Contains(body, "--boot-chain") {
		t.Errorf("mode.efi without a chain: %d %q", code, body)
	}
	for _, p := range []string{"tiny/base/vmlinuz", "tiny/base/other.efi", "tiny/ba%20se/mode.efi", "tiny/mode.efi", "mode.efi", "TINY!/base/mode.efi"} {
		if code, body := get(t, srv.URL+"/boot/uki/"+p); code != 400 || strings.Contains(body, dir) {
			t.Errorf("/boot/uki/%s: %d %q, want 400 without paths", p, code, body)
		}
	}
	if code, body := get(t, srv.URL+"/boot/uki/tiny/missing/"+netboot.UKIFile); code != 404 {
		t.Errorf("a chain not in the store: %d %q", code, body)
	}
	code, body := get(t, srv.URL+"/boot/uki/tiny/base/"+netboot.UKIFile)
	if code != 200 {
		t.Fatalf("UKI: %d %q", code, body)
	}
	efi := filepath.Join(dir, "got.efi")
	os.WriteFile(efi, []byte(body), 0o644)
	if err := uki.Verify(ctx, site.Cert, efi); err != nil {
		t.Error(err)
	}
	if err := uki.Verify(ctx, other.Cert, efi); err == nil {
		t.Error("sbverify accepts the UKI with another site's certificate")
	}
	sec, err := uki.Sections(efi)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sec[".linux"], kb) || !bytes.Equal(sec[".initrd"], ib) {
		t.Errorf(".linux %d bytes, .initrd %d bytes: want the served kernel and initramfs", len(sec[".linux"]), len(sec[".initrd"]))
	}
	if c := string(sec[".cmdline"]); c != "console=tty0 console=ttyS0 mode.ref=10.0.0.1:5000/tiny:base mode.insecure" {
		t.Errorf(".cmdline %q", c)
	}
	if _, again := get(t, srv.URL+"/boot/uki/tiny/base/"+netboot.UKIFile); again != body {
		t.Error("the second request got another UKI: not kept")
	}
}

// TestUKIsKept: a UKI is built and signed once per kernel, initramfs and
// command line; another command line is another UKI.
func TestUKIsKept(t *testing.T) {
	requiresUKITools(t)
	ctx := context.Background()
	dir := t.TempDir()
	k, i := filepath.Join(dir, "k"), filepath.Join(dir, "i")
	os.WriteFile(k, []byte("KERNEL"), 0o644)
	os.WriteFile(i, []byte("INITRD"), 0o644)
	site, err := uki.WriteKey(filepath.Join(dir, "site"), "mode test site")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	u, err := netboot.NewUKIs(site, out)
	if err != nil {
		t.Fatal(err)
	}
	a, err := u.Path(ctx, k, i, "mode.ref=a")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(a)
	a2, err := u.Path(ctx, k, i, "mode.ref=a")
	if err != nil || a2 != a {
		t.Fatalf("again: %s %v, want %s", a2, err, a)
	}
	if st2, _ := os.Stat(a); !os.SameFile(st, st2) || !st2.ModTime().Equal(st.ModTime()) {
		t.Error("built twice")
	}
	b, err := u.Path(ctx, k, i, "mode.ref=b")
	if err != nil || b == a {
		t.Errorf("another command line: %s %v", b, err)
	}
	if _, err := u.Path(ctx, filepath.Join(dir, "missing"), i, "x"); err == nil {
		t.Error("a missing kernel: no error")
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v: want the two signed UKIs only", out, names)
	}
}
