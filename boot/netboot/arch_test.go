package netboot_test

import (
	"bytes"
	"context"
	"debug/pe"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
)

// TestServeArch: /boot/arm64/REPO/REF/bootaa64.efi is GRUB's arm64 EFI
// image (Debian's grub-efi-arm64-bin, fetched once) whose built-in
// configuration reads /boot/arm64/REPO/REF/grub.cfg from the advertised
// address, which fetches /boot/arm64/vmlinuz and initrd.img (asking
// again while the server makes them) and boots the chain on the PL011
// console; the
// second request gets the same file; bad names are 400, a chain not in the
// store and bootaa64.efi without --boot-chain 404; an initramfs that cannot
// be built (no mode for arm64) is a 500 that names no path.
func TestServeArch(t *testing.T) {
	testutil.RequiresRoot(t) // mmdebstrap unpacks GRUB once
	testutil.RequiresTools(t, "grub-mkimage", "mksquashfs")
	if testing.Short() {
		t.Skip("fetches GRUB for arm64 once: not with -short")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	root, layer := filepath.Join(dir, "root"), filepath.Join(dir, "base.sqfs")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	if out, err := exec.Command("mksquashfs", root, layer, "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v: %s", err, out)
	}
	if _, err := s.AddChain(ctx, "tiny", "base", []store.Layer{{Path: layer, Meta: layers.Meta{Name: "base", Architecture: "arm64"}}}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-mode-arm64")
	nb, err := netboot.New(s, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, netboot.Options{
		Kernel: filepath.Join(dir, "k"), Initrd: filepath.Join(dir, "i"), Advertise: "10.0.0.1:5000",
		Arch: &netboot.ArchBoot{Arch: "arm64", Mode: missing, KernelDir: filepath.Join(testutil.KernelDir(t), "arm64")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	srv := httptest.NewServer(nb)
	defer srv.Close()

	code, body := get(t, srv.URL+"/boot/arm64/tiny/base/"+netboot.GrubFile)
	if code != 200 {
		t.Fatalf("GRUB image: %d %s", code, body)
	}
	f, err := pe.NewFile(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not a PE file: %v", err)
	}
	if f.Machine != pe.IMAGE_FILE_MACHINE_ARM64 {
		t.Errorf("machine %#x, want arm64", f.Machine)
	}
	if want := "net_bootp\nconfigfile (http,10.0.0.1:5000)/boot/arm64/tiny/base/grub.cfg\n"; !strings.Contains(body, want) {
		t.Errorf("GRUB's built-in configuration lacks %q", want)
	}
	code, cfg := get(t, srv.URL+"/boot/arm64/tiny/base/"+netboot.GrubConfigFile)
	for _, want := range []string{
		"\tif linux (http,10.0.0.1:5000)/boot/arm64/vmlinuz console=tty0 console=ttyAMA0 mode.ref=10.0.0.1:5000/tiny:base mode.insecure; then break; fi\n",
		"\tif initrd (http,10.0.0.1:5000)/boot/arm64/initrd.img; then boot; fi\n",
	} {
		if code != 200 || !strings.Contains(cfg, want) {
			t.Errorf("grub.cfg: %d, lacks %q:\n%s", code, want, cfg)
		}
	}
	if strings.Contains(cfg, "mode.report=") || strings.Contains(cfg, "?mac=") {
		t.Errorf("grub.cfg of a server without a push token asks for reports:\n%s", cfg)
	}

	// With a push token each machine reports with its own: the first
	// grub.cfg asks again with GRUB's MAC, the second carries its token.
	tok, err := netboot.New(s, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, netboot.Options{
		Kernel: filepath.Join(dir, "k"), Initrd: filepath.Join(dir, "i"), Advertise: "10.0.0.1:5000", PushToken: "s3cret",
		Arch: &netboot.ArchBoot{Arch: "arm64", Mode: missing, KernelDir: filepath.Join(testutil.KernelDir(t), "arm64")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	srvTok := httptest.NewServer(tok)
	defer srvTok.Close()
	if code, first := get(t, srvTok.URL+"/boot/arm64/tiny/base/"+netboot.GrubConfigFile); code != 200 ||
		!strings.HasSuffix(first, "\nconfigfile \"(http,10.0.0.1:5000)/boot/arm64/tiny/base/grub.cfg?mac=${mac}\"\n") {
		t.Errorf("first grub.cfg with a push token: %d\n%s", code, first)
	}
	const mac = "52:54:00:12:34:56"
	code, second := get(t, srvTok.URL+"/boot/arm64/tiny/base/"+netboot.GrubConfigFile+"?mac="+mac)
	if want := "vmlinuz mode.report=" + report.MachineToken("s3cret", mac) + " console=tty0"; code != 200 || !strings.Contains(second, want) {
		t.Errorf("grub.cfg?mac=%s: %d, lacks %q:\n%s", mac, code, want, second)
	}
	if code, none := get(t, srvTok.URL+"/boot/arm64/tiny/base/"+netboot.GrubConfigFile+"?mac="); code != 200 || strings.Contains(none, "mode.report=") ||
		!strings.Contains(none, "mode.ref=10.0.0.1:5000/tiny:base") {
		t.Errorf("grub.cfg with no MAC (GRUB knew none): %d, want the chain without a report token:\n%s", code, none)
	}

	if _, again := get(t, srv.URL+"/boot/arm64/tiny/base/"+netboot.GrubFile); again != body {
		t.Error("the second request got another image")
	}
	for p, want := range map[string]int{
		"tiny/nope/" + netboot.GrubFile: 404, netboot.GrubFile: 404,
		"tiny/nope/" + netboot.GrubConfigFile: 404, netboot.GrubConfigFile: 404,
		"tiny/ba%20se/" + netboot.GrubFile: 400, "TINY!/base/" + netboot.GrubFile: 400, "tiny/base/grub.efi": 400, "tiny/" + netboot.GrubFile: 400,
	} {
		if code, body := get(t, srv.URL+"/boot/arm64/"+p); code != want {
			t.Errorf("/boot/arm64/%s: %d %q, want %d", p, code, body, want)
		}
	}
	code, body = get(t, srv.URL+"/boot/arm64/initrd.img")
	if code != 500 || strings.Contains(body, dir) || !strings.Contains(body, "server's log") {
		t.Errorf("initrd.img without mode for arm64: %d %q", code, body)
	}
	if bytes.Contains([]byte(body), []byte("no-mode-arm64")) {
		t.Error("the reply names the path")
	}
}
