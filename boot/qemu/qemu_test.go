package qemu_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
)

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    qemu.Machine
		want []string
		not  []string
	}{
		{"kernel", qemu.Machine{Kernel: "k", Initrd: "i", Append: "mode.from=/dev/vda", Accel: "tcg"},
			[]string{"-kernel k", "-initrd i", "-append console=ttyS0 panic=-1 mode.from=/dev/vda", "-accel tcg", "-m 512", "-device virtio-rng-pci", "-no-reboot"},
			[]string{"-netdev", "-boot n"}},
		{"network and disks", qemu.Machine{Kernel: "k", Initrd: "i", Network: true, MemoryMiB: 256, Accel: "tcg",
			Disks: []qemu.Disk{{File: "a.img", ReadOnly: true}, {File: "b.img"}}},
			[]string{"-netdev user,id=n0", "-device virtio-net-pci,netdev=n0", "-m 256",
				"-drive file=a.img,format=raw,if=virtio,index=0,readonly=on", "-drive file=b.img,format=raw,if=virtio,index=1"},
			nil},
		{"netboot", qemu.Machine{BootURL: "http://10.0.2.2:1/boot/boot.ipxe", Accel: "tcg"},
			[]string{"-boot n", "-netdev user,id=n0,bootfile=http://10.0.2.2:1/boot/boot.ipxe"},
			[]string{"-kernel"}},
		{"netboot, then the disk", qemu.Machine{BootURL: "http://10.0.2.2:1/boot/boot.ipxe", Medium: &qemu.Medium{File: "d.img", As: "virtio", Writable: true}},
			[]string{"-netdev user,id=n0,bootfile=http://10.0.2.2:1/boot/boot.ipxe -device virtio-net-pci,netdev=n0,bootindex=0",
				"-drive if=none,id=medium,format=raw,file=d.img -device virtio-blk-pci,drive=medium,bootindex=1"},
			[]string{"-kernel", "-boot n", "drive=medium,bootindex=0"}},
		{"comma in a disk's name", qemu.Machine{Kernel: "k", Initrd: "i", Disks: []qemu.Disk{{File: "/tmp/a,b.img"}}},
			[]string{"-drive file=/tmp/a,,b.img,format=raw"}, nil},
		{"kvm", qemu.Machine{Kernel: "k", Initrd: "i", Accel: "kvm"}, []string{"-accel kvm", "-cpu host"}, nil},
		{"uefi kernel", qemu.Machine{Kernel: "k", Initrd: "i", UEFI: true}, []string{"-bios " + qemu.OVMF, "-kernel k"}, nil},
		{"iso as cdrom", qemu.Machine{Medium: &qemu.Medium{File: "a,b.iso", As: "cdrom"}, UEFI: true},
			[]string{"-bios " + qemu.OVMF, "-drive if=none,id=medium,format=raw,file=a,,b.iso,media=cdrom,readonly=on", "-device ide-cd,drive=medium,bus=ide.1,bootindex=0"},
			[]string{"-kernel", "-append"}},
		{"disk image", qemu.Machine{Medium: &qemu.Medium{File: "d.img", As: "disk", Writable: true}},
			[]string{"-drive if=none,id=medium,format=raw,file=d.img -device ide-hd,drive=medium,bus=ide.0,bootindex=0"},
			[]string{"-kernel", "-bios", "snapshot=on"}},
		{"usb stick", qemu.Machine{Medium: &qemu.Medium{File: "s.iso", As: "usb"}},
			[]string{"-device qemu-xhci,id=xhci", "file=s.iso,snapshot=on", "-device usb-storage,bus=xhci.0,drive=medium,bootindex=0"}, nil},
		{"secure boot, virtio medium", qemu.Machine{Medium: &qemu.Medium{File: "d.img", As: "virtio"}, SecureBootVars: "/tmp/v,1.fd", UEFI: true},
			[]string{"-machine q35,smm=on", "-global driver=cfi.pflash01,property=secure,value=on",
				"-drive if=pflash,format=raw,unit=0,readonly=on,file=" + qemu.OVMFSecureCode, "-drive if=pflash,format=raw,unit=1,file=/tmp/v,,1.fd",
				"-drive if=none,id=medium,format=raw,file=d.img,snapshot=on -device virtio-blk-pci,drive=medium,bootindex=0"},
			[]string{"-bios", "-kernel"}},
		{"secure boot kernel", qemu.Machine{Kernel: "k", Initrd: "i", SecureBootVars: "v.fd"},
			[]string{"-machine q35,smm=on", "unit=1,file=v.fd", "-kernel k"}, []string{"-bios"}},
		{"http boot", qemu.Machine{HTTPBoot: true, SecureBootVars: "v.fd"},
			[]string{"-netdev user,id=n0", "-device virtio-net-pci,netdev=n0,romfile=", "unit=1,file=v.fd"},
			[]string{"-kernel", "-boot n", "bootindex"}},
		{"http boot on a tap", qemu.Machine{HTTPBoot: true, Tap: "tap0", SecureBootVars: "v.fd"},
			[]string{"-netdev tap,id=n0", "-device virtio-net-pci,netdev=n0,bootindex=0,romfile=",
				"-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n", "-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n"},
			[]string{"-kernel", "-boot n"}},
		{"pxe", qemu.Machine{PXE: &qemu.PXE{Dir: "/srv/tftp", File: "boot.ipxe"}},
			[]string{"-boot n", "-netdev user,id=n0,tftp=/srv/tftp,bootfile=boot.ipxe", "-device virtio-net-pci,netdev=n0,bootindex=0"},
			[]string{"-kernel"}},
		{"pxe on a tap", qemu.Machine{Tap: "tap0", MAC: "52:54:00:00:00:01", UEFI: true},
			[]string{"-bios " + qemu.OVMF, "-boot n", "-netdev tap,id=n0,script=no,downscript=no,ifname=tap0", "-device virtio-net-pci,netdev=n0,bootindex=0,mac=52:54:00:00:00:01"},
			[]string{"-kernel", "user,id=n0"}},
		{"arm64 iso", qemu.Machine{Arch: "arm64", Medium: &qemu.Medium{File: "a.iso", As: "cdrom"}},
			[]string{"-M virt", "-drive if=pflash,format=raw,unit=0,readonly=on,file=" + qemu.AAVMFCode,
				"-drive if=pflash,format=raw,unit=1,file=" + qemu.AAVMFVars + ",snapshot=on",
				"-drive if=none,id=medium,format=raw,file=a.iso,media=cdrom,readonly=on -device virtio-scsi-pci,id=scsi -device scsi-cd,bus=scsi.0,drive=medium,bootindex=0"},
			[]string{"-kernel", "-bios", "ide-"}},
		{"arm64 disk", qemu.Machine{Arch: "arm64", Medium: &qemu.Medium{File: "d.img", As: "disk", Writable: true}, EFIVars: "v.fd"},
			[]string{"unit=1,file=v.fd", "-drive if=none,id=medium,format=raw,file=d.img -device virtio-blk-pci,drive=medium,bootindex=0"},
			[]string{"-kernel", "ide-", "snapshot=on"}},
		{"arm64 http boot", qemu.Machine{Arch: "arm64", HTTPBoot: true, EFIVars: "v.fd"},
			[]string{"-M virt", "unit=1,file=v.fd", "-device virtio-net-pci,netdev=n0,romfile="},
			[]string{"-kernel", "-boot n", "q35"}},
		{"arm64 kernel", qemu.Machine{Arch: "arm64", Kernel: "k", Initrd: "i"},
			[]string{"-M virt", "-kernel k", "console=ttyAMA0"}, []string{"pflash"}},
		{"kernel on a tap", qemu.Machine{Kernel: "k", Initrd: "i", Tap: "tap1"},
			[]string{"-kernel k", "-netdev tap,id=n0,script=no,downscript=no,ifname=tap1"},
			[]string{"-boot n", "user,id=n0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := strings.Join(tc.m.Args(), " ")
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("args lack %q: %s", w, line)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(line, n) {
					t.Errorf("args have %q: %s", n, line)
				}
			}
		})
	}
}

