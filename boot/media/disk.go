package media

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// The raw disk image (GPT, 512-byte sectors):
//
//	1  BIOS boot  1 MiB   GRUB's core.img for BIOS (boot.img in the MBR loads it)
//	2  ESP        FAT32   /EFI/BOOT/BOOTX64.EFI, /boot/{vmlinuz,initrd.img,grub/}
//	3  data       ext4    /mode/*.sqfs and *.json; /mode/changes/ (mode.changes)
//
// go-diskfs writes the GPT; mkfs.fat and mtools the FAT32 ESP, and mke2fs
// the ext4 data partition, each at its offset in the image (go-diskfs's FAT
// writers fail fsck.fat and its ext4 writer is incomplete); the MBR boot code
// and core.img's block list are patched here as grub-bios-setup would.
const (
	sector      = 512
	firstLBA    = 2048 // 1 MiB: partitions aligned to 1 MiB
	biosBootLen = mib
	espMin      = 64 * mib // FAT32 wants 65525 clusters at least
)

// DiskOverhead is what a disk image needs beyond its data partition: the
// GPT, the BIOS boot partition and the ESP with the kernel and initramfs.
func (im *Image) DiskOverhead() (int64, error) {
	esp, err := im.espSize()
	return mib + biosBootLen + esp + mib, err
}

// MinDiskSize is the smallest --size that holds the layers, with a little
// room for the ext4 metadata and journal.
func (im *Image) MinDiskSize() (int64, error) {
	o, err := im.DiskOverhead()
	return o + roundMiB(im.LayersSize()+im.LayersSize()/20+24*mib), err
}

// DefaultDiskSize leaves room for changes: the layers' size again, at least
// 256 MiB.
func (im *Image) DefaultDiskSize() (int64, error) {
	min, err := im.MinDiskSize()
	room := im.LayersSize()
	if room < 256*mib {
		room = 256 * mib
	}
	return min + roundMiB(room), err
}

func (im *Image) espSize() (int64, error) {
	n, err := filesSize(map[string]string{"k": im.Kernel, "i": im.Initrd})
	if err != nil {
		return 0, err
	}
	if im.SecureBoot != nil {
		n *= 2 // the UKI holds both again
	}
	s := roundMiB(n + n/4 + 8*mib)
	if s < espMin {
		s = espMin
	}
	return s, nil
}

func writeDisk(ctx context.Context, im *Image, out, work string) error {
	size := im.Size
	min, err := im.MinDiskSize()
	if err != nil {
		return err
	}
	if size == 0 {
		if size, err = im.DefaultDiskSize(); err != nil {
			return err
		}
	}
	if size < min {
		return fmt.Errorf("--size %d MiB: too small: the layers (%d MiB) and the boot partitions need %d MiB at least",
			size/mib, roundMiB(im.LayersSize())/mib, min/mib)
	}
	size = size / mib * mib
	id, label := im.ID("disk"), im.Label("disk")
	esp, _ := im.espSize()
	espStart := uint64(firstLBA + biosBootLen/sector)
	dataStart := espStart + uint64(esp/sector)
	espEnd := dataStart - 1
	dataEnd := uint64(size/sector) - 34 - 1 // the backup GPT: 33 sectors, and one spare
	dataEnd = (dataEnd+1)/(mib/sector)*(mib/sector) - 1
	table := &gpt.Table{
		LogicalSectorSize: sector, PhysicalSectorSize: sector, ProtectiveMBR: true,
		GUID: guid(id, "disk"),
		Partitions: []*gpt.Partition{
			{Index: 1, Start: firstLBA, End: espStart - 1, Type: gpt.BIOSBoot, Name: "BIOS boot", GUID: guid(id, "bios")},
			{Index: 2, Start: espStart, End: espEnd, Type: gpt.EFISystemPartition, Name: "EFI system", GUID: guid(id, "esp")},
			{Index: 3, Start: dataStart, End: dataEnd, Type: gpt.LinuxFilesystem, Name: "mode", GUID: guid(id, "data")},
		},
	}
	os.Remove(out) // diskfs.Create wants a new file
	d, err := diskfs.Create(out, size, diskfs.SectorSizeDefault)
	if err != nil {
		return err
	}
	err = d.Partition(table)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("GPT: %w", err)
	}
	if err := im.espPartition(ctx, out, work, id, label, int64(espStart)*sector, int64(espEnd-espStart+1)*sector); err != nil {
		return err
	}
	if err := im.dataPartition(ctx, out, work, label, id, int64(dataStart)*sector, int64(dataEnd-dataStart+1)*sector); err != nil {
		return err
	}
	if im.arm64() { // no BIOS: its partition stays empty, the MBR protective only
		return nil
	}
	return biosBoot(ctx, out, work, id, firstLBA, espStart-firstLBA)
}

