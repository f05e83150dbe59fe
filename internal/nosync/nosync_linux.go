package nosync

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// auditArch is the AUDIT_ARCH_ value of this binary's architecture, 0 where
// the filter does not know it (then Install does nothing).
var auditArch = map[string]uint32{
	"amd64":   unix.AUDIT_ARCH_X86_64,
	"arm64":   unix.AUDIT_ARCH_AARCH64,
	"riscv64": unix.AUDIT_ARCH_RISCV64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE,
	"s390x":   unix.AUDIT_ARCH_S390X,
}[runtime.GOARCH]

// flushCalls are the system calls the filter makes no-ops.
var flushCalls = []uint32{unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNC_FILE_RANGE, unix.SYS_SYNCFS, unix.SYS_SYNC}

// filter returns the BPF program: a flush call of the native architecture
// returns 0 (SECCOMP_RET_ERRNO with errno 0: the kernel sets the return
// value to -0 and skips the call), anything else is allowed. A call of
// another ABI (i386 or x32 on x86-64) does not match and flushes as usual.
func filter() []unix.SockFilter {
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	n := uint8(len(flushCalls))
	prog := []unix.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, K: auditArch, Jt: 0, Jf: n + 1}, // another ABI: allow
		{Code: ld, K: 0}, // seccomp_data.nr
	}
	for i, nr := range flushCalls {
		// a match jumps to the RET ERRNO after the last comparison
		prog = append(prog, unix.SockFilter{Code: jeq, K: uint32(nr), Jt: n - 1 - uint8(i) + 1, Jf: 0})
	}
	return append(prog,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | 0},
	)
}

// Install puts the filter on every thread of this process (and so on every
// process it starts after). The caller needs no_new_privs or CAP_SYS_ADMIN.
// On an architecture the filter does not know it does nothing.
func Install() error {
	if auditArch == 0 {
		return nil
	}
	prog := filter()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("nosync: seccomp filter: %w", errno)
	}
	return nil
}

// execEnv marks a re-executed binary that installs the filter and execs
// the command in its argv (see Wrap).
const execEnv = "_MODE_NOSYNC_EXEC"

func init() {
	if os.Getenv(execEnv) != "1" {
		return
	}
	os.Unsetenv(execEnv)
	err := Install()
	if err == nil {
		err = syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	}
	fmt.Fprintf(os.Stderr, "mode-nosync %s: %v\n", os.Args[1], err)
	os.Exit(127)
}

// Wrap returns the path and argv that run bin (an absolute path) with args
// under the filter: this binary re-executed, installing the filter and
// executing bin in place of itself (same process, so a parent-death signal
// or process group set for it holds for bin), and the environment variable
// to add to the command's environment.
func Wrap(bin string, args []string) (path string, argv []string, env string, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, "", fmt.Errorf("nosync: %w", err)
	}
	if !filepath.IsAbs(bin) {
		return "", nil, "", errors.New("nosync: " + bin + " is not an absolute path")
	}
	return self, append([]string{"mode-nosync", bin}, args...), execEnv + "=1", nil
}
