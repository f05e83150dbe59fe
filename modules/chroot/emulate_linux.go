package chroot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// binfmtDir is where binfmt_misc is mounted.
var binfmtDir = "/proc/sys/fs/binfmt_misc"

// emulator is how an architecture's ELF binaries are told apart and which
// QEMU user emulator runs them (qemu's own scripts/qemu-binfmt-conf.sh).
type emulator struct {
	qemu, magic, mask string
}

var emulators = map[string]emulator{
	"arm64": {"aarch64",
		`\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00`,
		`\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`},
	"amd64": {"x86_64",
		`\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00`,
		`\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`},
}

// Emulate makes binaries of arch (a Debian/Go architecture name) run on this
// host, for run steps in a root of that architecture: nothing for the host's
// own, else QEMU's user emulator (Debian's qemu-user-static) registered with
// binfmt_misc as mode-qemu-ARCH-P with the F flag, so the kernel holds the
// emulator open and it runs inside any chroot, which has no copy of it, and
// the P flag, so a program keeps the argv[0] it was started with (QEMU reads
// the kernel's AT_FLAGS for it): busybox's shell runs its applets as
// /proc/self/exe with the applet's name as argv[0], and without P every
// grep or sed of a step's script ran as sh. The sandbox stays as it is: the
// emulator runs in the step's namespaces. An enabled registration of the
// same emulator with the F and P flags is used as it is. binfmt_misc is the
// kernel's, not the build's: the registration stays (a newer one for the
// same binaries, Debian's qemu-ARCH with its wrapper, would take precedence
// and break run steps: mode registers again only when its own is gone; the
// newest registration is the one the kernel uses, so mode's older
// mode-qemu-ARCH, F alone, is left as it is, under the new one).
func Emulate(arch string) error {
	if arch == "" || arch == runtime.GOARCH {
		return nil
	}
	e, ok := emulators[arch]
	if !ok {
		return fmt.Errorf("architecture %q: no QEMU user emulator known for it", arch)
	}
	if _, err := os.Stat(filepath.Join(binfmtDir, "register")); err != nil {
		if err := unix.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
			return fmt.Errorf("emulating %s: mount binfmt_misc on %s: %w", arch, binfmtDir, err)
		}
	}
	qemu := "/usr/bin/qemu-" + e.qemu + "-static"
	for _, name := range []string{"mode-qemu-" + e.qemu + "-P", "qemu-" + e.qemu} {
		if ok, err := registered(filepath.Join(binfmtDir, name), qemu); err != nil || ok {
			return err
		}
	}
	if _, err := os.Stat(qemu); err != nil {
		return fmt.Errorf("emulating %s: %s: %w (install Debian's qemu-user-static)", arch, qemu, errors.Unwrap(err))
	}
	line := fmt.Sprintf(":mode-qemu-%s-P:M::%s:%s:%s:FP", e.qemu, e.magic, e.mask, qemu)
	if err := os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(line), 0); err != nil &&
		!errors.Is(err, unix.EEXIST) { // another build registered it meanwhile
		return fmt.Errorf("emulating %s: register %s with binfmt_misc: %w", arch, qemu, err)
	}
	return nil
}

// registered reports whether the binfmt_misc entry at path is there,
// enabled, runs qemu itself (not a wrapper that looks for it by path) and is
// fixed (flag F: qemu opened when registered, so found from inside a
// chroot) and keeps argv[0] (flag P).
func registered(path, qemu string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	lines := strings.Split(string(b), "\n")
	if lines[0] != "enabled" {
		return false, nil
	}
	var interp, fixed bool
	for _, l := range lines {
		interp = interp || l == "interpreter "+qemu
		if f, ok := strings.CutPrefix(l, "flags: "); ok && strings.Contains(f, "F") && strings.Contains(f, "P") {
			fixed = true
		}
	}
	return interp && fixed, nil
}
