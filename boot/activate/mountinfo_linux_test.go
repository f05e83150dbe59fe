package activate

import (
	"strings"
	"testing"

	"github.com/mode-build/mode/mount"
)

// TestMountTableChecks reads a booted system's mount table as data: the root
// overlay, which directory overlays are ours, what is mounted below a
// directory, and whether the booted layers sit on dm-verity devices.
func TestMountTableChecks(t *testing.T) {
	table := []mount.Entry{
		{Point: "/", FSType: "overlay", Super: map[string]string{"lowerdir": `/run/mode/layers/b\:x:/run/mode/layers/a`, "upperdir": "/run/mode/changes", "workdir": "/run/mode/.work"}},
		{Point: "/run/mode/layers/a", FSType: "squashfs", Source: "/dev/loop0"},
		{Point: "/etc", FSType: "overlay", Super: map[string]string{"upperdir": "/run/mode/changes/etc"}},
		{Point: "/var/lib/x", FSType: "tmpfs"},
	}
	root, err := findRoot(table, "/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(root.Lowers, "|") != "/run/mode/layers/b:x|/run/mode/layers/a" || root.Upper != "/run/mode/changes" {
		t.Errorf("root %+v", root)
	}
	if !ours(table, root, "/etc") || ours(table, root, "/var/lib/x") {
		t.Error("ours: /etc is a directory overlay, /var/lib/x not")
	}
	if got := mountsUnder(table, "/var"); strings.Join(got, " ") != "/var/lib/x" {
		t.Errorf("under /var: %v", got)
	}
	if dev := verityMounted(table, "/run/mode"); dev != "" {
		t.Errorf("verity: %q with loop devices only", dev)
	}
	table[1].Source = "/dev/mapper/mode-layer-0"
	if dev := verityMounted(table, "/run/mode"); dev != "/dev/mapper/mode-layer-0" {
		t.Errorf("verity: %q", dev)
	}
	if _, err := findRoot([]mount.Entry{{Point: "/", FSType: "ext4"}}, "/"); err == nil || !strings.Contains(err.Error(), "not a system booted by mode") {
		t.Errorf("ext4 root: %v", err)
	}
}
