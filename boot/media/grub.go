package media

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/internal/proc"
)

// GRUB from Debian's packages boots every medium: one bootloader for BIOS
// and UEFI, CD and disk. Its images are built with grub-mkimage, holding
// every module they need, and an early configuration that finds the medium
// by a file named after the image's ID (never by a device name).
const (
	grubPC  = "/usr/lib/grub/i386-pc"    // grub-pc-bin
	grubEFI = "/usr/lib/grub/x86_64-efi" // grub-efi-amd64-bin
)

// grubModules are built into every GRUB image.
var grubModules = []string{
	"normal", "linux", "search", "search_fs_file", "search_label", "configfile", "echo", "test",
	"serial", "terminal", "part_gpt", "part_msdos", "iso9660", "fat", "ext2", "gzio", "sleep",
	"minicmd", "all_video",
}

// timeout is the boot menu's, in seconds: the default entry boots unless a
// key is pressed.
const timeout = 2

// earlyConfig is the configuration built into GRUB's image: it finds the
// medium holding marker and reads its grub.cfg.
func earlyConfig(marker string) string {
	return fmt.Sprintf("search --no-floppy --set=root --file %s\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n", marker)
}

// marker is the file that names this medium for GRUB.
func marker(id string) string { return "/boot/grub/mode-" + id }

// grubConfig is the medium's grub.cfg: on the screen and the first serial
// port, the chain at once, then to RAM, then with a debug shell. args are the
// kernel parameters that find the layers.
func grubConfig(chain, args, extra string) string {
	return grubMenu(chain, kernelLine(args, extra), true)
}

// grubMenu is a grub.cfg booting the kernel with the command line base;
// serial puts GRUB on the first serial port too (BIOS and x86 UEFI: under
// arm64 UEFI the firmware's console is the serial port already).
func grubMenu(chain, base string, serial bool) string {
	var b strings.Builder
	if serial {
		fmt.Fprintf(&b, "serial --unit=0 --speed=115200\nterminal_input console serial\nterminal_output console serial\n")
	}
	fmt.Fprintf(&b, "set default=0\nset timeout=%d\n", timeout)
	for _, e := range []struct{ title, more string }{
		{"", ""}, {" (to RAM)", " mode.toram"}, {" (debug shell)", " mode.debug"},
	} {
		fmt.Fprintf(&b, "menuentry 'mode: %s%s' {\n\tlinux /boot/vmlinuz %s%s\n\tinitrd /boot/initrd.img\n}\n", chain, e.title, base, e.more)
	}
	return b.String()
}

// kernelLine is the kernel command line of a medium's default entry:
// the screen and the first serial port, args (what finds the layers), extra.
func kernelLine(args, extra string) string {
	return strings.TrimSpace("console=tty0 console=ttyS0,115200 " + args + " " + extra)
}

// mkimage runs grub-mkimage for format (i386-pc, i386-pc-eltorito,
// x86_64-efi) with the early config, writing out.
func mkimage(ctx context.Context, work, format, early, out string, more ...string) error {
	dir := grubPC
	if strings.HasPrefix(format, "x86_64-efi") {
		dir = grubEFI
	}
	if _, err := os.Stat(filepath.Join(dir, "kernel.img")); err != nil {
		return fmt.Errorf("GRUB for %s is missing (%s): install grub-pc-bin and grub-efi-amd64-bin", format, dir)
	}
	return mkimageFrom(ctx, work, dir, format, early, out, more...)
}

// mkimageFrom runs grub-mkimage for format with GRUB's modules from dir
// (another architecture's: arm64.go), the early config and more modules.
func mkimageFrom(ctx context.Context, work, dir, format, early, out string, more ...string) error {
	cfg := filepath.Join(work, "early-"+format+".cfg")
	if err := os.WriteFile(cfg, []byte(early), 0o644); err != nil {
		return err
	}
	args := append([]string{"-d", dir, "-O", format, "-c", cfg, "-p", "/boot/grub", "-o", out}, grubModules...)
	return run(ctx, "grub-mkimage", append(args, more...)...)
}

// run runs a tool, its output in the error.
func run(ctx context.Context, name string, args ...string) error {
	return runEnv(ctx, nil, name, args...)
}

func runEnv(ctx context.Context, env []string, name string, args ...string) error {
	cmd := proc.Command(ctx, name, args...) // dies with mode
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}
