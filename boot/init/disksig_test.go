package modeinit

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
)

// TestDiskInUse: a blank disk holds nothing; partition tables and file
// systems written by the real tools are found, and looking changes no byte.
func TestDiskInUse(t *testing.T) {
	for _, tc := range []struct {
		name string
		make []string // a command, the disk's path appended; nil: blank
		want string
	}{
		{"blank", nil, ""},
		{"gpt", []string{"sgdisk", "-n", "1:2048:+8M"}, "a GPT partition table"},
		{"mbr", []string{"sh", "-c", `echo 'start=2048, size=8192, type=83' | sfdisk -q "$0"`}, "an MBR partition table"},
		{"ext4", []string{"mke2fs", "-q", "-F", "-t", "ext4"}, "an ext2/ext3/ext4 file system"},
		{"fat", []string{"mkfs.fat"}, "an MBR partition table or boot sector"},
		{"swap", []string{"mkswap"}, "Linux swap"},
		{"btrfs", []string{"mkfs.btrfs", "-q", "-f"}, "a btrfs file system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := int64(16 << 20)
			if tc.name == "btrfs" {
				size = 120 << 20 // mkfs.btrfs wants 109 MiB
			}
			disk := filepath.Join(t.TempDir(), "disk")
			if err := os.WriteFile(disk, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(disk, size); err != nil {
				t.Fatal(err)
			}
			if tc.make != nil {
				testutil.RequiresTools(t, tc.make[0])
				if out, err := exec.Command(tc.make[0], append(tc.make[1:], disk)...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v\n%s", tc.make, err, out)
				}
			}
			before := hashFile(t, disk)
			f, err := os.Open(disk)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := diskInUse(f, size)
			if err != nil || !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("diskInUse = %q, %v; want %q", got, err, tc.want)
			}
			if hashFile(t, disk) != before {
				t.Error("looking changed the disk")
			}
		})
	}
	// Only a backup GPT header, at the last sector.
	tail := bytes.NewReader(append(make([]byte, 1<<20-512), []byte("EFI PART")...))
	if got, _ := diskInUse(tail, 1<<20-512+8); got != "" {
		t.Errorf("8 bytes short of a sector: %q", got)
	}
	disk := append(make([]byte, 1<<20-512), append([]byte("EFI PART"), make([]byte, 504)...)...)
	if got, _ := diskInUse(bytes.NewReader(disk), int64(len(disk))); !strings.Contains(got, "backup GPT") {
		t.Errorf("backup GPT: %q", got)
	}
}

func hashFile(t *testing.T, file string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestInstallParams: mode.install needs mode.ref and excludes mode.from and
// mode.cache; its selector is checked.
func TestInstallParams(t *testing.T) {
	p, err := parseParams("mode.ref=h:5000/tiny:extra mode.install=serial:INSTALL-1,min_size:1000 mode.install.wipe")
	if err != nil || p.install == nil || p.install.Serial != "INSTALL-1" || p.install.MinSize != 1000 || !p.installWipe {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{
		"mode.install=serial:X",
		"mode.ref=h/r:t mode.install=",
		"mode.ref=h/r:t mode.install=vda",
		"mode.ref=h/r:t mode.cache=LABEL=X mode.install=serial:X",
	} {
		if _, err := parseParams(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	u, err := installURL("10.0.2.2:5000/tiny:extra", true, "52:54:00:00:0f:11")
	if want := "http://10.0.2.2:5000/boot/install/disk.img.gz?insecure=1&mac=52%3A54%3A00%3A00%3A0f%3A11&ref=10.0.2.2%3A5000%2Ftiny%3Aextra"; err != nil || u != want {
		t.Errorf("installURL = %q, %v; want %q", u, err, want)
	}
}

// TestWriteDisk: the image is written at the start, the disk's last MiB
// is zeroed (an old backup GPT there is gone), the bytes between kept; a
// short image is an error.
func TestWriteDisk(t *testing.T) {
	disk := filepath.Join(t.TempDir(), "disk")
	old := bytes.Repeat([]byte{0xaa}, 4<<20)
	if err := os.WriteFile(disk, old, 0o644); err != nil {
		t.Fatal(err)
	}
	image := bytes.Repeat([]byte{0x11}, 1<<20)
	if err := writeDisk(disk, bytes.NewReader(image), int64(len(image)), int64(len(old))); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(disk)
	want := append(append(append([]byte{}, image...), old[:2<<20]...), make([]byte, 1<<20)...)
	if !bytes.Equal(got, want) {
		t.Error("the disk is not the image, the old middle and a zeroed last MiB")
	}
	if err := writeDisk(disk, bytes.NewReader(image[:100]), int64(len(image)), int64(len(old))); err == nil || !strings.Contains(err.Error(), "ended after 100") {
		t.Errorf("a short image: %v", err)
	}
}