// fakeQEMU writes a shell script standing in for qemu-system-x86_64 that
// prints text and then sleeps.
func fakeQEMU(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	script := "#!/bin/sh\nprintf '" + text + "'\nexec sleep 30\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunWatch checks the console watching on a stand-in for QEMU.
func TestRunWatch(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		w         qemu.Watch
		err       error
		console   string // the console must hold this
	}{
		{"expected", "booting\\nREADY\\n", qemu.Watch{Expect: "READY"}, nil, ""},
		{"whole line", "READY-NOT\\nREADY\\n", qemu.Watch{Expect: "READY", Line: true}, nil, ""},
		{"panic", "Kernel panic - not syncing\\n", qemu.Watch{Expect: "READY"}, qemu.ErrPanic, ""},
		{"failure text", "mode-init: FAILED at fetch\\n", qemu.Watch{Expect: "READY", Fail: []string{"FAILED at"}}, qemu.ErrFailed, ""},
		// The reason after a failure text arrives later: it is waited for.
		{"failure reason", "mode-init: FAILED'; sleep 1; printf ' at fetch: the reason\\n", qemu.Watch{Expect: "READY", Fail: []string{"mode-init: FAILED"}}, qemu.ErrFailed, "the reason"},
		{"timeout", "booting\\n", qemu.Watch{Expect: "READY", Timeout: 2 * time.Second}, qemu.ErrTimeout, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := qemu.Machine{Binary: fakeQEMU(t, tc.out), Kernel: "k", Initrd: "i"}
			start := time.Now()
			res, err := qemu.Run(context.Background(), m, tc.w)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("Run took %s: the stand-in was not killed", time.Since(start))
			}
			if !strings.Contains(res.Console, tc.console) {
				t.Errorf("console %q lacks %q", res.Console, tc.console)
			}
			if tc.err == nil && res.Matched != tc.w.Expect {
				t.Errorf("matched %q", res.Matched)
			}
		})
	}
}

