package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mode-build/mode/internal/proc"
)

// Errors Run returns, wrapped with what the console said.
var (
	ErrTimeout = errors.New("timed out")
	ErrPanic   = errors.New("kernel panic")
	ErrFailed  = errors.New("failure text on the console")
	ErrExited  = errors.New("qemu exited before the expected text")
)

// Machine is what QEMU runs.
type Machine struct {
	Binary    string   // default the architecture's: qemu-system-x86_64, qemu-system-aarch64
	Arch      string   // amd64 (default) or arm64: -M virt -cpu max, console ttyAMA0 (arch.go); -kernel boots only
	Kernel    string   // required, unless BootURL
	Initrd    string   // required, unless BootURL
	BootURL   string   // network boot: the firmware's iPXE fetches this script (implies Network); with a Medium, the medium boots after it
	Append    string   // kernel command line, after "console=ttyS0 panic=-1"
	MemoryMiB int      // default 512
	CPUs      int      // default 1
	Network   bool     // a virtio NIC on QEMU user networking (host 127.0.0.1 is 10.0.2.2)
	MAC       string   // the NIC's MAC address (default QEMU's 52:54:00:12:34:56)
	Disks     []Disk   // virtio disks, /dev/vda first
	Forward   []string // host ports forwarded to the guest: "tcp:127.0.0.1:2222-:22"
	Accel     string   // default DefaultAccel()
	Extra     []string // more QEMU arguments
	Medium    *Medium  // boot through the firmware from this medium instead of -kernel (media.go)
	UEFI      bool     // UEFI firmware (OVMF) instead of SeaBIOS
	PXE       *PXE     // boot through the firmware from a TFTP root (media.go)
	// Tap puts the NIC on this tap device, a network the caller made,
	// instead of QEMU's user network; with no Kernel, the firmware boots
	// from it (PXE, its DHCP and TFTP servers being the caller's).
	Tap string

	// SecureBootVars boots OVMF's Secure Boot build instead (q35 with SMM, a
	// secure pflash: secureboot.go) with this file as its variable store,
	// which the guest may write: a copy of OVMFSnakeoilVars (CopyVars).
	SecureBootVars string
	// HTTPBoot boots through the firmware's own network stack (the NIC
	// without QEMU's iPXE ROM): on QEMU's user network, UEFI HTTP boot of
	// the boot entry AddBootURI put in SecureBootVars; on Tap, the
	// firmware's own boot entries for the NIC (PXE off: HTTP boot only).
	HTTPBoot bool
	// EFIVars is an arm64 machine's UEFI variable store (AAVMF's, on the
	// second pflash), which the guest may write: a copy such as BlankVars
	// makes. "" gives it AAVMFVars with its writes discarded (aavmf.go).
	EFIVars string
}

// Disk is one virtio disk.
type Disk struct {
	File     string
	ReadOnly bool
	Format   string // default raw
}

// Watch says when a run is over.
type Watch struct {
	Expect  string        // success once this appears; "" runs until QEMU exits
	Line    bool          // Expect must end a line (be followed by a line break)
	Fail    []string      // failure as soon as one of these appears
	Timeout time.Duration // default 2 minutes; negative: none (an interactive console)
	Console io.Writer     // the console as it comes; may be nil
	Stdin   io.Reader     // the guest's serial input; nil for none
	// Then runs once Expect appeared, with the guest still up (to probe its
	// services); its error fails the run.
	Then func() error
}

// Result is what a run saw.
type Result struct {
	Console  string        // everything the serial console printed
	Elapsed  time.Duration // from QEMU start to the end (the expected text)
	Matched  string        // the text that ended the run
	ExitCode int           // QEMU's, when it exited by itself
}

