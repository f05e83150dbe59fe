package media_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/mode-build/mode/boot/media"
)

// TestDiskSameBytes: the same chain and inputs give the same disk image,
// byte for byte, as they give the same ISO (TestBootISO).
func TestDiskSameBytes(t *testing.T) {
	im := tinyImage(t, "")
	dir := t.TempDir()
	var imgs [][]byte
	for _, name := range []string{"a.img", "b.img"} {
		f := filepath.Join(dir, name)
		if err := media.Write(context.Background(), "disk", im, f); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, data)
	}
	if a, b := imgs[0], imgs[1]; !bytes.Equal(a, b) {
		var at []string
		for i := 0; i < len(a) && i < len(b) && len(at) < 20; i++ {
			if a[i] != b[i] {
				at = append(at, fmt.Sprintf("%#x", i))
			}
		}
		t.Errorf("the same chain and inputs gave two different disks (%d and %d bytes), first differing offsets: %v", len(a), len(b), at)
	}
	// The times set after mke2fs leave a consistent file system.
	img := filepath.Join(dir, "a.img")
	d, err := diskfs.Open(img, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := d.GetPartitionTable()
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	table, ok := pt.(*gpt.Table)
	if !ok || len(table.Partitions) < 3 {
		t.Fatalf("partition table %T, want GPT with 3 partitions", pt)
	}
	data := fmt.Sprintf("%s?offset=%d", img, int64(table.Partitions[2].Start)*512)
	if out, err := exec.Command("e2fsck", "-fn", data).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn %s: %v\n%s", data, err, out)
	}
	out, err := exec.Command("debugfs", "-R", "stat /mode", data).CombinedOutput()
	if want := fmt.Sprintf("mtime: %#x:", im.Epoch().Unix()); err != nil || !bytes.Contains(out, []byte(want)) {
		t.Errorf("debugfs stat /mode: %v, want %q:\n%s", err, want, out)
	}
}