// espPartition writes the FAT32 ESP: shim and GRUB for UEFI (or the UKI), the
// kernel, the initramfs and grub.cfg (GRUB for BIOS reads them).
func (im *Image) espPartition(ctx context.Context, image, work, id, label string, offset, size int64) error {
	find := "mode.from=LABEL=" + label + ":/mode mode.changes=LABEL=" + label
	if im.Pull != "" {
		find = "mode.ref=" + im.Pull + " mode.cache=LABEL=" + label + ":/mode mode.changes=LABEL=" + label
	}
	files, err := bootFiles(ctx, im, work, id, find)
	if err != nil {
		return err
	}
	efi, err := im.efiFiles(ctx, work, id, find)
	if err != nil {
		return err
	}
	for n, src := range efi {
		files[n] = src
	}
	if err := writeFAT(ctx, image, offset, size, true, "MODE_ESP", files, im.Epoch(), work); err != nil {
		return fmt.Errorf("ESP: %w", err)
	}
	return nil
}

// dataPartition writes the ext4 file system of partition 3, holding the
// layers under /mode, with mke2fs -d at its offset in the image.
func (im *Image) dataPartition(ctx context.Context, image, work, label, id string, offset, size int64) error {
	root := filepath.Join(work, "data")
	dir := filepath.Join(root, "mode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := im.stageLayers(dir)
	if err != nil {
		return err
	}
	for name, src := range files {
		dst := filepath.Join(dir, name)
		if src == dst {
			continue
		}
		if err := os.Link(src, dst); err != nil { // a store blob: same file system, no copy
			if err := copyFile(src, dst); err != nil {
				return err
			}
		}
	}
	epoch := strconv.FormatInt(im.Epoch().Unix(), 10)
	env := []string{"E2FSPROGS_FAKE_TIME=" + epoch, "SOURCE_DATE_EPOCH=" + epoch}
	err = runEnv(ctx, env, "mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-U", guid(id, "ext4"),
		"-E", fmt.Sprintf("offset=%d,root_owner=0:0,hash_seed=%s", offset, guid(id, "hash")),
		"-d", root, image, strconv.FormatInt(size/1024, 10)+"k")
	if err != nil {
		return fmt.Errorf("data partition: %w (install e2fsprogs)", err)
	}
	return clampTimes(ctx, image, offset, root, epoch)
}

// guid is a GUID derived from the image's ID, so the same chain gives the
// same disk.
func guid(id, what string) string {
	s := sha256.Sum256([]byte(id + "/" + what))
	s[6] = s[6]&0x0f | 0x40 // version 4 layout
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// biosBoot makes the image boot under BIOS: GRUB's core.img goes into the
// BIOS boot partition (sectors start…start+n) and boot.img into the MBR's
// boot code, pointing at it. This is what grub-bios-setup does to a device.
func biosBoot(ctx context.Context, image, work, id string, start, n uint64) error {
	core := filepath.Join(work, "core.img")
	if err := mkimage(ctx, work, "i386-pc", earlyConfig(marker(id)), core, "biosdisk"); err != nil {
		return err
	}
	c, err := os.ReadFile(core)
	if err != nil {
		return err
	}
	sectors := (uint64(len(c)) + sector - 1) / sector
	if sectors > n {
		return fmt.Errorf("GRUB core.img: %d sectors, the BIOS boot partition has %d", sectors, n)
	}
	c = append(c, make([]byte, int(sectors*sector)-len(c))...)
	// diskboot.img, core.img's first sector, loads the rest from its block
	// list: start, sector count, segment.
	bl := c[sector-12:]
	binary.LittleEndian.PutUint64(bl[0:8], start+1)
	binary.LittleEndian.PutUint16(bl[8:10], uint16(sectors-1))
	binary.LittleEndian.PutUint16(bl[10:12], 0x820)
	boot, err := os.ReadFile(filepath.Join(grubPC, "boot.img"))
	if err != nil {
		return fmt.Errorf("GRUB boot.img: %w (install grub-pc-bin)", err)
	}
	f, err := os.OpenFile(image, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	mbr := make([]byte, sector)
	if _, err := f.ReadAt(mbr, 0); err != nil {
		return err
	}
	copy(mbr[:0x1b8], boot[:0x1b8]) // the code; keep the disk signature and partition table
	binary.LittleEndian.PutUint64(mbr[0x5c:], start)
	mbr[0x66], mbr[0x67] = 0x90, 0x90 // a hard disk: trust the BIOS's drive number
	if _, err := f.WriteAt(mbr, 0); err != nil {
		return err
	}
	if _, err := f.WriteAt(c, int64(start)*sector); err != nil {
		return err
	}
	return f.Close()
}
