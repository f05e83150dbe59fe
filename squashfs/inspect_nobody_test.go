package squashfs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
)

// TestInspectHelper is TestInspectWithoutRoot's child: it inspects the image
// named by MODE_INSPECT_IMAGE and prints the entries as JSON.
func TestInspectHelper(t *testing.T) {
	img := os.Getenv("MODE_INSPECT_IMAGE")
	if img == "" {
		return // run only as a child
	}
	entries, err := Inspect(img)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	json.NewEncoder(os.Stdout).Encode(entries)
	os.Exit(0)
}

// TestInspectWithoutRoot inspects a packed RichTree as user nobody.
func TestInspectWithoutRoot(t *testing.T) {
	testutil.RequiresRoot(t) // to build the tree and to switch to nobody
	dir, err := os.MkdirTemp("", "inspect-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	testutil.RichTree(t, src)
	img := filepath.Join(dir, "rich.sqfs")
	if err := Pack(context.Background(), src, img, "zstd"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layers.test")
	copyFile(t, os.Args[0], bin, 0o755)
	cmd := exec.Command(bin, "-test.run=^TestInspectHelper$")
	cmd.Env = append(os.Environ(), "MODE_INSPECT_IMAGE="+img)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("inspect as nobody: %v: %s", err, stderrOf(err))
	}
	var entries []Entry
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := byPath(t, entries)
	if len(entries) != 23 || got["/cap"].Xattrs["security.capability"] != string(testutil.RichCapability) ||
		got["/xattrs"].Xattrs["trusted.mode.test"] != "trusted-value" || got["/setuid"].Perm() != 0o4755 {
		t.Errorf("as nobody: %d entries, /cap %+v, /xattrs %+v, /setuid %+v", len(entries), got["/cap"], got["/xattrs"], got["/setuid"])
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func stderrOf(err error) string {
	if e, ok := err.(*exec.ExitError); ok {
		return string(e.Stderr)
	}
	return ""
}
