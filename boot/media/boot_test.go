package media_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// These tests build examples/tiny (root), write it as every kind of medium
// with Debian's cloud kernel and mode's initramfs, and boot each through the
// firmware in QEMU (TCG): SeaBIOS and OVMF, as a CD-ROM and as a disk.

// tinyImage builds examples/tiny into a store and returns its chain extra as
// an Image with the cloud kernel and mode's initramfs.
func tinyImage(t *testing.T, appendArgs string) *media.Image {
	im, _ := tinyStore(t, appendArgs)
	return im
}

// tinyStore is tinyImage, and the store it is in.
func tinyStore(t *testing.T, appendArgs string) (*media.Image, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots QEMU (root, TCG): not with -short")
	}
	testutil.RequiresQEMU(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	s, err := store.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := media.FromStore(s, "extra")
	if err != nil {
		t.Fatal(err)
	}
	im.Kernel, im.Initrd, im.Append = testutil.Kernel(t).Vmlinuz, testutil.Initramfs(t), appendArgs
	return im, storeDir
}

// script is a raw disk holding a shell script for tiny.run=/dev/vda (tiny's
// rcS runs it after its own check): the text padded with zeros.
func script(t *testing.T, text string) qemu.Disk {
	t.Helper()
	data := []byte(strings.TrimSpace(text) + "\nexit 0\n")
	data = append(data, make([]byte, 4096-len(data)%4096)...)
	f := filepath.Join(t.TempDir(), "script.img")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return qemu.Disk{File: f, ReadOnly: true}
}

// boot runs m until expect ends a line, and checks the console has every
// text of want.
func boot(t *testing.T, m qemu.Machine, expect string, want ...string) string {
	t.Helper()
	m.MemoryMiB = 512
	return bootWithin(t, m, 4*time.Minute, expect, want...)
}

// bootDebian is boot with the memory and the time a Debian system needs.
func bootDebian(t *testing.T, m qemu.Machine, expect string, want ...string) string {
	t.Helper()
	return bootWithin(t, m, 10*time.Minute, expect, want...)
}

func bootWithin(t *testing.T, m qemu.Machine, timeout time.Duration, expect string, want ...string) string {
	t.Helper()
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: expect, Line: true, Timeout: timeout,
		Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL", "MEDIA-FAIL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(res.Console, w) {
			t.Errorf("console lacks %q:\n%s", w, res.Console)
		}
	}
	t.Logf("%s after %.1fs", expect, res.Elapsed.Seconds())
	return res.Console
}

// mediumCheck says whether the medium is still mounted after the boot.
const mediumCheck = `
if grep -q " /run/mode/mnt/" /proc/mounts; then echo "medium: mounted"; else echo "medium: released"; fi
echo MEDIA-DONE`

// TestBootInitramfsImage: one initramfs carrying the layers boots with
// nothing but -kernel and -initrd: no disk, no network.
func TestBootInitramfsImage(t *testing.T) {
	testutil.RequiresRoot(t)
	im := tinyImage(t, "")
	file := filepath.Join(t.TempDir(), "tiny.initrd")
	if err := media.Write(context.Background(), "initramfs", im, file); err != nil {
		t.Fatal(err)
	}
	m := qemu.Machine{Kernel: im.Kernel, Initrd: file}
	console := boot(t, m, "MODE-TINY-OK", "found 4 layers of base-essential-console-extra", "in /mode/layers, digests verified")
	if strings.Contains(console, "eth0") {
		t.Errorf("a network device came up:\n%s", console)
	}
}

