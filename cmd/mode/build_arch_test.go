package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/modules/debian"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestBuildArm64Tiny: examples/tiny builds for arm64 on this host beside its
// amd64 build: busybox-static of arm64 unpacked for the base, every run step
// of essential and console run under QEMU user emulation, the layers in
// out/arm64 with the same names, the amd64 layers and tags untouched, the
// arm64 chains stored as NAME-arm64 with the architecture in their layers'
// metadata. The two are pushed as one image index (push --platform); a pull
// of its tag gets this machine's chain, --platform arm64 gets arm64's (tagged
// console-arm64 in the pulling store), and an index without the asked
// architecture is an error naming it.
func TestBuildArm64Tiny(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUUser(t)
	out, dir := t.TempDir(), t.TempDir()
	if b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir).CombinedOutput(); err != nil {
		t.Fatalf("build amd64: %v\n%s", err, b)
	}
	amd, err := os.ReadFile(filepath.Join(out, "base-essential-console.sqfs"))
	if err != nil {
		t.Fatal(err)
	}
	// The shared package cache keeps what it holds: the arm64 base's extract
	// (mmdebstrap's extract variant, no customize hook) emptied it once.
	cache, err := debian.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(debian.Archives(cache), "mode-test-marker_1.0_all.deb")
	if err := os.WriteFile(marker, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(marker)
	b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir, "--arch", "arm64").CombinedOutput()
	if err != nil {
		t.Fatalf("build arm64: %v\n%s", err, b)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the arm64 build emptied the shared package cache %s: %v", debian.Archives(cache), err)
	}
	for _, tag := range []string{"base-arm64", "essential-arm64", "console-arm64", "extra-arm64"} {
		if !strings.Contains(string(b), "stored tiny:"+tag+" ") {
			t.Errorf("arm64 build did not store tiny:%s:\n%s", tag, b)
		}
	}
	if again, _ := os.ReadFile(filepath.Join(out, "base-essential-console.sqfs")); string(again) != string(amd) {
		t.Error("the arm64 build changed the amd64 layer")
	}
	tree := filepath.Join(t.TempDir(), "console")
	for _, l := range []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs"} {
		if b, err := exec.Command("unsquashfs", "-f", "-q", "-n", "-d", tree, filepath.Join(out, "arm64", l)).CombinedOutput(); err != nil {
			t.Fatalf("unsquashfs %s: %v\n%s", l, err, b)
		}
	}
	f, err := elf.Open(filepath.Join(tree, "bin/busybox"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("arm64 base's busybox is for %v", f.Machine)
	}
	// Written by run steps: busybox of arm64 ran them.
	if b, err := os.ReadFile(filepath.Join(tree, "etc/console.conf")); err != nil || string(b) != "console=yes\n" {
		t.Errorf("console's run step: %q, %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(tree, "bin/ls")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("base's busybox --install did not make /bin/ls: %v", err)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := s.Chain("tiny", "console-arm64")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Layers {
		if l.Arch() != "arm64" {
			t.Errorf("stored arm64 layer %s: architecture %q", l.File, l.Architecture)
		}
	}
	c, _, _, err = s.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	if c.Layers[2].Arch() != "amd64" || c.Layers[2].Architecture != "" {
		t.Errorf("amd64 console: architecture %q", c.Layers[2].Architecture)
	}
	checkIndex(t, dir)
	img := filepath.Join(t.TempDir(), "tiny.iso")
	b, err = modeCmd("image", "--store", dir, "-f", "iso", "--arch", "amd64", "-o", img, "tiny:console-arm64").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "image: --arch amd64: chain console-arm64 is for arm64 (layer base-essential-console.sqfs)") {
		t.Errorf("mode image --arch amd64 of an arm64 chain: %v\n%s", err, b)
	}
	if _, err := os.Stat(img); err == nil {
		t.Error("a refused mode image left its output")
	}
}

// checkIndex pushes tiny:console of the store at dir for amd64 and arm64 as
// one index to a registry on loopback and pulls it back for each.
func checkIndex(t *testing.T, dir string) {
	reg, err := store.Open(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, reg, serve.WithPushToken("tok"))
	key := filepath.Join(t.TempDir(), "site")
	if b, err := modeCmd("key", "generate", key).CombinedOutput(); err != nil {
		t.Fatalf("key generate: %v\n%s", err, b)
	}
	b, err := modeCmd("push", "--token", "tok", "--store", dir, "--platform", "amd64,arm64", "--sign", key+".key", "tiny:console", host+"/tiny:console").CombinedOutput()
	if err != nil {
		t.Fatalf("push --platform amd64,arm64: %v\n%s", err, b)
	}
	idxDigest := strings.TrimSpace(lastLine(string(b)))
	s, _ := store.Open(dir)
	_, _, amdDigest, err := s.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	_, _, armDigest, err := s.Chain("tiny", "console-arm64")
	if err != nil {
		t.Fatal(err)
	}
	// Signed: the index and each entry.
	for _, ref := range []string{host + "/tiny:console", host + "/tiny@" + amdDigest.String(), host + "/tiny@" + armDigest.String()} {
		if b, err := modeCmd("verify", "--key", key+".pub", ref).CombinedOutput(); err != nil {
			t.Errorf("verify %s: %v\n%s", ref, err, b)
		}
	}
	for _, tt := range []struct{ platform, want, tag string }{
		{"", amdDigest.String(), "console"},
		{"arm64", armDigest.String(), "console-arm64"},
	} {
		pulled := filepath.Join(t.TempDir(), "store")
		args := []string{"pull", "--store", pulled, host + "/tiny:console"}
		if tt.platform != "" {
			args = append(args, "--platform", tt.platform)
		}
		b, err := modeCmd(args...).CombinedOutput()
		if err != nil {
			t.Fatalf("pull %v: %v\n%s", args, err, b)
		}
		if got := strings.TrimSpace(lastLine(string(b))); got != tt.want {
			t.Errorf("pull --platform %q of index %s: got %s, want the chain %s", tt.platform, idxDigest, got, tt.want)
		}
		ps, _ := store.Open(pulled)
		if _, _, d, err := ps.Chain("tiny", tt.tag); err != nil || d.String() != tt.want {
			t.Errorf("pulled store's tiny:%s = %s, %v; want %s", tt.tag, d, err, tt.want)
		}
	}
	// An index without the asked architecture: the error names it.
	if b, err := modeCmd("push", "--token", "tok", "--store", dir, "--platform", "arm64", "tiny:console", host+"/tiny:armonly").CombinedOutput(); err != nil {
		t.Fatalf("push --platform arm64: %v\n%s", err, b)
	}
	b, err = modeCmd("pull", "--store", filepath.Join(t.TempDir(), "s"), "--platform", "amd64", host+"/tiny:armonly").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "is an index of chains for arm64: none for amd64") {
		t.Errorf("pull of an arm64-only index for amd64: %v\n%s", err, b)
	}
}
