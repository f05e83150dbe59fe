package modeinit

import (
	"encoding/binary"
	"testing"
)

// TestProbeBytes reads labels and UUIDs the way blkid shows them, from the
// first bytes of ISO 9660, ext4 and FAT file systems.
func TestProbeBytes(t *testing.T) {
	iso := make([]byte, 0x8000+2048)
	copy(iso[0x8001:], "CD001")
	copy(iso[0x8028:], "MODE_1A2B3C4D                   ")
	copy(iso[0x8000+830:], "2026112807272200")
	ext := make([]byte, 4096)
	copy(ext[1024+56:], []byte{0x53, 0xef})
	copy(ext[1024+104:], []byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 0x40, 2, 0x80, 3, 1, 2, 3, 4, 5, 6})
	copy(ext[1024+120:], "MODE_DATA")
	fat := make([]byte, 512)
	copy(fat[82:], "FAT32")
	copy(fat[71:], "MODE_ESP   ")
	binary.LittleEndian.PutUint32(fat[67:], 0x1a2b3c4d)
	fat16 := make([]byte, 512)
	copy(fat16[54:], "FAT16")
	copy(fat16[43:], "NO NAME    ")
	binary.LittleEndian.PutUint32(fat16[39:], 0x00010002)
	for _, tc := range []struct {
		name        string
		b           []byte
		label, uuid string
	}{
		{"iso9660", iso, "MODE_1A2B3C4D", "2026-11-28-07-27-22-00"},
		{"ext4", ext, "MODE_DATA", "deadbeef-0001-4002-8003-010203040506"},
		{"fat32", fat, "MODE_ESP", "1A2B-3C4D"},
		{"fat16 without a label", fat16, "", "0001-0002"},
		{"nothing", make([]byte, 64*1024), "", ""},
		{"short", []byte("hsqs"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			label, uuid := probeBytes(tc.b)
			if label != tc.label || uuid != tc.uuid {
				t.Errorf("probeBytes: label %q uuid %q, want %q %q", label, uuid, tc.label, tc.uuid)
			}
		})
	}
}

// TestMediumSpec: only LABEL= and UUID= name a medium; an empty one is an
// error naming it.
func TestMediumSpec(t *testing.T) {
	for spec, want := range map[string]bool{"LABEL=X:/mode": true, "UUID=1A2B-3C4D": true, "/dev/vda": false, "/mode/layers": false} {
		if got := isMediumSpec(spec); got != want {
			t.Errorf("isMediumSpec(%q) = %v", spec, got)
		}
	}
	if _, err := resolveMedium("LABEL=:/mode", 0); err == nil || err.Error() != "LABEL=:/mode: empty LABEL" {
		t.Errorf("resolveMedium(LABEL=:/mode): %v", err)
	}
}

// TestEmbeddedCmdline: parameters an initramfs image carries come first, so
// the command line's own override them.
func TestEmbeddedCmdline(t *testing.T) {
	p, err := parseParams("mode.from=/mode/layers mode.ref=extra " + "mode.ref=console")
	if err != nil {
		t.Fatal(err)
	}
	if p.from != "/mode/layers" || p.ref != "console" {
		t.Errorf("from %q ref %q", p.from, p.ref)
	}
}