// TestBootISO writes the hybrid ISO twice (the same bytes), checks its El
// Torito catalog with xorriso, and boots it as a CD-ROM and as a disk (a USB
// stick, as the firmware sees one: the cloud kernel has no USB drivers),
// under BIOS and UEFI. The UEFI boots use an ISO made with mode.toram: the
// layers are copied to RAM and the medium is released.
func TestBootISO(t *testing.T) {
	testutil.RequiresRoot(t)
	im := tinyImage(t, "tiny.run=/dev/vda")
	dir := t.TempDir()
	iso, again := filepath.Join(dir, "tiny.iso"), filepath.Join(dir, "again.iso")
	for _, f := range []string{iso, again} {
		if err := media.Write(context.Background(), "iso", im, f); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(iso)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("the same chain and inputs gave two different ISOs")
	}
	out, err := exec.Command("xorriso", "-indev", iso, "-report_el_torito", "plain").CombinedOutput()
	if err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	for _, want := range []string{"Volume id    : '" + im.Label("iso") + "'", "grub2-mbr", "GPT",
		"El Torito boot img :   1  BIOS  y   none", "El Torito boot img :   2  UEFI  y   none"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("xorriso -report_el_torito lacks %q:\n%s", want, out)
		}
	}
	toram := *im
	toram.Append += " mode.toram"
	isoRAM := filepath.Join(dir, "toram.iso")
	if err := media.Write(context.Background(), "iso", &toram, isoRAM); err != nil {
		t.Fatal(err)
	}
	found := "found 4 layers of base-essential-console-extra, " // layers and their verity trees: about 3 MiB
	check := script(t, mediumCheck)
	for _, tc := range []struct {
		name, file, as string
		uefi           bool
		want           []string
	}{
		{"CD BIOS", iso, "cdrom", false, []string{"in LABEL=" + im.Label("iso") + ":/mode", "medium: mounted"}},
		{"disk BIOS", iso, "disk", false, []string{"medium: mounted"}},
		{"CD UEFI toram", isoRAM, "cdrom", true, []string{"copied 4 layers", "medium: released"}},
		{"disk UEFI toram", isoRAM, "disk", true, []string{"copied 4 layers", "medium: released"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := qemu.Machine{Medium: &qemu.Medium{File: tc.file, As: tc.as}, UEFI: tc.uefi, Disks: []qemu.Disk{check}}
			boot(t, m, "MEDIA-DONE", append(tc.want, found, "MODE-TINY-OK", "GNU GRUB")...)
		})
	}
}

// TestBootDisk writes the raw disk image, checks it with sgdisk -v,
// fsck.fat -n (the ESP) and e2fsck -n (the data partition), and boots it
// three times: under BIOS a file is written (into the changes on the disk);
// under UEFI it is still there, another file is written and mode save puts
// the changes as a layer onto the medium (/run/mode/medium); under BIOS again
// the init stacks that layer.
func TestBootDisk(t *testing.T) {
	testutil.RequiresRoot(t)
	im := tinyImage(t, "tiny.run=/dev/vda")
	img := filepath.Join(t.TempDir(), "tiny.img")
	if err := media.Write(context.Background(), "disk", im, img); err != nil {
		t.Fatal(err)
	}
	checkDisk(t, img)
	label := im.Label("disk")
	for _, tc := range []struct {
		name   string
		uefi   bool
		script string
		want   []string
	}{
		{"first boot writes", false, `
echo kept > /root/persist.txt && sync && echo MEDIA-DONE`,
			[]string{"found 4 layers", "in LABEL=" + label + ":/mode", "changes on /dev/sda3:mode/changes/", " (new) in "}},
		{"second boot sees it and saves", true, `
grep -qx kept /root/persist.txt || echo MEDIA-FAIL: the change of the first boot is gone
echo saved > /root/saved.txt
/run/mode/bin/mode save mine --out /run/mode/medium || echo MEDIA-FAIL: mode save
sync && echo MEDIA-DONE`,
			[]string{"(kept from an earlier boot)", "saved /run/mode/medium/base-essential-console-extra-mine.sqfs sha256:"}},
		{"third boot stacks the saved layer", false, `
grep -qx saved /root/saved.txt || echo MEDIA-FAIL: the saved layer is not stacked
grep -q base-essential-console-extra-mine.sqfs /run/mode/chain.json || echo MEDIA-FAIL: chain.json
echo MEDIA-DONE`,
			[]string{"found 5 layers of base-essential-console-extra-mine"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := qemu.Machine{Medium: &qemu.Medium{File: img, As: "disk", Writable: true}, UEFI: tc.uefi, Disks: []qemu.Disk{script(t, tc.script)}}
			boot(t, m, "MEDIA-DONE", append(tc.want, "MODE-TINY-OK")...)
		})
	}
}

