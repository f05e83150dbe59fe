package verity

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestAppendMatchesVeritysetup checks the tree and root hash against
// veritysetup format (Debian's cryptsetup-bin, make deps) for sizes around
// the level boundaries: one level, two, three; a file not of whole blocks.
func TestAppendMatchesVeritysetup(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: compares with veritysetup (TestBuildGolden checks recorded root hashes)")
	}
	vs, err := exec.LookPath("veritysetup")
	if err != nil {
		t.Fatal("this test compares with veritysetup: install cryptsetup-bin (make deps)")
	}
	sizes := []int64{1, 5000, 2 * BlockSize, 128 * BlockSize, 129 * BlockSize, 300*BlockSize + 17, (128*128 + 1) * BlockSize}
	for _, size := range sizes {
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "layer.sqfs")
			data := make([]byte, size)
			rand.Read(data[:min(size, 1<<20)]) // the rest stays zero
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			p, digest, n, err := AppendDigest(file)
			if err != nil {
				t.Fatal(err)
			}
			if p.HashOffset < size || p.HashOffset%BlockSize != 0 || p.DataBlocks < 2 {
				t.Fatalf("params %+v for %d bytes", p, size)
			}
			all, _ := os.ReadFile(file)
			if !bytes.Equal(all[:size], data) || int64(len(all)) != p.HashOffset+TreeSize(p.DataBlocks) {
				t.Fatalf("the data changed or the file is %d bytes", len(all))
			}
			if sum := sha256.Sum256(all); digest != "sha256:"+hex.EncodeToString(sum[:]) || n != int64(len(all)) {
				t.Errorf("AppendDigest said %s, %d bytes; the file is %x, %d bytes", digest, n, sum, len(all))
			}
			raw, hash := filepath.Join(dir, "raw"), filepath.Join(dir, "hash")
			os.WriteFile(raw, all[:p.HashOffset], 0o644)
			out, err := exec.Command(vs, "format", "--no-superblock", "--hash=sha256", "--data-block-size=4096",
				"--hash-block-size=4096", "--salt="+p.Salt, raw, hash).CombinedOutput()
			if err != nil {
				t.Fatalf("veritysetup: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`Root hash:\s+([0-9a-f]{64})`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no root hash in\n%s", out)
			}
			if string(m[1]) != p.RootHash {
				t.Errorf("root hash %s, veritysetup %s", p.RootHash, m[1])
			}
			want, _ := os.ReadFile(hash)
			if !bytes.Equal(all[p.HashOffset:], want) {
				t.Errorf("tree of %d bytes differs from veritysetup's %d", len(all)-int(p.HashOffset), len(want))
			}
			if err := Check(p, file); err != nil {
				t.Error(err)
			}
			// One changed data byte: the root hash no longer matches.
			f, _ := os.OpenFile(file, os.O_RDWR, 0)
			f.WriteAt([]byte{all[size/2] ^ 0xff}, size/2)
			f.Close()
			if err := Check(p, file); err == nil || !strings.Contains(err.Error(), "the data changed") {
				t.Errorf("changed data: %v", err)
			}
		})
	}
}

func TestTable(t *testing.T) {
	p := &Params{Algorithm: "sha256", BlockSize: 4096, DataBlocks: 10, HashOffset: 40960,
		Salt: strings.Repeat("ab", 32), RootHash: strings.Repeat("cd", 32)}
	n, params, err := Table(p, "/dev/loop3")
	if err != nil {
		t.Fatal(err)
	}
	want := "1 /dev/loop3 /dev/loop3 4096 4096 10 10 sha256 " + p.RootHash + " " + p.Salt
	if n != 80 || params != want {
		t.Errorf("Table: %d %q, want 80 %q", n, params, want)
	}
	for _, bad := range []Params{
		{Algorithm: "md5", BlockSize: 4096, DataBlocks: 10, HashOffset: 40960, Salt: p.Salt, RootHash: p.RootHash},
		{Algorithm: "sha256", BlockSize: 4096, DataBlocks: 10, HashOffset: 4096, Salt: p.Salt, RootHash: p.RootHash},
		{Algorithm: "sha256", BlockSize: 4096, DataBlocks: 10, HashOffset: 40960, Salt: "zz", RootHash: p.RootHash},
		{Algorithm: "sha256", BlockSize: 4096, DataBlocks: 10, HashOffset: 40960, Salt: p.Salt, RootHash: p.RootHash + " x"},
	} {
		if _, s, err := Table(&bad, "/dev/loop3"); err == nil {
			t.Errorf("%+v gave table %q", bad, s)
		}
	}
}

// TestBuildGolden checks Build's root hash against veritysetup's for fixed
// data (recorded from `veritysetup format --no-superblock --salt=…`, cryptsetup
// 2.6.1): the tree format without the tool, for make test-unit.
func TestBuildGolden(t *testing.T) {
	salt := []byte(strings.Repeat("mode", 8))
	for _, tc := range []struct {
		blocks int
		root   string
	}{
		{2, "3bee45afee5fa71b70012ea992dd2081e7222b707177f2fda752880ba14f2076"},
		{129, "ed32db3e359db14051cfd909567d9bba1c3b807a995802c01fa3661e932a12e7"},
		{300, "2204e857fcade2e60219fd4450eb5074a2202bd4478bbbf592f1bc005f16e74f"},
	} {
		data := make([]byte, tc.blocks*BlockSize)
		for i := range data {
			data[i] = byte((i*7 + i/4096) % 251)
		}
		tree, root, err := Build(bytes.NewReader(data), uint64(tc.blocks), salt)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(root); got != tc.root {
			t.Errorf("%d blocks: root hash %s, veritysetup's %s", tc.blocks, got, tc.root)
		}
		if int64(len(tree)) != TreeSize(uint64(tc.blocks)) {
			t.Errorf("%d blocks: tree of %d bytes, TreeSize says %d", tc.blocks, len(tree), TreeSize(uint64(tc.blocks)))
		}
	}
}
