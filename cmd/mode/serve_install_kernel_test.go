package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
)

// chainFilesOf serves, for each chain tag, its own kernel and initramfs
// files (as netboot's chain kernels do for a chain that carries a kernel).
type chainFilesOf map[string][2]string

func (c chainFilesOf) Path(_ context.Context, repo, ref, file string) (string, error) {
	f, ok := c[ref]
	if !ok {
		return "", fmt.Errorf("chain %s:%s: no such chain", repo, ref)
	}
	if file == "vmlinuz" {
		return f[0], nil
	}
	return f[1], nil
}

// TestInstallImageChainKernel: the disk image of an install carries the
// kernel and initramfs the chain netboots with — its own when it has one,
// as mode image --format disk takes it — not the server's default ones.
func TestInstallImageChainKernel(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "mkfs.fat", "mcopy", "mke2fs", "grub-mkimage")
	s, _ := registrytest.Store(t, []string{"base", "top"}, 0)
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name+"-0123456789abcdef-marker\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	chainK, chainI := file("CHAIN-KERNEL"), file("CHAIN-INITRD")
	defK, defI := file("DEFAULT-KERNEL"), file("DEFAULT-INITRD")
	var h http.Handler = &netboot.Server{Config: netboot.Config{
		Kernel: netboot.Lazy(func(context.Context) (string, error) { return defK, nil }),
		Initrd: netboot.Lazy(func(context.Context) (string, error) { return defI, nil }),
		Chains: chainFilesOf{"top": {chainK, chainI}},
	}}
	sw := &swapHandler{}
	sw.p.Store(&h)
	ii := &installImages{store: s, boot: sw, pushToken: "s3cret"}
	defer ii.close()
	gz, size, err := ii.image(context.Background(), "10.0.2.2:5000/"+registrytest.Repo+":top", "52:54:00:00:00:01", true)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	img, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(img)) != size {
		t.Errorf("image of %d bytes, said %d", len(img), size)
	}
	for name, want := range map[string]bool{"CHAIN-KERNEL": true, "CHAIN-INITRD": true, "DEFAULT-KERNEL": false, "DEFAULT-INITRD": false} {
		if got := bytes.Contains(img, []byte(name+"-0123456789abcdef-marker")); got != want {
			t.Errorf("the image holds %s: %v, want %v", name, got, want)
		}
	}
}
