package qemu_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// monolithic packs the merged root of the chain whose top layer is top (in
// out) as one initramfs, the Tiny Core way: the layers are overlay-mounted on
// the host, and their union is cpio'd and compressed with zstd, as ours is.
func monolithic(t testing.TB, out, top, img string) {
	t.Helper()
	var files []string
	stem := strings.TrimSuffix(top, ".sqfs")
	parts := strings.Split(stem, "-")
	for i := range parts {
		files = append(files, strings.Join(parts[:i+1], "-")+".sqfs")
	}
	tmp := t.TempDir()
	var lowers []string // top first
	for i, f := range files {
		mp := filepath.Join(tmp, fmt.Sprint("l", i))
		os.MkdirAll(mp, 0o755)
		run(t, "mount", "-o", "loop,ro", "-t", "squashfs", filepath.Join(out, f), mp)
		t.Cleanup(func() { exec.Command("umount", mp).Run() })
		lowers = append([]string{mp}, lowers...)
	}
	merged := filepath.Join(tmp, "merged")
	os.MkdirAll(merged, 0o755)
	run(t, "mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir="+strings.Join(lowers, ":"), merged)
	defer exec.Command("umount", merged).Run()
	run(t, "sh", "-ec", fmt.Sprintf("cd %s && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -7 -T0 -o %s", merged, img))
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
