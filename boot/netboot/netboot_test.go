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
	h := netboot.Handler(netboot.Config{Kernel: fixed(filepath.Join(dir, "k")), Initrd: fixed(filepath.Join(dir, "i")), Chain: "console"})
	srv := httptest.NewServer(h)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/boot/vmlinuz", 200, []string{"KERNEL"}},
		{"/boot/initrd.img", 200, []string{"INITRD"}},
		{"/boot/boot.ipxe", 200, []string{"#!ipxe\n", "kernel http://" + host + "/boot/vmlinuz ", "mode.ref=" + host + "/mode:console mode.insecure", "initrd --name initrd.img http://" + host + "/boot/initrd.img\n", "\nboot\n"}},
		{"/boot/boot.ipxe?chain=extra", 200, []string{"mode.ref=" + host + "/mode:extra "}},
		{"/boot/boot.ipxe?chain=../x", 400, []string{"bad name"}},
		{"/boot/other", 404, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, body := get(t, srv.URL+tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
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
