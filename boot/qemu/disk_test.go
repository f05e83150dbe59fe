package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAddDisk: the disk is the next virtio disk, writable, made once.
func TestAddDisk(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Fatal("needs mkfs.ext4: install e2fsprogs (make deps)")
	}
	file := filepath.Join(t.TempDir(), "changes.img")
	m := Machine{Disks: []Disk{{File: "layers.img", ReadOnly: true}}}
	dev, err := m.AddDisk(context.Background(), file, 64)
	if err != nil {
		t.Fatal(err)
	}
	if dev != "/dev/vdb" || len(m.Disks) != 2 || m.Disks[1].File != file || m.Disks[1].ReadOnly {
		t.Errorf("AddDisk: %q, disks %+v", dev, m.Disks)
	}
	os.WriteFile(file, []byte("kept"), 0o644) // there now: not made again
	if dev, err := m.AddDisk(context.Background(), file, 64); err != nil || dev != "/dev/vdc" {
		t.Fatalf("again: %q, %v", dev, err)
	}
	if b, _ := os.ReadFile(file); string(b) != "kept" {
		t.Error("an existing disk was made again")
	}
}
