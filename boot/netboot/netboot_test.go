package netboot_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

func fixed(path string) *netboot.File {
	return netboot.Lazy(func(context.Context) (string, error) { return path, nil })
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"k": "KERNEL", "i": "INITRD"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	choose := func(m netboot.Machine) (*netboot.Choice, error) {
		switch {
		case m.MAC == "52:54:00:00:00:02":
			return &netboot.Choice{Repo: "tiny", Ref: "console", Args: "mode.hostname=two"}, nil
		case m.UUID == "00000000-0000-0000-0000-000000000003":
			return &netboot.Choice{Repo: "tiny", Ref: "sha256:" + strings.Repeat("a", 64)}, nil
		case m.Serial == "S 4":
			return &netboot.Choice{Local: true}, nil
		}
		return nil, nil
	}
	token := func(mac string) string { return "tok-" + mac }
	h := netboot.Handler(netboot.Config{Kernel: fixed(filepath.Join(dir, "k")), Initrd: fixed(filepath.Join(dir, "i")), Chain: "console", Choose: choose, Token: token})
	srv := httptest.NewServer(h)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tls := httptest.NewServer(netboot.Handler(netboot.Config{Chain: "console", Repo: "tiny", Registry: "site:5443", Files: "http://site:5080"}))
	defer tls.Close()
	const one = "mac=52:54:00:00:00:01"
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/boot/vmlinuz", 200, []string{"KERNEL"}},
		{"/boot/initrd.img", 200, []string{"INITRD"}},
		{"/boot/boot.ipxe", 200, []string{"#!ipxe\n", "chain http://" + host + "/boot/boot.ipxe?" + netboot.Identify + "\n"}},
		{"/boot/boot.ipxe?chain=extra", 200, []string{"chain http://" + host + "/boot/boot.ipxe?" + netboot.Identify + "&chain=extra\n"}},
		{"/boot/boot.ipxe?" + one, 200, []string{"#!ipxe\n", "kernel http://" + host + "/boot/chain/mode/console/vmlinuz ", "mode.ref=" + host + "/mode:console mode.insecure mode.report=tok-52:54:00:00:00:01", "initrd --name initrd.img http://" + host + "/boot/chain/mode/console/initrd.img\n", "\nboot\n"}},
		{"/boot/boot.ipxe?" + one + "&chain=extra", 200, []string{"mode.ref=" + host + "/mode:extra "}},
		{"/boot/boot.ipxe?mac=52-54-00-00-00-02", 200, []string{"mode.ref=" + host + "/tiny:console mode.insecure mode.report=tok-52:54:00:00:00:02 mode.hostname=two\n"}},
		{"/boot/boot.ipxe?" + one + "&uuid=00000000-0000-0000-0000-000000000003", 200, []string{"mode.ref=" + host + "/tiny@sha256:aaaa", "/boot/chain/tiny/sha256:aaaaaaaa"}},
		{"/boot/boot.ipxe?" + one + "&serial=S%204", 200, []string{"\nexit\n"}},
		{"/boot/boot.ipxe?chain=../x", 400, []string{"bad chain name"}},
		{"/boot/boot.ipxe?mac=nope", 400, []string{"mac \"nope\""}},
		{"/boot/boot.ipxe?" + one + "&uuid=x", 400, []string{"uuid \"x\""}},
		{"/boot/other", 404, nil},
		// Without Config.Chains, every chain boots the server's files.
		{"/boot/chain/tiny/console/vmlinuz", 200, []string{"KERNEL"}},
		{"/boot/chain/some/repo/sha256:" + strings.Repeat("ab", 32) + "/initrd.img", 200, []string{"INITRD"}},
		{"/boot/chain/tiny/console/config", 400, []string{"file \"config\""}},
		{"/boot/chain/Tiny/console/vmlinuz", 400, []string{"repository \"Tiny\""}},
		{"/boot/chain/tiny/-x/vmlinuz", 400, []string{"tag \"-x\""}},
		{"/boot/chain/tiny/sha256:zz/vmlinuz", 400, []string{"digest \"sha256:zz\""}},
		{"/boot/chain/vmlinuz", 400, []string{"want REPO/"}},
		{"tls:/boot/boot.ipxe?" + one, 200, []string{"kernel http://site:5080/boot/chain/tiny/console/vmlinuz ", "mode.ref=site:5443/tiny:console\n", "initrd --name initrd.img http://site:5080/boot/chain/tiny/console/initrd.img"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			base, path := srv.URL, tc.path
			if p, ok := strings.CutPrefix(path, "tls:"); ok {
				base, path = tls.URL, p
			}
			status, body := get(t, base+path)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if strings.HasPrefix(tc.path, "tls:") && strings.Contains(body, "mode.insecure") {
				t.Errorf("a TLS site's script sets mode.insecure:\n%s", body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
		})
	}
}

// TestNetbootTiny boots examples/tiny the PXE way: QEMU's firmware (iPXE)
// gets boot.ipxe from mode's server, which then serves the kernel, the
// initramfs and the chain. Needs root (mode build) and QEMU.
func TestNetbootTiny(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	dir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	nb := netboot.Handler(netboot.Config{
		Kernel: fixed(testutil.Kernel(t).Vmlinuz), Initrd: fixed(testutil.Initramfs(t)), Chain: "extra", Repo: "tiny",
	})
	srv := httptest.NewServer(serve.New(s, serve.WithHandler("/boot/", nb)).Handler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	m := qemu.Machine{MemoryMiB: 512, BootURL: "http://10.0.2.2:" + u.Port() + "/boot/boot.ipxe"}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 4 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Console, "mode.ref=10.0.2.2:"+u.Port()+"/tiny:extra") {
		t.Errorf("the kernel command line lacks the chain's mode.ref:\n%s", res.Console)
	}
	t.Logf("netboot to MODE-TINY-OK in %.1fs", res.Elapsed.Seconds())
}
