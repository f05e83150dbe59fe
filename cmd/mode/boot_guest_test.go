package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

func TestRegistryRef(t *testing.T) {
	for arg, want := range map[string]bool{
		"localhost:5000/tiny:extra": true,
		"10.0.2.2:5000/mode:x":      true,
		"registry.example/a/b:c":    true,
		"localhost/tiny":            true,
		"extra":                     false,
		"console":                   false,
		"out/":                      false,
		"sha256:0123":               false,
	} {
		if got := registryRef(arg); got != want {
			t.Errorf("registryRef(%q) = %v, want %v", arg, got, want)
		}
	}
}

// TestChangesDisk: the changes disk is the next virtio disk, made once.
func TestChangesDisk(t *testing.T) {
	testutil.RequiresTools(t, "mkfs.ext4")
	file := filepath.Join(t.TempDir(), "changes.img")
	m := qemu.Machine{Disks: []qemu.Disk{{File: "layers.img"}}}
	arg, err := changesDisk(context.Background(), &m, file)
	if err != nil {
		t.Fatal(err)
	}
	if arg != "mode.changes=/dev/vdb" || len(m.Disks) != 2 || m.Disks[1].File != file || m.Disks[1].ReadOnly {
		t.Errorf("changesDisk: %q, disks %+v", arg, m.Disks)
	}
	a, b := newPushToken()
	if b != nil || len(a) != 32 {
		t.Errorf("newPushToken: %q, %v", a, b)
	}
}
