package qemu_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
	digest "github.com/opencontainers/go-digest"
)

// TestNetbootDebianKernel: examples/debian's kernel chain (console plus
// Debian's linux-image-amd64, from make test-debian's store) netboots from
// mode serve's boot.ipxe with its own kernel: /boot/chain/… serves the
// chain's vmlinuz and an initramfs built on first use with that kernel's
// modules. In the booted system the kernel is the chain's, its
// /lib/modules/$(uname -r) is there and modprobe loads dummy, a module the
// initramfs does not carry. The check runs from one small layer on top of
// the chain (systemd.run= of a script it holds: a rule's args take no
// quotes); the kernel and its modules are the example's. The first use
// (the initramfs build) is asked for before the boot and logged apart. One
// Debian boot, minutes under TCG.
func TestNetbootDebianKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian chain and boots it: not with -short")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	dir := os.Getenv("MODE_DEBIAN_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	}
	e2eStore := filepath.Join(dir, "store")
	testutil.BuildExample(t, "debian", filepath.Join(dir, "out"), e2eStore, "kernel")
	e2e, err := store.Open(e2eStore)
	if err != nil {
		t.Fatal(err)
	}
	repo, ref, err := e2e.Find("kernel")
	if err != nil {
		t.Fatal(err)
	}
	ch, _, _, err := e2e.Chain(repo, ref)
	if err != nil {
		t.Fatal(err)
	}
	var ls []store.Layer
	var mls []media.Layer
	for _, m := range ch.Layers {
		p := e2e.BlobPath(digest.Digest(m.Digest))
		ls = append(ls, store.Layer{Path: p, Meta: m})
		mls = append(mls, media.Layer{Path: p, Meta: m})
	}
	src, err := media.LocateKernel(mls)
	if err != nil || src == nil {
		t.Fatalf("the kernel chain has no kernel: %v", err)
	}
	// A store of its own (the kernel cache goes into it: a first use).
	st, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	const probe = "dummy" // drivers/net/dummy.ko: no init needs it
	check := checkLayer(t, ls[len(ls)-1].Meta, "usr/local/sbin/mode-netboot-check", `#!/bin/sh
test -d /lib/modules/$(uname -r)/kernel || echo "NETBOOT-FAIL: no /lib/modules/$(uname -r)"
grep -q "^`+probe+` " /proc/modules && echo "NETBOOT-FAIL: `+probe+` loaded already"
modprobe `+probe+` && test -d /sys/module/`+probe+` && echo "modprobe `+probe+`: loaded"
echo "running $(uname -r)"
echo NETBOOT-DEBIAN-DONE
`)
	if _, err := st.AddChainAs(context.Background(), "debian", "kernel-check", "check", append(ls, check)); err != nil {
		t.Fatal(err)
	}
	siteFile := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(siteFile, []byte(`rules:
  - name: default
    chain: debian:kernel-check
    args: systemd.run=/usr/local/sbin/mode-netboot-check systemd.run_success_action=none systemd.run_failure_action=none
`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := modeServe(t, st.Dir(), "s3cret", "--site-file", siteFile, "--advertise", "10.0.2.2", "--admin-token", "adm1n",
		"--reports-db", filepath.Join(t.TempDir(), "reports.db"))
	port := base[strings.LastIndex(base, ":")+1:]
	// The first use of the chain's kernel, asked before the machine boots:
	// its iPXE then does not wait out the build (TestChainKernels has a
	// first use under concurrent requests), and the build's time is its own.
	t0 := time.Now()
	client := &http.Client{Timeout: 15 * time.Minute}
	for _, f := range []string{"vmlinuz", "initrd.img"} {
		resp, err := client.Get(base + "/boot/chain/debian/kernel-check/" + f)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", f, resp.Status)
		}
		t.Logf("%s: %.1f MiB after %.1fs (first use)", f, float64(n)/(1<<20), time.Since(t0).Seconds())
	}
	m := qemu.Machine{MemoryMiB: 1024, MAC: "52:54:00:00:0d:01", BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe"}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "NETBOOT-DEBIAN-DONE", Line: true, Timeout: 12 * time.Minute,
		Fail: []string{"mode-init: FAILED", "NETBOOT-FAIL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The kernel is the chain's (the server's default is Debian's cloud kernel,
	// another version), and so are its modules.
	for _, want := range []string{"Linux version " + src.Version + " ", "running " + src.Version, "modprobe " + probe + ": loaded", "mode-init: switching root to /sbin/init"} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("console lacks %q:\n%s", want, res.Console)
		}
	}
	// What the server served is in its cache, under the chain kernel's digest.
	vm, err := src.ExtractVmlinuz(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kd, _, err := store.FileDigest(vm, digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if imgs, _ := filepath.Glob(filepath.Join(st.Dir(), "netboot", kd.Encoded(), "initrd-*.img")); len(imgs) != 1 {
		t.Errorf("the store's kernel cache: %v, want one initramfs for kernel %s", imgs, kd)
	}
	t.Logf("Linux %s netbooted to NETBOOT-DEBIAN-DONE after %.1fs", src.Version, res.Elapsed.Seconds())
}

// checkLayer makes a layer over parent holding an executable script at path.
func checkLayer(t *testing.T, parent layers.Meta, path, script string) store.Layer {
	t.Helper()
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, filepath.Dir(path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, path), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "check.sqfs")
	if err := squashfs.Squash(context.Background(), src, out, "gzip"); err != nil {
		t.Fatal(err)
	}
	meta := layers.Meta{Name: "check", Parent: parent.Name, Chain: append(append([]string{}, parent.Chain...), "check"), File: strings.Join(append(append([]string{}, parent.Chain...), "check"), "-") + ".sqfs", Compression: "gzip"}
	return store.Layer{Path: out, Meta: meta}
}
