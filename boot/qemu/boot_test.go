package qemu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// These tests boot QEMU (TCG) with Debian's cloud kernel and mode's
// initramfs; they need root (mode build) and fetch the kernel once.

// tinyDisk builds examples/tiny and packs its layers as a disk image; edit
// may change the output directory first.
func tinyDisk(t *testing.T, edit ...func(out string)) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	testutil.BuildTiny(t, out, "")
	for _, e := range edit {
		e(out)
	}
	disk := filepath.Join(t.TempDir(), "layers.img")
	if err := qemu.LayersDisk(context.Background(), out, disk); err != nil {
		t.Fatal(err)
	}
	return disk
}

func machine(t *testing.T, appendArgs string, disks ...qemu.Disk) qemu.Machine {
	testutil.RequiresQEMU(t)
	return qemu.Machine{
		Kernel:    testutil.Kernel(t).Vmlinuz,
		Initrd:    testutil.Initramfs(t),
		MemoryMiB: 384,
		Append:    appendArgs,
		Disks:     disks,
	}
}

// TestBootTinyFromDisk boots examples/tiny from a disk holding its layers,
// with no network device: busybox init on the overlay root checks that the
// files of every layer, the whiteout and the opaque directory are right.
func TestBootTinyFromDisk(t *testing.T) {
	testutil.RequiresRoot(t)
	disk := qemu.Disk{File: tinyDisk(t), ReadOnly: true}
	for _, tc := range []struct {
		name, args, expect, fail string
		console                  []string
	}{
		{"from disk", "mode.from=/dev/vda", "MODE-TINY-OK", "MODE-TINY-FAIL",
			[]string{"mode-init: found 4 layers of base-essential-console-extra", "mode-init: switching root to /sbin/init"}},
		{"toram", "mode.from=/dev/vda mode.toram", "MODE-TINY-OK", "MODE-TINY-FAIL",
			[]string{"mode-init: copied 4 layers"}},
		{"noload leaves a layer out", "mode.from=/dev/vda mode.noload=^extra$", "MODE-TINY-FAIL: [test -f /etc/extra.conf]", "MODE-TINY-OK",
			[]string{"layer base-essential-console-extra.sqfs left out"}},
		{"load keeps only the named layers", "mode.from=/dev/vda mode.load=^(essential|console)$", "MODE-TINY-FAIL: [test -f /etc/extra.conf]", "MODE-TINY-OK",
			[]string{"layer base-essential-console-extra.sqfs left out"}},
		{"a shorter chain by name", "mode.from=/dev/vda mode.ref=essential", "MODE-TINY-FAIL: [test -f /etc/console.conf] [test -f /etc/extra.conf]", "MODE-TINY-OK",
			[]string{"found 2 layers of base-essential,"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machine(t, tc.args, disk)
			res, err := qemu.Run(context.Background(), m, qemu.Watch{
				Expect: tc.expect, Line: true, Fail: []string{tc.fail, "mode-init: FAILED"}, Timeout: 90 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.console {
				if !strings.Contains(res.Console, want) {
					t.Errorf("console lacks %q:\n%s", want, res.Console)
				}
			}
			if strings.Contains(res.Console, "eth0") {
				t.Errorf("a network device came up with mode.from:\n%s", res.Console)
			}
			t.Logf("%s after %.1fs", tc.expect, res.Elapsed.Seconds())
		})
	}
}

// TestRescueShell boots into failures: each must print the failing step and
// its cause, then give a shell prompt, never a kernel panic.
func TestRescueShell(t *testing.T) {
	testutil.RequiresRoot(t)
	disk := qemu.Disk{File: tinyDisk(t), ReadOnly: true}
	for _, tc := range []struct {
		name, args, want string
	}{
		{"no such chain", "mode.from=/dev/vda mode.ref=nosuch", `FAILED at fetch: mode.from=/dev/vda: /run/mode/mnt/vda: chain "nosuch": 0 layers match`},
		{"no such init", "mode.from=/dev/vda mode.init=/sbin/nosuch", "FAILED at mount layers: mode.init=/sbin/nosuch: not in the chain"},
		{"no such device", "mode.from=/dev/vdq", "FAILED at fetch: mode.from=/dev/vdq: device /dev/vdq"},
		{"nothing to boot", "", "FAILED at cmdline: neither mode.ref nor mode.from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machine(t, tc.args, disk)
			res, err := qemu.Run(context.Background(), m, qemu.Watch{
				Expect: "(mode rescue) # ", Fail: []string{"MODE-TINY-"}, Timeout: 90 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Console, "mode-init: "+tc.want) {
				t.Errorf("console lacks %q:\n%s", tc.want, res.Console)
			}
		})
	}
}

// TestDebugShell: mode.debug gives a shell before switch_root (fed here
// through the serial line), where /run/mode holds the mode binary and
// chain.json; when it exits, the boot goes on.
func TestDebugShell(t *testing.T) {
	testutil.RequiresRoot(t)
	m := machine(t, "mode.from=/dev/vda mode.debug", qemu.Disk{File: tinyDisk(t), ReadOnly: true})
	// $((40+2)): the tty echoes the command; only the shell's output says 42.
	input := "test -x /run/mode/bin/mode && grep -q base-essential-console-extra.sqfs /run/mode/chain.json && echo CHECK-$((40+2))\nexit\n"
	in, typist := io.Pipe()
	defer typist.Close()
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 90 * time.Second,
		Stdin: in, Console: &typeAfter{prompt: "(mode debug) # ", input: input, w: typist},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mode.debug: shell before switch_root", "CHECK-42", "debug shell done"} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("console lacks %q:\n%s", want, res.Console)
		}
	}
}

