package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
)

// blobsVerify fails unless every blob of s holds the bytes of its name.
func blobsVerify(t *testing.T, s *store.Store) {
	t.Helper()
	dir := filepath.Join(s.Dir(), "blobs", "sha256")
	es, err := os.ReadDir(dir)
	if err != nil || len(es) == 0 {
		t.Fatalf("store blobs: %d, %v", len(es), err)
	}
	for _, e := range es {
		if d, _, err := store.FileDigest(filepath.Join(dir, e.Name()), digest.SHA256); err != nil || d.Encoded() != e.Name() {
			t.Errorf("blob %s holds %s, %v", e.Name(), d, err)
		}
	}
}

// TestBuildLinksIntoStore: mode build adds each layer to the store as a hard
// link of its output file, not a copy; a forced rebuild replaces the output
// files (renames), and the store's blobs keep their bytes.
func TestBuildLinksIntoStore(t *testing.T) {
	testutil.RequiresRoot(t)
	out, dir := t.TempDir(), t.TempDir()
	build := func(args ...string) {
		t.Helper()
		if b, err := modeCmd(append([]string{"-q", "build", "--dir", "../../examples/tiny", "--out", out, "--store", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("build %v: %v\n%s", args, err, b)
		}
	}
	build()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := s.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Layers {
		a, _ := os.Stat(filepath.Join(out, l.File))
		b, err := os.Stat(s.BlobPath(digest.Digest(l.Digest)))
		if err != nil || a == nil || !os.SameFile(a, b) {
			t.Errorf("%s: the output file and the store's blob are not one inode (%v)", l.File, err)
		}
		if a != nil && a.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", l.File, a.Mode().Perm())
		}
	}
	build("--force", "console")
	blobsVerify(t, s)
}

// fsyncCall is one fsync or fdatasync in strace -y output: the path of its fd.
var fsyncCall = regexp.MustCompile(`\b(?:fsync|fdatasync)\(\d+<([^>]*)>`)

// wide is a sync or syncfs call, which would flush more than the pull's files.
var wide = regexp.MustCompile(`(?m)(^|\s)(sync|syncfs)\(`)

// TestPullFsyncs: a pull fsyncs each blob once (layers, config, manifest),
// the blobs' directory once, index.json once, and nothing more; no out file
// on top. Counted by strace on the real command.
func TestPullFsyncs(t *testing.T) {
	testutil.RequiresTools(t, "strace")
	src, _ := registrytest.Store(t, []string{"base", "mid", "top"}, 1<<20)
	ref := registrytest.Serve(t, src) + "/" + registrytest.Repo + ":top"
	for _, out := range []bool{false, true} {
		dir := t.TempDir()
		if _, err := store.Open(dir); err != nil { // an existing store: Open writes nothing
			t.Fatal(err)
		}
		args := []string{"-q", "pull", "--insecure", "--store", dir}
		if out {
			args = append(args, "--out", filepath.Join(dir, "out"))
		}
		log := filepath.Join(t.TempDir(), "strace")
		cmd := exec.Command("strace", append([]string{"-f", "-y", "-e", "trace=fsync,fdatasync,sync,syncfs", "-o", log,
			os.Args[0], "-test.run=^$", "--"}, append(args, ref)...)...)
		cmd.Env = append(os.Environ(), "MODE_TEST_MAIN=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pull (out %v): %v\n%s", out, err, b)
		}
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if wide.Match(b) {
			t.Errorf("pull (out %v) called sync or syncfs:\n%s", out, b)
		}
		seen := map[string]int{}
		var paths []string
		for _, m := range fsyncCall.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]]++
			paths = append(paths, m[1])
		}
		blobDir := filepath.Join(dir, "blobs", "sha256")
		var dirs, files int
		for p, n := range seen {
			if n != 1 {
				t.Errorf("pull (out %v) fsynced %s %d times", out, p, n)
			}
			switch {
			case p == blobDir:
				dirs++
			case strings.HasPrefix(p, filepath.Join(dir, ".tmp")+"/"):
				files++ // a blob or index.json, before its rename
			default:
				t.Errorf("pull (out %v) fsynced %s", out, p)
			}
		}
		// Three layers, the config, the manifest, index.json; the blobs' directory.
		t.Logf("pull (out %v) fsynced:\n%s", out, strings.Join(paths, "\n"))
		if files != 6 || dirs != 1 {
			t.Errorf("pull (out %v): %d fsyncs of files and %d of the blobs' directory, want 6 and 1:\n%s",
				out, files, dirs, strings.Join(paths, "\n"))
		}
		s, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		blobsVerify(t, s)
	}
}
