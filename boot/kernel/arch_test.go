package kernel

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArch: an x86 bzImage, an arm64 Image plain and gzipped, and
// something else.
func TestArch(t *testing.T) {
	dir := t.TempDir()
	x86 := make([]byte, 0x300)
	copy(x86[0x202:], "HdrS")
	arm := make([]byte, 0x100)
	copy(arm[0x38:], "ARM\x64")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(arm)
	zw.Close()
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{{"bzImage", x86, "amd64"}, {"Image", arm, "arm64"}, {"Image.gz", gz.Bytes(), "arm64"}} {
		p := filepath.Join(dir, tt.name)
		os.WriteFile(p, tt.data, 0o644)
		if got, err := Arch(p); err != nil || got != tt.want {
			t.Errorf("Arch(%s) = %q, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	p := filepath.Join(dir, "text")
	os.WriteFile(p, []byte("not a kernel"), 0o644)
	if _, err := Arch(p); err == nil || !strings.Contains(err.Error(), p+": not an x86 bzImage nor an arm64 Image") {
		t.Errorf("Arch(text) = %v", err)
	}
}