// Args returns QEMU's command line for m.
func (m Machine) Args() []string {
	mem := m.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	cpus := max(m.CPUs, 1)
	accel := m.Accel
	if accel == "" {
		accel = DefaultAccel()
	}
	appendLine := strings.TrimSpace("console=" + m.serialConsole() + " panic=-1 " + m.Append)
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-accel", accel, "-m", fmt.Sprint(mem), "-smp", fmt.Sprint(cpus), "-serial", "stdio",
		// Entropy: TCG's CPU has no RDRAND, and getrandom (DHCP, TLS) would
		// wait for the kernel's pool.
		"-device", "virtio-rng-pci",
	}
	args = append(args, m.machineArgs()...)
	if !m.firmwareBoot() {
		args = append(args, m.uefiArgs()...) // OVMF boots -kernel, or the NIC's iPXE, too
	}
	if m.firmwareBoot() {
		args = append(args, m.firmwareArgs()...)
	} else if m.BootURL == "" {
		args = append(args, "-kernel", m.Kernel, "-initrd", m.Initrd, "-append", appendLine)
	} else {
		args = append(args, "-boot", "n")
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	if m.Tap != "" {
		nic := "virtio-net-pci,netdev=n0,bootindex=0"
		if m.MAC != "" {
			nic += ",mac=" + m.MAC
		}
		if m.HTTPBoot { // the firmware's PXE and HTTP boot, not iPXE
			nic += ",romfile="
		}
		args = append(args, "-netdev", "tap,id=n0,script=no,downscript=no,ifname="+qemuEscape(m.Tap), "-device", nic)
	} else if m.Network || m.BootURL != "" || m.PXE != nil || m.HTTPBoot {
		netdev := "user,id=n0"
		for _, f := range m.Forward {
			netdev += ",hostfwd=" + f
		}
		nic := "virtio-net-pci,netdev=n0"
		if m.BootURL != "" {
			netdev += ",bootfile=" + m.BootURL
			if m.Medium != nil { // iPXE first, then the medium (firmwareArgs)
				nic += ",bootindex=0"
			}
		}
		if m.MAC != "" {
			nic += ",mac=" + m.MAC
		}
		if m.HTTPBoot {
			nic += ",romfile=" // the firmware's HTTP boot, not iPXE
		}
		if m.PXE != nil {
			netdev += m.PXE.netdev()
			nic += ",bootindex=0"
		}
		args = append(args, "-netdev", netdev, "-device", nic)
	}
	for i, d := range m.Disks {
		f := d.Format
		if f == "" {
			f = "raw"
		}
		// QEMU splits options on commas; a comma in a file name is doubled.
		spec := fmt.Sprintf("file=%s,format=%s,if=virtio,index=%d", strings.ReplaceAll(d.File, ",", ",,"), f, i)
		if d.ReadOnly {
			spec += ",readonly=on"
		}
		args = append(args, "-drive", spec)
	}
	return append(args, m.Extra...)
}

// DefaultAccel is $MODE_QEMU_ACCEL, else tcg. KVM is opt-in
// (MODE_QEMU_ACCEL=kvm): a /dev/kvm that opens does not mean KVM works
// (nested virtualization may fail on the first MSR write, or hang).
func DefaultAccel() string {
	if a := os.Getenv("MODE_QEMU_ACCEL"); a != "" {
		return a
	}
	return "tcg"
}