// TestRunStop: how a run without an expected text ends, on stand-ins for
// QEMU. A cancelled context returns its cause; QEMU's group gets SIGTERM,
// and SIGKILL after StopGrace when it ignores SIGTERM; a QEMU failing on
// its own is an error with its stderr; no timeout with a negative Timeout.
func TestRunStop(t *testing.T) {
	errLeft := errors.New("the user left")
	for _, tc := range []struct {
		name, script string
		cancel       bool
		timeout      time.Duration
		err          error  // errors.Is
		msg          string // in the error
		minTime      time.Duration
	}{
		{"cancelled", "printf 'up\\n'; exec sleep 60", true, 0, errLeft, "", 0},
		{"ignores SIGTERM", "trap '' TERM; printf 'up\\n'; while :; do sleep 1; done", true, 0, errLeft, "", qemu.StopGrace},
		{"fails", "echo 'qemu: could not open disk' >&2; exit 1", false, 0, nil, "could not open disk", 0},
		{"no timeout", "printf 'up\\n'; sleep 3; exit 0", false, -1, nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "qemu")
			if err := os.WriteFile(p, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			w := qemu.Watch{Timeout: tc.timeout, Console: &cancelOn{text: "up", cancel: func() {
				if tc.cancel {
					cancel(errLeft)
				}
			}}}
			if tc.timeout < 0 {
				w.Timeout = -1
			}
			start := time.Now()
			_, err := qemu.Run(ctx, qemu.Machine{Binary: p, Kernel: "k", Initrd: "i"}, w)
			took := time.Since(start)
			switch {
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Fatalf("error %v, want %v", err, tc.err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
				t.Fatalf("error %v, want one saying %q", err, tc.msg)
			case tc.err == nil && tc.msg == "" && err != nil:
				t.Fatal(err)
			}
			if took < tc.minTime {
				t.Errorf("Run took %s, less than %s", took, tc.minTime)
			}
			if took > tc.minTime+20*time.Second {
				t.Errorf("Run took %s: the stand-in was not stopped", took)
			}
		})
	}
}

// cancelOn calls cancel once the console showed text.
type cancelOn struct {
	text   string
	cancel func()
	seen   strings.Builder
	done   bool
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.seen.Write(p)
	if !c.done && strings.Contains(c.seen.String(), c.text) {
		c.done = true
		c.cancel()
	}
	return len(p), nil
}
