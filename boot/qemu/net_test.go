package qemu_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// tinyRegistry builds examples/tiny into a fresh store and serves it on
// 127.0.0.1 (10.0.2.2 in the guest); it returns the store directory and the
// guest's HOST:PORT of the registry.
func tinyRegistry(t *testing.T) (string, string) {
	t.Helper()
	store := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), store)
	return store, serveStore(t, store)
}

func serveStore(t testing.TB, dir string) string {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.New(s).Handler())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return "10.0.2.2:" + u.Port()
}

func netMachine(t *testing.T, args string, disks ...qemu.Disk) qemu.Machine {
	m := machine(t, args, disks...)
	m.Network = true
	return m
}

// TestBootTinyFromRegistry pulls examples/tiny from a registry on the host;
// with mode.cache the second boot pulls nothing; a static ip= works too.
func TestBootTinyFromRegistry(t *testing.T) {
	testutil.RequiresRoot(t)
	_, reg := tinyRegistry(t)
	cache := filepath.Join(t.TempDir(), "cache.img")
	if err := qemu.EmptyDisk(context.Background(), cache, 64); err != nil {
		t.Fatal(err)
	}
	ref := "mode.ref=" + reg + "/tiny:extra mode.insecure"
	for i, tc := range []struct{ args, want string }{
		{ref + " mode.cache=/dev/vda", "mode-init: pulled 4 layers, "},
		{ref + " mode.cache=/dev/vda", "mode-init: pulled 0 layers, 0 B (4 already cached) of base-essential-console-extra"},
		{ref + " ip=10.0.2.16::10.0.2.2:255.255.255.0::eth0:off", "mode-init: eth0: 10.0.2.16/24 (ip=)"},
	} {
		args, want := tc.args, tc.want
		t.Run(fmt.Sprint("boot ", i+1), func(t *testing.T) {
			res, err := qemu.Run(context.Background(), netMachine(t, args, qemu.Disk{File: cache}), qemu.Watch{
				Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 2 * time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Console, want) {
				t.Errorf("console lacks %q:\n%s", want, res.Console)
			}
		})
	}
}

// TestRescueShellNetwork: a wrong ref, an unreachable registry (once
// mode.fetch.timeout passed) and a corrupted layer each end in the rescue
// shell with the cause.
func TestRescueShellNetwork(t *testing.T) {
	testutil.RequiresRoot(t)
	store, reg := tinyRegistry(t)
	bad := corruptedCopy(t, store)
	for _, tc := range []struct {
		name, args, want string
	}{
		{"wrong ref", "mode.ref=" + reg + "/tiny:nosuch mode.insecure", "MANIFEST_UNKNOWN"},
		{"unreachable registry", "mode.ref=10.0.2.2:9/tiny:extra mode.insecure mode.fetch.timeout=5s", "giving up after "},
		{"corrupted layer", "mode.ref=" + serveStore(t, bad) + "/tiny:extra mode.insecure", "digest mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := qemu.Run(context.Background(), netMachine(t, tc.args), qemu.Watch{
				Expect: "(mode rescue) # ", Fail: []string{"MODE-TINY-"}, Timeout: 2 * time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			line := failedLine(res.Console)
			if !strings.HasPrefix(line, "mode-init: FAILED at fetch: mode.ref=") || !strings.Contains(line, tc.want) {
				t.Errorf("want a FAILED at fetch line with %q; console:\n%s", tc.want, res.Console)
			}
		})
	}
}

// failedLine returns the console's "mode-init: FAILED" line.
func failedLine(console string) string {
	for _, l := range strings.Split(console, "\n") {
		if strings.HasPrefix(l, "mode-init: FAILED") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// corruptedCopy copies the store at dir and flips bytes in the middle of its
// largest blob (the base layer), keeping its size.
func corruptedCopy(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "bad-store")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(dst, "blobs", "sha256", "*"))
	var big string
	var size int64
	for _, b := range blobs {
		if fi, err := os.Stat(b); err == nil && fi.Size() > size {
			big, size = b, fi.Size()
		}
	}
	f, err := os.OpenFile(big, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("corrupted by the test"), size/2); err != nil {
		t.Fatal(err)
	}
	return dst
}
