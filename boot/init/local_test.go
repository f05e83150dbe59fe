package modeinit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
)

func writeLayers(t *testing.T, dir string, files []string, withMeta bool) {
	t.Helper()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		if !withMeta {
			continue
		}
		stem := strings.TrimSuffix(f, ".sqfs")
		chain := strings.Split(stem, "-")
		m := layers.Meta{Name: chain[len(chain)-1], Chain: chain, File: f}
		b, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, stem+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalChain(t *testing.T) {
	tiny := []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs", "base-essential-console-extra.sqfs", "base-other.sqfs"}
	for _, meta := range []bool{true, false} {
		dir := t.TempDir()
		writeLayers(t, dir, tiny, meta)
		for _, tc := range []struct {
			want  string
			files []string
			err   string
		}{
			{"", []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs", "base-essential-console-extra.sqfs"}, ""},
			{"console", []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs"}, ""},
			{"base-essential", []string{"base.sqfs", "base-essential.sqfs"}, ""},
			{"base-other.sqfs", []string{"base.sqfs", "base-other.sqfs"}, ""},
			{"base", []string{"base.sqfs"}, ""},
			{"nosuch", nil, `chain "nosuch": 0 layers match`},
		} {
			t.Run(tc.want, func(t *testing.T) {
				metas, err := localChain(dir, tc.want)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want one with %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, m := range metas {
					got = append(got, m.File)
					if m.Size != int64(len(m.File)) {
						t.Errorf("%s: size %d", m.File, m.Size)
					}
				}
				if strings.Join(got, " ") != strings.Join(tc.files, " ") {
					t.Errorf("meta %v: got %v, want %v", meta, got, tc.files)
				}
			})
		}
	}
}

func TestLocalChainMissingLayer(t *testing.T) {
	dir := t.TempDir()
	writeLayers(t, dir, []string{"base.sqfs", "base-essential-console.sqfs"}, true)
	if _, err := localChain(dir, "console"); err == nil || !strings.Contains(err.Error(), "layer base-essential.sqfs of chain base-essential-console.sqfs is missing") {
		t.Fatalf("error %v", err)
	}
	if _, err := localChain(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "no .sqfs layers") {
		t.Fatalf("error %v", err)
	}
}

func TestCheckInit(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.MkdirAll(filepath.Join(root, "sbin"), 0o755)
	os.WriteFile(filepath.Join(root, "bin/busybox"), nil, 0o755)
	os.WriteFile(filepath.Join(root, "bin/data"), nil, 0o644)
	os.Symlink("/bin/busybox", filepath.Join(root, "sbin/init")) // absolute: inside root
	os.Symlink("../bin/busybox", filepath.Join(root, "sbin/rel"))
	os.Symlink("/nosuch", filepath.Join(root, "sbin/dangling"))
	for _, tc := range []struct{ init, err string }{
		{"/sbin/init", ""},
		{"/sbin/rel", ""},
		{"/bin/busybox", ""},
		{"/sbin/dangling", "not in the chain"},
		{"/bin/data", "not an executable file"},
		{"/bin", "not an executable file"},
	} {
		t.Run(tc.init, func(t *testing.T) {
			err := checkInit(root, tc.init)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("checkInit(%s) = %v, want %q", tc.init, err, tc.err)
			}
		})
	}
}

// TestVerifyLocal: a local layer whose bytes differ from its metadata's
// digest is refused, naming the file; an intact one passes.
func TestVerifyLocal(t *testing.T) {
	dir := t.TempDir()
	data := []byte("pretend squashfs")
	os.WriteFile(filepath.Join(dir, "base.sqfs"), data, 0o644)
	sum := sha256.Sum256(data)
	good := []layers.Meta{{File: "base.sqfs", Digest: "sha256:" + hex.EncodeToString(sum[:])}}
	if err := verifyLocal(dir, good); err != nil {
		t.Fatalf("intact layer: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "base.sqfs"), []byte("tampered squashfs"), 0o644)
	if err := verifyLocal(dir, good); err == nil || !strings.Contains(err.Error(), "layer base.sqfs: digest") {
		t.Fatalf("tampered layer: err = %v", err)
	}
}