// checkDisk runs sgdisk -v on the image, fsck.fat -n on its ESP and
// e2fsck -fn on its data partition.
func checkDisk(t *testing.T, img string) {
	t.Helper()
	out, err := exec.Command("sgdisk", "-v", img).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("No problems found")) {
		t.Errorf("sgdisk -v: %v\n%s", err, out)
	}
	for _, p := range []struct {
		part  int
		check []string
	}{{2, []string{"fsck.fat", "-n"}}, {3, []string{"e2fsck", "-fn"}}} {
		start, size := partition(t, img, p.part)
		f := filepath.Join(t.TempDir(), "part.img")
		dd := exec.Command("dd", "if="+img, "of="+f, "bs=512", "skip="+start, "count="+size, "conv=sparse", "status=none")
		if out, err := dd.CombinedOutput(); err != nil {
			t.Fatalf("dd: %v\n%s", err, out)
		}
		if out, err := exec.Command(p.check[0], append(p.check[1:], f)...).CombinedOutput(); err != nil {
			t.Errorf("%s on partition %d: %v\n%s", strings.Join(p.check, " "), p.part, err, out)
		}
	}
}

// partition returns the first sector and the sector count of partition n of
// img, as sgdisk reads them.
func partition(t *testing.T, img string, n int) (start, size string) {
	t.Helper()
	out, err := exec.Command("sgdisk", "-i", strings.TrimSpace(string(rune('0'+n))), img).CombinedOutput()
	if err != nil {
		t.Fatalf("sgdisk -i %d: %v\n%s", n, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "First sector:") && len(f) > 2:
			start = f[2]
		case strings.HasPrefix(l, "Partition size:") && len(f) > 2:
			size = f[2]
		}
	}
	if start == "" || size == "" {
		t.Fatalf("sgdisk -i %d: no first sector or size:\n%s", n, out)
	}
	return start, size
}

// TestBootPXE lays out a TFTP root with media.WritePXE and boots tiny from
// it: QEMU's user network serves the directory by TFTP and names boot.ipxe
// as the boot file (what the dnsmasq snippet gives an iPXE client: QEMU's NIC
// ROM is iPXE, under SeaBIOS and OVMF), which chains into the netboot script
// of the store's server.
func TestBootPXE(t *testing.T) {
	testutil.RequiresRoot(t)
	im, storeDir := tinyStore(t, "")
	s, err := store.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	fixed := func(p string) *netboot.File {
		return netboot.Lazy(func(context.Context) (string, error) { return p, nil })
	}
	nb := netboot.Handler(netboot.Config{Kernel: fixed(im.Kernel), Initrd: fixed(im.Initrd), Chain: "extra", Repo: "tiny"})
	srv := httptest.NewServer(serve.New(s, serve.WithHandler("/boot/", nb)).Handler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	tftp := t.TempDir()
	files, err := media.WritePXE(tftp, "10.0.2.2:"+u.Port(), "extra", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("TFTP root: %v", files)
	}
	conf, _ := os.ReadFile(filepath.Join(tftp, "dnsmasq.conf"))
	for _, want := range []string{"tftp-root=" + tftp, "dhcp-boot=tag:ipxe,boot.ipxe", "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe", "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi"} {
		if !bytes.Contains(conf, []byte(want+"\n")) {
			t.Errorf("dnsmasq.conf lacks %q:\n%s", want, conf)
		}
	}
	for _, uefi := range []bool{false, true} {
		t.Run(map[bool]string{false: "BIOS", true: "UEFI"}[uefi], func(t *testing.T) {
			m := qemu.Machine{PXE: &qemu.PXE{Dir: tftp, File: "boot.ipxe"}, UEFI: uefi}
			want := []string{"mode.ref=10.0.2.2:" + u.Port() + "/tiny:extra", "pulled 4 layers"}
			if uefi { // iPXE writes to the serial port only under OVMF (SeaBIOS: the screen)
				want = append(want, "tftp://10.0.2.2/boot.ipxe")
			}
			boot(t, m, "MODE-TINY-OK", want...)
		})
	}
}
