package qemu_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// addonYAML is a test module on tiny's console: a new file, a replaced
// file, a deletion (a whiteout) and a new top-level directory with a program.
const addonYAML = `name: addon
parent: console
run:
  - echo addon > /etc/addon.conf
  - echo console=addon > /etc/console.conf
  - rm /home/tiny/note
  - mkdir -p /opt/addon && printf '#!/bin/sh\necho addon-runs\n' > /opt/addon/hello && chmod 755 /opt/addon/hello
`

// tinyWith copies examples/tiny into a new examples directory, adds the
// module files (name → content) and edits, and returns the directory.
func tinyWith(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "tiny"), os.DirFS(filepath.Join(testutil.RepoRoot(t), "examples", "tiny"))); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, "tiny", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestActivateTiny boots examples/tiny (extra) from a registry and, in one
// boot, activates the module addon by its tag: the new file, the replaced
// file, the deletion and the new directory show, and its program runs; the
// refusals (already active, not active, a module built on another chain, a
// tampered layer) change nothing; a module file edited while active is kept
// and reported by deactivate, and everything else is back as before. A
// second boot, from a disk of layers (mode.from) with the changes on
// another disk (mode.changes), activates addon from the medium.
func TestActivateTiny(t *testing.T) {
	testutil.RequiresRoot(t)
	examples := tinyWith(t, map[string]string{"addon.yaml": addonYAML})
	t.Setenv("MODE_EXAMPLES_DIR", examples)
	store, out := filepath.Join(t.TempDir(), "store"), filepath.Join(t.TempDir(), "out")
	testutil.BuildTiny(t, out, store)
	// The same module on another chain: console built differently.
	other := tinyWith(t, map[string]string{"addon.yaml": addonYAML,
		"console.yaml": strings.Replace(mustRead(t, filepath.Join(examples, "tiny", "console.yaml")), "run:\n", "run:\n  - echo other > /etc/other-chain\n", 1)})
	t.Setenv("MODE_EXAMPLES_DIR", other)
	otherOut := filepath.Join(t.TempDir(), "other")
	testutil.BuildTiny(t, otherOut, "")
	otherDisk := filepath.Join(t.TempDir(), "other.img")
	if err := qemu.LayersDisk(context.Background(), otherOut, otherDisk); err != nil {
		t.Fatal(err)
	}
	reg := serveStore(t, store)
	script := scriptDisk(t, `
M=/run/mode/bin/mode
fail=""
check() { "$@" || fail="$fail [$*]"; }
refused() { want="$1"; shift; if "$@" >/tmp/out 2>&1; then fail="$fail [not refused: $*]"; fi; cat /tmp/out; grep -q "$want" /tmp/out || fail="$fail [$* did not say $want]"; }
state() { cat /etc/console.conf; ls /etc /home/tiny /opt 2>&1; grep -v ' /run/mode/active' /proc/mounts; cat /run/mode/active.json 2>&1; }
mkdir -p /tmp/other && mount -t squashfs -o ro /dev/vdb /tmp/other
cp /tmp/other/base-essential-console-addon.* /tmp/other/base-essential-console.json /tmp/other/base-essential.json /tmp/other/base.json /tmp/
printf x | dd of=/tmp/base-essential-console-addon.sqfs bs=1 seek=200 conv=notrunc 2>/dev/null
state > /tmp/before
check test ! -e /etc/addon.conf
refused "built on another chain" $M activate /tmp/other/base-essential-console-addon.sqfs
refused "changed or damaged" $M activate /tmp/base-essential-console-addon.sqfs
refused "not active (active: none)" $M deactivate addon
state > /tmp/after-refusals
check cmp /tmp/before /tmp/after-refusals
$M activate addon || fail="$fail [activate]"
check grep -qx addon /etc/addon.conf
check grep -qx console=addon /etc/console.conf
check test ! -e /home/tiny/note
check test "$(/opt/addon/hello)" = addon-runs
check test -f /run/mode/layers/base-essential-console-addon.sqfs
$M status
check sh -c "$M status | grep -q 'active base-essential-console-addon.sqfs'"
check test -z "$(find /run/mode/changes/etc /run/mode/changes/home /run/mode/changes/opt -type f)"
state > /tmp/active
refused "already active" $M activate addon
refused "not active (active: addon)" $M deactivate nosuch
state > /tmp/after-refusals
check cmp /tmp/active /tmp/after-refusals
echo edited >> /etc/addon.conf
# mode save while active: the changes travel (the edited file), the module does not.
mkdir -p /run/mode/savetest /run/mode/savemnt
$M save s --out /run/mode/savetest || fail="$fail [save]"
mount -t squashfs -o loop,ro /run/mode/savetest/base-essential-console-extra-s.sqfs /run/mode/savemnt
check test "$(cat /run/mode/savemnt/etc/addon.conf)" = "$(printf 'addon\nedited')"
check test ! -e /run/mode/savemnt/opt/addon/hello
check test ! -e /run/mode/savemnt/etc/console.conf
umount /run/mode/savemnt
rm -r /run/mode/savetest /run/mode/savemnt
$M deactivate addon | tee /tmp/out
check grep -q "kept /etc/addon.conf (changed since activation)" /tmp/out
check test "$(cat /etc/addon.conf)" = "$(printf 'addon\nedited')"
check grep -qx console=yes /etc/console.conf
check grep -qx hello /home/tiny/note
check test ! -e /opt
check test ! -e /run/mode/layers/base-essential-console-addon.sqfs
rm /etc/addon.conf /run/mode/active.json
state > /tmp/after
check cmp /tmp/before /tmp/after
check sh -c "$M status | grep -q 'no activated modules'"
if [ -z "$fail" ]; then echo MODE-ACTIVATE-OK; else echo "failed:$fail"; sleep 1; echo MODE-ACTIVATE-FAIL; fi
`)
	ref := "mode.ref=" + reg + "/tiny:extra mode.insecure tiny.run=/dev/vda"
	res := bootFor(t, netMachine(t, ref, script, qemu.Disk{File: otherDisk, ReadOnly: true}), "MODE-ACTIVATE-OK", 4*time.Minute,
		"MODE-ACTIVATE-FAIL", "MODE-TINY-FAIL")
	logLines(t, res.Console, "activated ", "deactivated ", "kept ", "mode: ", "active ")

	// From the mode.from medium the system booted from, no network, with
	// the changes on a disk (mode.changes): the directory overlays' upper
	// and work directories are on that disk too.
	disk := filepath.Join(t.TempDir(), "layers.img")
	if err := qemu.LayersDisk(context.Background(), out, disk); err != nil {
		t.Fatal(err)
	}
	changes := filepath.Join(t.TempDir(), "changes.img")
	if err := qemu.EmptyDisk(context.Background(), changes, 64); err != nil {
		t.Fatal(err)
	}
	media := scriptDisk(t, `
M=/run/mode/bin/mode
fail=""
check() { "$@" || fail="$fail [$*]"; }
$M activate addon || fail="$fail [activate]"
check grep -qx addon /etc/addon.conf
check test "$(/opt/addon/hello)" = addon-runs
check sh -c "$M status | grep -q 'from /run/mode/mnt/vda/base-essential-console-addon.sqfs'"
check sh -c "grep ' /etc overlay ' /proc/mounts | grep -q 'upperdir=/run/mode/mnt/vdc/mode/changes/'"
echo edited >> /etc/addon.conf
$M deactivate addon | tee /tmp/out || fail="$fail [deactivate]"
check grep -q "kept /etc/addon.conf" /tmp/out
check test "$(cat /etc/addon.conf)" = "$(printf 'addon\nedited')"
check test ! -e /opt
check grep -qx console=yes /etc/console.conf
if [ -z "$fail" ]; then echo MODE-ACTIVATE-OK; else echo "failed:$fail"; sleep 1; echo MODE-ACTIVATE-FAIL; fi
`)
	res = bootFor(t, machine(t, "mode.from=/dev/vda mode.ref=extra tiny.run=/dev/vdb mode.changes=/dev/vdc",
		qemu.Disk{File: disk, ReadOnly: true}, media, qemu.Disk{File: changes}),
		"MODE-ACTIVATE-OK", 4*time.Minute, "MODE-ACTIVATE-FAIL", "MODE-TINY-FAIL")
	logLines(t, res.Console, "activated ", "deactivated ", "mode: ")
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
