package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// e2eEpoch is the SOURCE_DATE_EPOCH of make test-debian's build
// (MODE_E2E_EPOCH from the Makefile).
func e2eEpoch() string {
	if e := os.Getenv("MODE_E2E_EPOCH"); e != "" {
		return e
	}
	return "1700000000"
}

// needDebian skips with -short and needs root: the tests below build
// Debian layers (mmdebstrap, apt, the host's archive).
func needDebian(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds Debian layers (root, the Debian archive)")
	}
	testutil.RequiresRoot(t)
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestBuildDebianTerminal builds examples/debian up to console on a
// pseudo-terminal (issue 27: dpkg failed there, at ucf), with a fresh out
// and store, and wants every phase's bar drawn (bootstrap, apt, squash) and
// the layers byte for byte those make test-debian built off a terminal
// (MODE_E2E_OUT, with the same SOURCE_DATE_EPOCH; see referenceOut when the
// archive moved since). Then it pushes the chain and pulls it back on a
// pseudo-terminal, with their bars.
func TestBuildDebianTerminal(t *testing.T) {
	needDebian(t)
	out, dir := t.TempDir(), t.TempDir()
	epoch := "SOURCE_DATE_EPOCH=" + e2eEpoch()
	screen, err := onTerminal(t, []string{epoch}, "build", "--dir", "../../examples/debian", "--out", out, "--store", dir, "console")
	if err != nil {
		t.Fatalf("build on a terminal: %v\n%s", err, tailLines(screen, 30))
	}
	bar := `\[[#-]{20}\] \d+%`
	for _, phase := range []string{"base: bootstrap[a-z ]*", "essential: apt", "console: apt", "base: squash", "console: squash"} {
		if !regexp.MustCompile(phase + " " + bar).MatchString(screen) {
			t.Errorf("no bar of %q on the terminal:\n%s", phase, tailLines(screen, 30))
		}
	}
	ref := referenceOut(t, out, epoch)
	for _, f := range debianLayers {
		if got := fmt.Sprint(squashTime(t, filepath.Join(ref, f))); got != e2eEpoch() {
			t.Fatalf("%s: made at %s, not at SOURCE_DATE_EPOCH %s: build it with make test-debian", filepath.Join(ref, f), got, e2eEpoch())
		}
		registrytest.SameFile(t, filepath.Join(out, f), filepath.Join(ref, f))
	}

	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, s, serve.WithPushToken("tok"))
	blobBar := regexp.MustCompile(`\x1b\[K[^\r\n]* +\d+%`)
	for _, args := range [][]string{
		{"push", "--store", dir, "--token", "tok", "debian:console", host + "/debian:console"},
		{"pull", "--store", t.TempDir(), host + "/debian:console"},
	} {
		screen, err := onTerminal(t, nil, args...)
		if err != nil {
			t.Fatalf("mode %s on a terminal: %v\n%s", strings.Join(args, " "), err, tailLines(screen, 20))
		}
		if !blobBar.MatchString(screen) {
			t.Errorf("mode %s: no progress drawn on the terminal:\n%q", args[0], tailLines(screen, 20))
		}
	}
}

// debianLayers are the layers of examples/debian up to console.
var debianLayers = []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs"}

// referenceOut returns the off-terminal build to compare out (built on a
// terminal) with: make test-debian's (MODE_E2E_OUT) when its layers hold
// the very packages out's do, else (no MODE_E2E_OUT, or the archive moved
// since it was built) the same modules built here off a terminal.
func referenceOut(t *testing.T, out, epoch string) string {
	t.Helper()
	e2e := os.Getenv("MODE_E2E_OUT")
	if e2e != "" && samePackages(t, out, e2e) {
		return e2e
	}
	t.Logf("MODE_E2E_OUT %q missing or of other packages: building the reference off a terminal", e2e)
	ref := t.TempDir()
	if log, err := offTerminal(t, []string{epoch}, "build", "--no-store", "--dir", "../../examples/debian", "--out", ref, "console"); err != nil {
		t.Fatalf("build off a terminal: %v\n%s", err, tailLines(log, 30))
	}
	return ref
}

// samePackages reports whether the layers in a and b list the same
// packages in their metadata (a layer's .json).
func samePackages(t *testing.T, a, b string) bool {
	t.Helper()
	for _, f := range debianLayers {
		var p [2]struct{ Packages any }
		for i, dir := range []string{a, b} {
			data, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(f, ".sqfs")+".json"))
			if err != nil {
				return false
			}
			if err := json.Unmarshal(data, &p[i]); err != nil {
				t.Fatalf("%s: %v", filepath.Join(dir, f), err)
			}
		}
		if !reflect.DeepEqual(p[0], p[1]) {
			return false
		}
	}
	return true
}

// TestBuildDpkgFailure builds, over examples/debian's base, a module whose
// package (a local .deb made here with dpkg-deb) fails in its preinst: on a
// terminal and off one, the build fails naming the package and dpkg's own
// message, and the preinst's words reach the output.
func TestBuildDpkgFailure(t *testing.T) {
	needDebian(t)
	dir, out := t.TempDir(), t.TempDir()
	pkg := filepath.Join(t.TempDir(), "pkg")
	for name, data := range map[string]string{
		"DEBIAN/control": "Package: mode-fail\nVersion: 1.0\nArchitecture: all\nMaintainer: mode tests <tests@mode.invalid>\nDescription: fails in its preinst\n",
		"DEBIAN/preinst": "#!/bin/sh\necho 'mode-fail: preinst refuses' >&2\nexit 1\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(pkg, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, name), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, "mode-fail_1.0_all.deb")
	if b, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", pkg, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	base, err := os.ReadFile("../../examples/debian/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"base.yaml": string(base), "fail.yaml": "name: fail\nparent: base\n" +
		"files:\n  - {src: mode-fail_1.0_all.deb, dst: /tmp/mode-fail_1.0_all.deb, mode: \"0644\"}\n" +
		"packages: [/tmp/mode-fail_1.0_all.deb]\n"}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// make test-debian's base, when there is one: the same module, so the
	// same key, and only fail is built.
	if e2e := os.Getenv("MODE_E2E_OUT"); e2e != "" {
		for _, f := range []string{"base.sqfs", "base.json"} {
			if b, err := exec.Command("cp", filepath.Join(e2e, f), out).CombinedOutput(); err != nil {
				t.Logf("no base from make test-debian, building it: %v %s", err, b)
			}
		}
	}
	args := []string{"build", "--no-store", "--dir", dir, "--out", out, "fail"}
	for _, run := range []struct {
		name string
		run  func(*testing.T, []string, ...string) (string, error)
	}{{"terminal", onTerminal}, {"file", offTerminal}} {
		screen, err := run.run(t, nil, args...)
		if err == nil {
			t.Fatalf("%s: a package whose preinst fails built:\n%s", run.name, tailLines(screen, 20))
		}
		last := tailLines(screen, 1)
		t.Logf("%s: %s", run.name, last)
		for _, want := range []string{"module fail", "mode-fail: new mode-fail package pre-installation script subprocess returned error exit status 1"} {
			if !strings.Contains(last, want) {
				t.Errorf("%s: the error lacks %q:\n%s", run.name, want, last)
			}
		}
		if !strings.Contains(screen, "mode-fail: preinst refuses") {
			t.Errorf("%s: the preinst's words are not in the output:\n%s", run.name, tailLines(screen, 20))
		}
	}
}