// typeAfter writes input to w once the console showed prompt: what is typed
// before the shell reads its terminal may be lost.
type typeAfter struct {
	prompt, input string
	w             io.Writer
	seen          bytes.Buffer
	done          bool
}

func (t *typeAfter) Write(p []byte) (int, error) {
	if !t.done {
		t.seen.Write(p)
		if bytes.Contains(t.seen.Bytes(), []byte(t.prompt)) {
			t.done = true
			go io.WriteString(t.w, t.input)
		}
	}
	return len(p), nil
}

// TestPersistentChanges: with mode.changes the upper directory lives on a
// disk, so a file written in one boot is there in the next.
func TestPersistentChanges(t *testing.T) {
	testutil.RequiresRoot(t)
	layersDisk := qemu.Disk{File: tinyDisk(t), ReadOnly: true}
	changes := filepath.Join(t.TempDir(), "changes.img")
	if err := qemu.EmptyDisk(context.Background(), changes, 32); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ input, want string }{
		{"echo kept > /newroot/etc/note && sync && echo WROTE-$((40+2))\nexit\n", "WROTE-42"},
		{"grep -q kept /run/mode/changes/etc/note && echo FOUND-$((40+2))\nexit\n", "FOUND-42"},
	} {
		t.Run(fmt.Sprint("boot ", i+1), func(t *testing.T) {
			m := machine(t, "mode.from=/dev/vda mode.changes=/dev/vdb mode.debug", layersDisk, qemu.Disk{File: changes})
			in, typist := io.Pipe()
			defer typist.Close()
			res, err := qemu.Run(context.Background(), m, qemu.Watch{
				Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 90 * time.Second,
				Stdin: in, Console: &typeAfter{prompt: "(mode debug) # ", input: tc.input, w: typist},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"mode-init: changes on /dev/vdb:mode/changes/", tc.want} {
				if !strings.Contains(res.Console, want) {
					t.Errorf("console lacks %q:\n%s", want, res.Console)
				}
			}
		})
	}
}

// TestSavedLayerOverAnotherChain: a saved layer (one that records its parents'
// digests) whose parents changed stops the boot in the rescue shell.
func TestSavedLayerOverAnotherChain(t *testing.T) {
	testutil.RequiresRoot(t)
	disk := tinyDisk(t, func(out string) {
		data, err := os.ReadFile(filepath.Join(out, "base-essential.sqfs"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "base-essential-mine.sqfs"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data) // its own digest is right: the init checks that first
		meta := `{"name":"mine","parent":"essential","chain":["base","essential","mine"],"file":"base-essential-mine.sqfs",` +
			`"digest":"sha256:` + hex.EncodeToString(sum[:]) + `","parentDigests":["sha256:1111111111111111111111","sha256:2222222222222222222222"]}`
		if err := os.WriteFile(filepath.Join(out, "base-essential-mine.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	m := machine(t, "mode.from=/dev/vda mode.ref=mine", qemu.Disk{File: disk, ReadOnly: true})
	res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "(mode rescue) # ", Fail: []string{"MODE-TINY-"}, Timeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := "mode-init: FAILED at mount layers: layer base-essential-mine.sqfs: saved layer over a different parent chain: parent 1 is base.sqfs"
	if !strings.Contains(res.Console, want) {
		t.Errorf("console lacks %q:\n%s", want, res.Console)
	}
}