// Run boots m and watches its console as w says. QEMU is stopped when Run
// returns, whatever happened: its process group (QEMU runs in its own, with
// no terminal, so job control never stops it) gets SIGTERM, which lets QEMU
// flush its disks and exit, then SIGKILL if it is still there after
// StopGrace. When ctx is cancelled, Run returns its cause
// (context.Cause), without the console.
func Run(ctx context.Context, m Machine, w Watch) (*Result, error) {
	if (m.Kernel == "" || m.Initrd == "") && m.BootURL == "" && !m.firmwareBoot() {
		return nil, errors.New("qemu: need a kernel and an initramfs, or a boot URL")
	}
	bin := m.binary()
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	parent := ctx
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	cmd := exec.Command(bin, m.Args()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	proc.DieWithParent(cmd)
	// A Stdin that is not a file is copied by a goroutine of ours, not by
	// exec's: cmd.Wait would wait for that copy, which may never end.
	var stdin io.WriteCloser
	if f, ok := w.Stdin.(*os.File); ok || w.Stdin == nil {
		if ok {
			cmd.Stdin = f
		}
	} else {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("qemu: %w", err)
		}
	}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, w.Stdin)
			stdin.Close()
		}()
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		exited <- err
	}()
	// Once the run is over, the console is no longer read (pr.Close lets
	// QEMU's output through, so that it can exit), and QEMU is stopped.
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			pr.Close()
			stopGroup(cmd.Process.Pid, exited)
		})
	}
	defer stop()

	sc := &scanner{watch: w}
	found := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		found <- sc.read(pr)
	}()
	res := &Result{}
	finish := func(err error) (*Result, error) {
		res.Elapsed = time.Since(start)
		stop()
		wg.Wait()
		res.Console = sc.text()
		if err != nil {
			return res, fmt.Errorf("qemu: %w\n%s%s", err, tail(res.Console, 25), strings.TrimSpace(stderr.String()))
		}
		return res, nil
	}
	select {
	case <-ctx.Done():
		if err := context.Cause(parent); err != nil { // the caller's, not our timeout
			res, _ := finish(nil)
			return res, err
		}
		return finish(fmt.Errorf("%w after %s waiting for %q", ErrTimeout, timeout, w.Expect))
	case match := <-found:
		res.Matched = match
		switch {
		case match == "":
			// The console closed: QEMU exited.
			err := <-exited
			exited <- err
			res.ExitCode = cmd.ProcessState.ExitCode()
			if w.Expect == "" && err != nil {
				return finish(fmt.Errorf("exited: %v", err)) // %v: an *exec.ExitError would make main exit silently; its stderr says why
			}
			if w.Expect == "" {
				return finish(nil)
			}
			return finish(fmt.Errorf("%w (%v)", ErrExited, err))
		case match == w.Expect:
			if w.Then != nil {
				if err := w.Then(); err != nil {
					return finish(err)
				}
			}
			return finish(nil)
		case match == panicText:
			return finish(ErrPanic)
		default:
			return finish(fmt.Errorf("%w: %q", ErrFailed, match))
		}
	}
}

const panicText = "Kernel panic"

// StopGrace is how long QEMU has to exit after SIGTERM before SIGKILL.
const StopGrace = 5 * time.Second

// stopGroup stops QEMU's process group pgid: SIGTERM, then SIGKILL after
// StopGrace; it returns once QEMU has exited (exited gave its Wait's error,
// which it puts back).
func stopGroup(pgid int, exited chan error) {
	var err error
	select {
	case err = <-exited: // it exited by itself
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case err = <-exited:
		case <-time.After(StopGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-exited
		}
	}
	exited <- err
}

// scanner copies the console to w.Console and keeps it, and reports the
// first watched text that appears (the expected one, a failure or a panic).
type scanner struct {
	watch Watch
	mu    sync.Mutex
	buf   bytes.Buffer
}

// read reports the first watched text. A failure (or panic) is reported once
// its line is complete, so that the console the caller sees holds the reason
// that follows the failure text.
func (s *scanner) read(r io.Reader) string {
	texts := append([]string{s.watch.Expect, panicText}, s.watch.Fail...)
	chunk := make([]byte, 4096)
	pending := ""
	for {
		n, err := r.Read(chunk)
		if pending != "" && (err != nil || bytes.ContainsAny(chunk[:n], "\r\n")) {
			if s.watch.Console != nil {
				_, _ = s.watch.Console.Write(chunk[:n])
			}
			s.mu.Lock()
			s.buf.Write(chunk[:n])
			s.mu.Unlock()
			return pending
		}
		if n > 0 {
			if s.watch.Console != nil {
				_, _ = s.watch.Console.Write(chunk[:n])
			}
			s.mu.Lock()
			from := s.buf.Len() - 256
			if from < 0 {
				from = 0
			}
			s.buf.Write(chunk[:n])
			window := s.buf.Bytes()[from:]
			s.mu.Unlock()
			for i, t := range texts {
				if t == "" {
					continue
				}
				if i == 0 && s.watch.Line {
					if bytes.Contains(window, []byte(t+"\r")) || bytes.Contains(window, []byte(t+"\n")) {
						return t
					}
					continue
				}
				if at := bytes.Index(window, []byte(t)); at >= 0 {
					if i == 0 || bytes.ContainsAny(window[at:], "\r\n") {
						return t
					}
					pending = t
				}
			}
		}
		if err != nil {
			return ""
		}
	}
}

func (s *scanner) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
