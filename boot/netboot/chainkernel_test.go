package netboot_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/mode-build/mode/squashfs"
	"github.com/u-root/u-root/pkg/cpio"
)

// TestChainKernels: a chain with a kernel (Debian's cloud kernel in a layer
// of its own, with two of its modules) netboots with its own vmlinuz and an
// initramfs carrying its modules, built once however many ask at the same
// time, kept in the store (a second request and a second server build
// nothing), built again when the chain's kernel changes or what mode puts
// into it does (a trusted key); a chain without a kernel gets the server's
// files; a chain whose kernel cannot be built is a clear error that leaves
// no file behind.
func TestChainKernels(t *testing.T) {
	testutil.RequiresTools(t, "mksquashfs", "unsquashfs")
	k := testutil.Kernel(t) // skips with -short
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	vmlinuz, err := os.ReadFile(k.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	mods := filepath.Join(filepath.Dir(filepath.Dir(k.Vmlinuz)), "lib", "modules", k.Version)
	base := layer(t, dir, "base", map[string][]byte{"etc/hostname": []byte("base\n")})
	kernelFiles := func(image []byte, withModules bool) map[string][]byte {
		files := map[string][]byte{"boot/vmlinuz-" + k.Version: image}
		m := "lib/modules/" + k.Version + "/"
		files[m+"modules.dep"] = nil // depmod's, which a real chain has
		if withModules {
			for _, f := range []string{"modules.builtin", "kernel/drivers/block/loop.ko", "kernel/drivers/net/dummy.ko"} {
				b, err := os.ReadFile(filepath.Join(mods, f))
				if err != nil {
					t.Fatal(err)
				}
				files[m+f] = b
			}
		}
		return files
	}
	kern := layer(t, dir, "kernel", kernelFiles(vmlinuz, true))
	add := func(tag string, ls ...store.Layer) {
		t.Helper()
		if _, err := st.AddChainAs(context.Background(), "site", tag, tag, ls); err != nil {
			t.Fatal(err)
		}
	}
	add("kernel", base, kern)
	add("plain", base)
	add("broken", base, layer(t, dir, "broken", kernelFiles(append(append([]byte{}, vmlinuz...), "BROKEN"...), false))) // modules.dep, no kernel/

	defK, defI := filepath.Join(dir, "default-kernel"), filepath.Join(dir, "default-initrd")
	os.WriteFile(defK, []byte("DEFAULT KERNEL"), 0o644)
	os.WriteFile(defI, []byte("DEFAULT INITRD"), 0o644)
	var builds atomic.Int32
	listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	serve := func(o netboot.Options) string {
		t.Helper()
		o.Compress, o.Advertise = "gzip", "10.0.0.1:5000"
		o.Built = func(res *initramfs.Result) { builds.Add(1) }
		nb, err := netboot.New(st, listen, o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(nb)
		t.Cleanup(func() { srv.Close(); nb.Close() })
		return srv.URL
	}
	url := serve(netboot.Options{Kernel: defK, Initrd: defI})

	_, script := get(t, url+"/boot/boot.ipxe?chain=kernel&mac=52:54:00:12:34:56")
	for _, want := range []string{"kernel http://10.0.0.1:5000/boot/chain/site/kernel/vmlinuz ", "initrd --name initrd.img http://10.0.0.1:5000/boot/chain/site/kernel/initrd.img\n"} {
		if !strings.Contains(script, want) {
			t.Errorf("boot.ipxe lacks %q:\n%s", want, script)
		}
	}
	if code, body := get(t, url+"/boot/chain/site/kernel/vmlinuz"); code != 200 || body != string(vmlinuz) {
		t.Errorf("the chain's vmlinuz: %d, %d bytes, want its own %d", code, len(body), len(vmlinuz))
	}
	// Four first requests at once: one build.
	var wg sync.WaitGroup
	bodies := make([]string, 4)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(url + "/boot/chain/site/kernel/initrd.img")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Errorf("initrd.img: %d %s", resp.StatusCode, b)
			}
			bodies[i] = string(b)
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("four requests at once built %d initramfs, want 1", n)
	}
	names := cpioNames(t, bodies[0])
	for _, want := range []string{"lib/modules/" + k.Version + "/kernel/drivers/block/loop.ko", "lib/modules/" + k.Version + "/modules.dep", "bin/mode", "init"} {
		if !names[want] {
			t.Errorf("the initramfs lacks %s", want)
		}
	}
	if names["lib/modules/"+k.Version+"/kernel/drivers/net/dummy.ko"] {
		t.Error("the initramfs carries dummy, which the init does not load")
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Error("concurrent requests got different initramfs")
		}
	}
	// Again, and from a second server over the same store: no build.
	get(t, url+"/boot/chain/site/kernel/initrd.img")
	url2 := serve(netboot.Options{Kernel: defK, Initrd: defI})
	if code, body := get(t, url2+"/boot/chain/site/kernel/initrd.img"); code != 200 || body != bodies[0] {
		t.Errorf("the second server's initrd.img: %d, differs: %v", code, body != bodies[0])
	}
	if n := builds.Load(); n != 1 {
		t.Errorf("cached: %d builds, want 1", n)
	}
	// A chain without a kernel: the server's files.
	if code, body := get(t, url+"/boot/chain/site/plain/vmlinuz"); code != 200 || body != "DEFAULT KERNEL" {
		t.Errorf("plain vmlinuz: %d %q", code, body)
	}
	if code, body := get(t, url+"/boot/chain/site/plain/initrd.img"); code != 200 || body != "DEFAULT INITRD" {
		t.Errorf("plain initrd.img: %d %q", code, body)
	}
	if code, _ := get(t, url+"/boot/chain/site/nosuch/vmlinuz"); code != 404 {
		t.Errorf("an absent chain: %d, want 404", code)
	}
	// The chain's kernel changes (the tag moves): its own files, built again.
	newer := append(append([]byte{}, vmlinuz...), "NEWER"...)
	add("kernel", base, layer(t, dir, "kernel2", kernelFiles(newer, true)))
	if code, body := get(t, url+"/boot/chain/site/kernel/vmlinuz"); code != 200 || body != string(newer) {
		t.Errorf("the new kernel's vmlinuz: %d, %d bytes, want %d", code, len(body), len(newer))
	}
	if code, _ := get(t, url+"/boot/chain/site/kernel/initrd.img"); code != 200 || builds.Load() != 2 {
		t.Errorf("the new kernel's initrd.img: %d after %d builds, want 200 after 2", code, builds.Load())
	}
	// What mode puts in changes (a trusted key): built again, with the key.
	_, pub, err := trust.WriteKeyPair(filepath.Join(dir, "key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	url3 := serve(netboot.Options{Trust: []string{pub}})
	code, body := get(t, url3+"/boot/chain/site/kernel/initrd.img")
	if code != 200 || builds.Load() != 3 {
		t.Errorf("with a trusted key: %d after %d builds, want 200 after 3", code, builds.Load())
	} else if n := cpioNames(t, body); len(n) <= len(names) {
		t.Errorf("with a trusted key: %d files, want more than %d", len(n), len(names))
	}
	// A kernel whose initramfs cannot be built: an error naming the chain,
	// nothing half-written.
	code, body = get(t, url+"/boot/chain/site/broken/initrd.img")
	if code != 500 || !strings.Contains(body, "chain site:broken") || strings.Contains(body, dir) {
		t.Errorf("broken: %d %q", code, body[:min(len(body), 200)])
	}
	cache := filepath.Join(st.Dir(), netboot.CacheDir)
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if rel, _ := filepath.Rel(cache, p); strings.HasPrefix(filepath.Base(p), ".") || strings.HasPrefix(rel, "mode-netboot-") {
			t.Errorf("left behind: %s", rel)
		}
		return nil
	})
	if imgs, _ := filepath.Glob(filepath.Join(cache, "*", "initrd-*.img")); len(imgs) != 2 { // the first kernel's, the newer one's (with the key)
		t.Errorf("cache: %v, want 2 initramfs", imgs)
	}
}

// layer makes a squashfs layer named name of files (path → content).
func layer(t testing.TB, dir, name string, files map[string][]byte) store.Layer {
	t.Helper()
	src := filepath.Join(dir, "src-"+name)
	for p, b := range files {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, name+".sqfs")
	if err := squashfs.Squash(context.Background(), src, out, "gzip"); err != nil {
		t.Fatal(err)
	}
	return store.Layer{Path: out, Meta: layers.Meta{Name: name, File: name + ".sqfs", Compression: "gzip"}}
}

// cpioNames lists the names in a gzip-compressed cpio archive.
func cpioNames(t testing.TB, data string) map[string]bool {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[r.Name] = true
	}
	return names
}
