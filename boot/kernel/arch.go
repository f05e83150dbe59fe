package kernel

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ArchPackage is the Debian kernel FetchArch takes for an architecture:
// its cloud kernel (virtio modules, boots in QEMU).
func ArchPackage(arch string) string { return "linux-image-cloud-" + arch }

// FetchArch is Fetch for arch: DefaultPackage's kernel for the host's
// architecture, else ArchPackage(arch) with Debian's busybox-static of that
// architecture beside it (the initramfs's rescue shell), unpacked with
// mmdebstrap's extract variant from the host's Debian suite (no maintainer
// script runs; the host's dpkg architectures stay as they are), once.
func FetchArch(ctx context.Context, dir, arch, host string) (*Kernel, error) {
	if arch == "" || arch == host {
		return Fetch(ctx, dir, "")
	}
	if k, err := findExtracted(dir); err == nil {
		return k, nil
	}
	unlock, err := lockDir(dir) // another process may be fetching it
	if err != nil {
		return nil, err
	}
	defer unlock()
	if k, err := findExtracted(dir); err == nil {
		return k, nil
	}
	root := filepath.Join(dir, "root")
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--mode=root", "--format=directory", "--variant=extract",
		"--architectures="+arch, "--include="+ArchPackage(arch)+",busybox-static", codename(), tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("kernel for %s: mmdebstrap: %w: %s", arch, err, lastLines(out, 5))
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return nil, err
	}
	return findExtracted(dir)
}

// findExtracted is the kernel FetchArch unpacked in dir.
func findExtracted(dir string) (*Kernel, error) {
	imgs, _ := filepath.Glob(filepath.Join(dir, "root/boot/vmlinuz-*"))
	if len(imgs) != 1 {
		return nil, fmt.Errorf("no kernel in %s", dir)
	}
	v := strings.TrimPrefix(filepath.Base(imgs[0]), "vmlinuz-")
	k := &Kernel{Deb: filepath.Join(dir, "root/lib/modules", v), Vmlinuz: imgs[0], Version: v}
	if _, err := os.Stat(k.Deb); err != nil {
		return nil, fmt.Errorf("kernel %s: no modules in %s", imgs[0], dir)
	}
	if bb := filepath.Join(dir, "root/bin/busybox"); fileExists(bb) {
		k.Busybox = bb
	}
	return k, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// codename is the host's Debian release (VERSION_CODENAME), bookworm when unknown.
func codename() string {
	b, _ := os.ReadFile("/etc/os-release")
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VERSION_CODENAME="); ok && v != "" {
			return strings.Trim(v, `"`)
		}
	}
	return "bookworm"
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Arch tells the architecture of the kernel image at path: amd64 for an x86
// bzImage ("HdrS" at 0x202), arm64 for an arm64 Image ("ARM\x64" at 0x38),
// gzip-compressed as Debian ships it or not, or an EFI zboot image of one
// ("zimg" at 4, the compressed kernel's type named at 24).
func Arch(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 0x240)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return "", fmt.Errorf("kernel %s: %w", path, err)
		}
		head = make([]byte, 0x240)
		n, _ := io.ReadFull(zr, head)
		head = head[:n]
	}
	switch {
	case len(head) >= 0x206 && string(head[0x202:0x206]) == "HdrS":
		return "amd64", nil
	case len(head) >= 0x3c && string(head[0x38:0x3c]) == "ARM\x64":
		return "arm64", nil
	case len(head) >= 8 && string(head[4:8]) == "zimg" && head[0] == 'M' && head[1] == 'Z':
		return "arm64", nil // EFI zboot: arm64's (x86 kernels are bzImages)
	}
	return "", fmt.Errorf("kernel %s: not an x86 bzImage nor an arm64 Image", path)
}
