package kernel

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultPackage is the Debian package Kernel fetches by default: its
// kernel boots in QEMU with virtio modules.
const DefaultPackage = "linux-image-cloud-amd64"

// Kernel is a Debian linux-image package unpacked in a directory:
// DIR/PKG_VERSION_amd64.deb and DIR/root/{boot,lib/modules}.
type Kernel struct {
	Deb     string // the package: give it to `mode initramfs --kernel-modules`
	Vmlinuz string // the kernel image
	Version string // uname -r
	Busybox string // a static busybox of the kernel's architecture, when FetchArch brought one (another than the host's)
}

// Fetch returns the kernel unpacked in dir, first downloading pkg
// (default DefaultPackage; a metapackage is followed to the
// linux-image it depends on) with apt-get download and unpacking it with
// dpkg-deb, when dir has none yet, under dir's lock (lockDir). The mirror is
// the host's apt configuration.
func Fetch(ctx context.Context, dir, pkg string) (*Kernel, error) {
	if k, err := findKernel(dir); err == nil {
		return k, nil
	}
	if pkg == "" {
		pkg = DefaultPackage
	}
	unlock, err := lockDir(dir) // another process may be fetching it
	if err != nil {
		return nil, err
	}
	defer unlock()
	if k, err := findKernel(dir); err == nil {
		return k, nil
	}
	real, err := kernelPackage(ctx, pkg)
	if err != nil {
		return nil, err
	}
	if err := aptOwns(dir); err != nil {
		return nil, err
	}
	get := exec.CommandContext(ctx, "apt-get", "download", real)
	get.Dir = dir
	if out, err := get.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %w: %s", real, err, bytes.TrimSpace(out))
	}
	debs, _ := filepath.Glob(filepath.Join(dir, real+"_*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download %s: want one .deb in %s, found %d", real, dir, len(debs))
	}
	root := filepath.Join(dir, "root")
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], tmp).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dpkg-deb -x %s: %w: %s", debs[0], err, bytes.TrimSpace(out))
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return nil, err
	}
	return findKernel(dir)
}

// kernelPackage follows a metapackage (linux-image-cloud-amd64) to the
// versioned linux-image package it depends on.
func kernelPackage(ctx context.Context, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w", pkg, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return pkg, nil // a versioned package already
}

func findKernel(dir string) (*Kernel, error) {
	debs, _ := filepath.Glob(filepath.Join(dir, "linux-image-*.deb"))
	imgs, _ := filepath.Glob(filepath.Join(dir, "root/boot/vmlinuz-*"))
	if len(debs) != 1 || len(imgs) != 1 {
		return nil, fmt.Errorf("no kernel in %s", dir)
	}
	return &Kernel{Deb: debs[0], Vmlinuz: imgs[0], Version: strings.TrimPrefix(filepath.Base(imgs[0]), "vmlinuz-")}, nil
}

// aptOwns gives dir to the host's _apt user, when there is one and we are
// root: apt-get download fetches as _apt, and warns "Download is performed
// unsandboxed as root" into a directory _apt cannot write.
func aptOwns(dir string) error {
	u, err := user.Lookup("_apt")
	if err != nil || os.Geteuid() != 0 {
		return nil
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil
	}
	if err := os.Chown(dir, uid, -1); err != nil {
		return fmt.Errorf("kernel directory %s: %w", dir, err)
	}
	return nil
}
