package media

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
)

func fakeImage(t *testing.T) *Image {
	t.Helper()
	dir := t.TempDir()
	im := &Image{Chain: "extra", Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img")}
	for _, f := range []string{im.Kernel, im.Initrd, filepath.Join(dir, "base.sqfs")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	im.Layers = []Layer{{Path: filepath.Join(dir, "base.sqfs"), Meta: layers.Meta{File: "base.sqfs", Digest: "sha256:00"}}}
	return im
}

// TestWriteRefuses: an unknown format, a missing output directory or a
// missing kernel is an error naming it, and writes nothing.
func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	im := fakeImage(t)
	if err := Write(context.Background(), "floppy", im, filepath.Join(dir, "x")); !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), `"floppy"`) {
		t.Errorf("unknown format: %v", err)
	}
	if err := Write(context.Background(), "iso", im, "/nonexistent/x.iso"); err == nil || !strings.Contains(err.Error(), "directory /nonexistent does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	im.Kernel = ""
	if err := Write(context.Background(), "disk", im, filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "no kernel") {
		t.Errorf("no kernel: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestGrubConfig: the default entry boots after a short timeout, on the
// screen and the first serial port (the serial console last: /dev/console),
// finding the layers by label; to-RAM and debug entries follow.
func TestGrubConfig(t *testing.T) {
	cfg := grubConfig("extra", "mode.from=LABEL=MODE_X:/mode", "quiet")
	for _, want := range []string{
		"set default=0\nset timeout=2\n",
		"terminal_output console serial",
		"menuentry 'mode: extra' {\n\tlinux /boot/vmlinuz console=tty0 console=ttyS0,115200 mode.from=LABEL=MODE_X:/mode quiet\n\tinitrd /boot/initrd.img\n}",
		"menuentry 'mode: extra (to RAM)'", "mode.toram\n", "menuentry 'mode: extra (debug shell)'",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("grub.cfg lacks %q:\n%s", want, cfg)
		}
	}
}

// TestLabel: the label is a valid ISO 9660 volume ID and ext4 label, the
// same for the same layers, another for other layers or another format.
func TestLabel(t *testing.T) {
	im := fakeImage(t)
	l := im.Label("iso")
	if len(l) > 16 || strings.Trim(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		t.Errorf("label %q", l)
	}
	if im.Label("iso") != l || im.Label("disk") == l {
		t.Errorf("labels: %s %s %s", l, im.Label("iso"), im.Label("disk"))
	}
	im.Layers[0].Meta.Digest = "sha256:01"
	if im.Label("iso") == l {
		t.Error("other layers, same label")
	}
}
