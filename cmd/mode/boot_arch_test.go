package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestBootIndexArm64: tiny built for amd64 and arm64 is pushed as one
// index (push --platform). mode boot --arch arm64 of that tag boots an arm64
// guest (qemu-system-aarch64, Debian's arm64 cloud kernel, mode cross-built
// as its init): the init picks the arm64 chain, tiny's check passes, and at
// the guest's console mode save --push publishes a layer (tiny's arm64 base
// has mksquashfs of arm64) as tiny:mine. The registry's tiny:mine is the
// arm64 chain plus an arm64 layer; an arm64 guest boots it again and finds
// the file saved. An amd64 guest booting the index's tag gets the amd64
// chain. The arm64 initramfs is made once, by mode initramfs --arch arm64.
func TestBootIndexArm64(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUArm64(t)
	testutil.RequiresQEMU(t)
	ctx := context.Background()
	start := time.Now()
	bin := testutil.ModeArm64(t)
	out, dir := t.TempDir(), t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir, "--arch", arch).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", arch, err, b)
		}
	}
	reg, err := store.Open(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, reg, serve.WithPushToken("tok"))
	if b, err := modeCmd("push", "--token", "tok", "--store", dir, "--platform", "amd64,arm64", "tiny:extra", host+"/tiny:extra").CombinedOutput(); err != nil {
		t.Fatalf("push --platform: %v\n%s", err, b)
	}
	s, _ := store.Open(dir)
	arm64, _, arm, err := s.Chain("tiny", "extra-arm64")
	if err != nil {
		t.Fatal(err)
	}
	_, _, amd, err := s.Chain("tiny", "extra")
	if err != nil {
		t.Fatal(err)
	}
	kernels := []string{"MODE_KERNEL_DIR=" + testutil.KernelDir(t)}
	initrd := filepath.Join(t.TempDir(), "initrd-arm64.img")
	cmd := modeCmd("initramfs", "--arch", "arm64", "--mode-binary", bin, "-o", initrd)
	cmd.Env = append(cmd.Env, kernels...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initramfs --arch arm64: %v\n%s", err, b)
	}
	t.Logf("two tiny builds, the index pushed, the arm64 kernel and initramfs: %.0fs", time.Since(start).Seconds())

	// The index's tag on arm64; a layer saved and pushed at its console.
	step := time.Now()
	c := startPipeConsole(t, 10*time.Minute, kernels, "boot", "--arch", "arm64", "--initrd", initrd,
		"--append", "mode.token=tok", "--timeout", "10m", host+"/tiny:extra")
	c.waitFor("MODE-TINY-OK")
	c.waitFor("Please press Enter to activate this console.")
	c.typeIn("\n")
	c.waitFor("# ")
	// $((40+2)): the console echoes what is typed; only the shell says 42.
	c.typeIn("echo saved-on-$(uname -m) > /root/mine.txt && /run/mode/bin/mode save mine --push && echo MODE-SAVE-$((40+2))\n")
	c.waitFor("MODE-SAVE-42")
	c.typeIn("poweroff -f\n")
	if code := c.wait(); code != 0 {
		t.Fatalf("mode boot --arch arm64 exited %d:\n%s", code, c.text())
	}
	console := c.text()
	for _, want := range []string{"boot: qemu-system-aarch64 ", "base-essential-console-extra " + layers.ShortDigest(arm.String()), "/tiny:mine sha256:"} {
		if !strings.Contains(console, want) {
			t.Errorf("arm64 boot of the index: console lacks %q:\n%s", want, console)
		}
	}
	t.Logf("arm64: the index's tag booted, a layer saved and pushed: %.0fs", time.Since(step).Seconds())

	// tiny:mine is the arm64 chain plus the saved layer, itself arm64's.
	mine, md, err := remote.Chain(ctx, host+"/tiny:mine")
	if err != nil {
		t.Fatal(err)
	}
	if len(mine.Layers) != 5 {
		t.Fatalf("tiny:mine has %d layers, want 5", len(mine.Layers))
	}
	top := mine.Layers[4]
	var parents []string
	for _, l := range arm64.Layers {
		parents = append(parents, l.Digest)
	}
	if top.File != "base-essential-console-extra-mine.sqfs" || top.Arch() != "arm64" || !slices.Equal(top.ParentDigests, parents) {
		t.Errorf("saved layer %s for %s on %v, want base-essential-console-extra-mine.sqfs for arm64 on the arm64 chain %v", top.File, top.Arch(), top.ParentDigests, parents)
	}

	// The saved tag boots again on arm64, with the saved file.
	step = time.Now()
	c = startPipeConsole(t, 10*time.Minute, kernels, "boot", "--arch", "arm64", "--initrd", initrd, "--timeout", "10m", host+"/tiny:mine")
	c.waitFor("MODE-TINY-OK")
	c.waitFor("Please press Enter to activate this console.")
	c.typeIn("\n")
	c.waitFor("# ")
	c.typeIn("grep -qx saved-on-aarch64 /root/mine.txt && echo MODE-MINE-$((40+2))\n")
	c.waitFor("MODE-MINE-42")
	c.typeIn("poweroff -f\n")
	if code := c.wait(); code != 0 {
		t.Fatalf("mode boot --arch arm64 of tiny:mine exited %d:\n%s", code, c.text())
	}
	if want := "base-essential-console-extra-mine " + layers.ShortDigest(md.String()); !strings.Contains(c.text(), want) {
		t.Errorf("arm64 boot of tiny:mine: console lacks %q:\n%s", want, c.text())
	}
	t.Logf("arm64: the saved tag booted again: %.0fs", time.Since(step).Seconds())

	// The same index's tag on amd64: the amd64 chain.
	step = time.Now()
	b, err := modeCmd("boot", "--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t), "--memory", "384",
		"--expect", "MODE-TINY-OK", "--timeout", "5m", host+"/tiny:extra").CombinedOutput()
	if err != nil {
		t.Fatalf("amd64 boot of the index: %v\n%s", err, b)
	}
	for _, want := range []string{"boot: qemu-system-x86_64 ", "base-essential-console-extra " + layers.ShortDigest(amd.String())} {
		if !strings.Contains(string(b), want) {
			t.Errorf("amd64 boot of the index: console lacks %q:\n%s", want, b)
		}
	}
	t.Logf("amd64: the index's tag booted: %.0fs; the whole test %.0fs", time.Since(step).Seconds(), time.Since(start).Seconds())
}

// TestBootArchBad: an unknown --arch and a --kernel of another architecture
// than the guest's are refused before QEMU starts, naming them.
func TestBootArchBad(t *testing.T) {
	b, err := modeCmd("boot", "--arch", "mips", "--expect", "x", "127.0.0.1:1/tiny:extra").CombinedOutput()
	if err == nil || !strings.Contains(string(b), `--arch: architecture "mips": mode builds for amd64, arm64`) {
		t.Errorf("boot --arch mips: %v\n%s", err, b)
	}
	k := filepath.Join(t.TempDir(), "vmlinuz")
	bz := make([]byte, 0x300)
	copy(bz[0x202:], "HdrS")
	if err := os.WriteFile(k, bz, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = modeCmd("boot", "--arch", "arm64", "--kernel", k, "--initrd", k, "--expect", "x", "127.0.0.1:1/tiny:extra").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "--kernel "+k+" is an amd64 kernel, the guest is arm64 (--arch)") {
		t.Errorf("boot --arch arm64 with an amd64 kernel: %v\n%s", err, b)
	}
}
