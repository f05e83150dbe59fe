package modules

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyArch: another architecture than amd64 changes every key; amd64's
// are those of Key; from.host counts only for the host's architecture and
// from.foreign only for another.
func TestKeyArch(t *testing.T) {
	host := filepath.Join(t.TempDir(), "busybox")
	writeFiles(t, filepath.Dir(host), map[string]string{"busybox": "v1"})
	base := "name: base\nfrom:\n  dir: rootfs\n  host: [" + host + "]\n"
	h, dir := loadGood(t, map[string]string{"base.yaml": base})
	plain := keys(t, h, "zstd:9")
	archKeys := func(h *Hierarchy, arch string) map[string]string {
		ks := map[string]string{}
		for _, n := range h.Names() {
			k, err := h.KeyFor(n, "zstd:9", arch)
			if err != nil {
				t.Fatalf("KeyFor(%s, %s): %v", n, arch, err)
			}
			ks[n] = k
		}
		return ks
	}
	if got := changed(plain, archKeys(h, "amd64")); got != nil {
		t.Errorf("amd64 keys differ from Key's for %v", got)
	}
	arm := archKeys(h, "arm64")
	if got := changed(plain, arm); len(got) != 5 {
		t.Errorf("arm64 changed the keys of %v, want all five", got)
	}
	// A foreign section does not change the host's keys...
	h2 := reload(t, dir, map[string]string{"base.yaml": base + "  foreign: {packages: [busybox-static]}\n"})
	if got := changed(plain, archKeys(h2, HostArch())); got != nil {
		t.Errorf("from.foreign changed host keys of %v", got)
	}
	// ...but does change arm64's; a host file changes only the host's.
	if got := changed(arm, archKeys(h2, "arm64")); strings.Join(got, ",") != "base,console,essential,extra" {
		t.Errorf("from.foreign changed arm64 keys of %v, want all but conf", got)
	}
	arm2 := archKeys(h2, "arm64")
	writeFiles(t, filepath.Dir(host), map[string]string{"busybox": "v2"})
	h3 := reload(t, dir, nil)
	if got := changed(arm2, archKeys(h3, "arm64")); got != nil {
		t.Errorf("a host file changed arm64 keys of %v", got)
	}
	if got := changed(plain, archKeys(h3, "amd64")); len(got) == 0 {
		t.Error("a host file changed no amd64 key")
	}
}

// TestBuildArch: --arch, a pinned chain, and a clash between them.
func TestBuildArch(t *testing.T) {
	h, _ := loadGood(t, map[string]string{"base.yaml": "name: base\narch: arm64\nfrom: {dir: rootfs}\n"})
	if a, err := h.BuildArch(""); err != nil || a != "arm64" {
		t.Errorf("BuildArch() = %q, %v; want arm64 (pinned)", a, err)
	}
	if a, err := h.BuildArch("arm64", "console"); err != nil || a != "arm64" {
		t.Errorf("BuildArch(arm64) = %q, %v", a, err)
	}
	_, err := h.BuildArch("amd64", "console")
	if err == nil || !strings.Contains(err.Error(), "base.yaml:2: module base is for arm64, but the build is for amd64 (--arch)") {
		t.Errorf("BuildArch(amd64) = %v; want the pinned module's file and line", err)
	}
	if _, err := h.BuildArch("mips"); err == nil || !strings.Contains(err.Error(), `--arch: architecture "mips": mode builds for amd64, arm64`) {
		t.Errorf("BuildArch(mips) = %v", err)
	}
	if got := ArchOut("out", "arm64"); got != filepath.Join("out", "arm64") {
		t.Errorf("ArchOut(arm64) = %s", got)
	}
	if got, tag := ArchOut("out", "amd64"), ArchTag("console", "amd64"); got != "out" || tag != "console" {
		t.Errorf("amd64: ArchOut %s, ArchTag %s; want the plain names", got, tag)
	}
	if tag := ArchTag("console", "arm64"); tag != "console-arm64" {
		t.Errorf("ArchTag(arm64) = %s", tag)
	}
}
