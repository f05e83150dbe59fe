package squashfs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSquashCompressionLevel squashes a tree with each compression syntax and
// reads back, with unsquashfs -s, the compressor and level the image holds.
// A bad compression writes nothing.
func TestSquashCompressionLevel(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte(strings.Repeat("mode layers ", 50000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ comp, name, option string }{
		{"", "zstd", "compression-level 9"},
		{"zstd", "zstd", "compression-level 9"},
		{"zstd:3", "zstd", "compression-level 3"},
		{"zstd:19", "zstd", "compression-level 19"},
		{"gzip:6", "gzip", "compression-level 6"},
		{"lz4:hc", "lz4", "High Compression"},
		{"xz", "xz", ""},
	} {
		t.Run(tt.comp, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "l.sqfs")
			if err := Squash(context.Background(), src, img, tt.comp); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("unsquashfs", "-s", img).CombinedOutput()
			if err != nil {
				t.Fatalf("unsquashfs -s: %v: %s", err, out)
			}
			s := string(out)
			if !strings.Contains(s, "Compression "+tt.name+"\n") || !strings.Contains(s, tt.option) {
				t.Errorf("%q squashed an image that says:\n%s\nwant compression %s with %q", tt.comp, s, tt.name, tt.option)
			}
		})
	}
	dir := t.TempDir()
	err := Squash(context.Background(), src, filepath.Join(dir, "l.sqfs"), "zstd:30")
	if err == nil || !strings.Contains(err.Error(), `"zstd:30"`) {
		t.Errorf("zstd:30: error %v, want one naming the value", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("zstd:30 left %d files", len(es))
	}
}
