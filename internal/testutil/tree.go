package testutil

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// RichTree owner and sizes, for tests that check what a tool kept.
const (
	RichUID        = 1234
	RichGID        = 5678
	RichSparseSize = 64 << 20
)

// RichCapability is the security.capability value RichTree puts on "cap":
// a VFS_CAP_REVISION_2 record with cap_net_bind_service permitted and effective,
// the bytes `setcap cap_net_bind_service+ep` writes.
var RichCapability = func() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|1) // revision 2, effective
	binary.LittleEndian.PutUint32(b[4:], 1<<10)        // permitted: cap_net_bind_service
	return b
}()

// RichTree fills dir (which must exist) with one of every kind of entry a layer
// can hold, and fails the test on any error. It needs root (RequiresRoot). Paths:
//
//	file            0644 "hello\n", owned RichUID:RichGID
//	setuid          04755 executable      setgid  02755 executable
//	sticky/         01777 dir, holding sticky/inside
//	zero            mode 0000 file
//	xattrs          user.mode.test=user-value, trusted.mode.test=trusted-value
//	cap             0755, security.capability = RichCapability
//	hard/a hard/b   one inode, two names
//	dev/null        char device 1:3 (0666)     dev/loop200  block device 7:200 (0660)
//	fifo            named pipe (0600)
//	link            symlink -> file, owned RichUID:RichGID
//	dangling        symlink -> no/such/target
//	sparse          RichSparseSize bytes, data only in its last 4 KiB
//	empty/          empty dir 0700
//	owned/          dir 0750 owned RichUID:RichGID, holding owned/deep/deeper.txt
func RichTree(t testing.TB, dir string) {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("RichTree %s: %v", what, err)
		}
	}
	p := func(rel string) string { return filepath.Join(dir, rel) }
	file := func(rel, content string, mode os.FileMode, uid, gid int) {
		t.Helper()
		must(rel, os.MkdirAll(filepath.Dir(p(rel)), 0o755))
		must(rel, os.WriteFile(p(rel), []byte(content), 0o600))
		must(rel, os.Lchown(p(rel), uid, gid)) // before chmod: chown clears setuid
		must(rel, os.Chmod(p(rel), mode))
	}
	mkdir := func(rel string, mode os.FileMode, uid, gid int) {
		t.Helper()
		must(rel, os.MkdirAll(p(rel), 0o755))
		must(rel, os.Lchown(p(rel), uid, gid))
		must(rel, os.Chmod(p(rel), mode))
	}
	node := func(rel string, typ uint32, mode os.FileMode, major, minor uint32) {
		t.Helper()
		must(rel, os.MkdirAll(filepath.Dir(p(rel)), 0o755))
		must(rel, unix.Mknod(p(rel), typ|0o600, int(unix.Mkdev(major, minor))))
		must(rel, os.Chmod(p(rel), mode))
	}
	xattr := func(rel, name string, value []byte) {
		t.Helper()
		must(rel+" "+name, unix.Lsetxattr(p(rel), name, value, 0))
	}

	must("chmod root", os.Chmod(dir, 0o755))
	file("file", "hello\n", 0o644, RichUID, RichGID)
	file("setuid", "#!/bin/sh\necho setuid\n", 0o755|os.ModeSetuid, 0, 0)
	file("setgid", "#!/bin/sh\necho setgid\n", 0o755|os.ModeSetgid, 0, 0)
	mkdir("sticky", 0o777|os.ModeSticky, 0, 0)
	file("sticky/inside", "in a sticky dir\n", 0o666, 0, 0)
	file("zero", "nobody may read this\n", 0, 0, 0)
	file("xattrs", "has xattrs\n", 0o644, 0, 0)
	xattr("xattrs", "user.mode.test", []byte("user-value"))
	xattr("xattrs", "trusted.mode.test", []byte("trusted-value"))
	file("cap", "#!/bin/sh\necho capable\n", 0o755, 0, 0)
	xattr("cap", "security.capability", RichCapability) // after chown: chown drops it
	file("hard/a", "two names, one inode\n", 0o640, 0, RichGID)
	must("hard/b", os.Link(p("hard/a"), p("hard/b")))
	node("dev/null", unix.S_IFCHR, 0o666, 1, 3)
	node("dev/loop200", unix.S_IFBLK, 0o660, 7, 200)
	node("fifo", unix.S_IFIFO, 0o600, 0, 0)
	must("link", os.Symlink("file", p("link")))
	must("link", os.Lchown(p("link"), RichUID, RichGID))
	must("dangling", os.Symlink("no/such/target", p("dangling")))
	sparse(t, p("sparse"))
	mkdir("empty", 0o700, 0, 0)
	mkdir("owned", 0o750, RichUID, RichGID)
	file("owned/deep/deeper.txt", "deep\n", 0o644, RichUID, RichGID)
}

// sparse writes a RichSparseSize file whose only data is its last 4 KiB.
func sparse(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("RichTree sparse: %v", err)
	}
	defer f.Close()
	tail := make([]byte, 4096)
	for i := range tail {
		tail[i] = byte(i%251) + 1
	}
	if _, err := f.WriteAt(tail, RichSparseSize-int64(len(tail))); err != nil {
		t.Fatalf("RichTree sparse: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("RichTree sparse: %v", err)
	}
}
