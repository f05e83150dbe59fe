package modeinit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A boot medium (an ISO, a USB stick, a disk made by mode image) is named on
// the kernel command line by what its file system says of itself, never by a
// device name, which changes from machine to machine:
//
//	mode.from=LABEL=MODE_1A2B3C4D:/mode    the file system labelled so
//	mode.from=UUID=2026-11-28-07-00-00-00  the file system with that UUID
//
// The label is the ISO 9660 volume ID, the ext2/3/4 or the FAT label; the UUID
// is blkid's: ext4's UUID, FAT's serial (1A2B-3C4D), ISO 9660's volume date.

// mediumWait is how long the init waits for a medium to show up: USB sticks
// and CD drives appear seconds after the kernel started.
const mediumWait = 30 * time.Second

// embeddedCmdline holds kernel parameters an image carries in its initramfs
// (mode image --format initramfs): they come before /proc/cmdline's, which
// override them.
const embeddedCmdline = "/etc/mode/cmdline"

// embeddedParams returns the parameters of embeddedCmdline, or "".
func embeddedParams() string {
	b, err := os.ReadFile(embeddedCmdline)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b)) + " "
}

// isMediumSpec reports whether spec names a medium by label or UUID.
func isMediumSpec(spec string) bool {
	return strings.HasPrefix(spec, "LABEL=") || strings.HasPrefix(spec, "UUID=")
}

// resolveMedium turns LABEL=NAME[:DIR] or UUID=ID[:DIR] into /dev/DEV[:DIR],
// waiting up to wait for a block device whose file system has that label or
// UUID. Whole disks come before their partitions (a hybrid ISO on a stick is
// both).
func resolveMedium(spec string, wait time.Duration) (string, error) {
	kind, rest, _ := strings.Cut(spec, "=")
	want, sub, hasSub := strings.Cut(rest, ":")
	if want == "" {
		return "", fmt.Errorf("%s: empty %s", spec, kind)
	}
	deadline := time.Now().Add(wait)
	for {
		devs, _ := filepath.Glob("/sys/class/block/*")
		sort.Strings(devs)
		for _, d := range devs {
			name := filepath.Base(d)
			if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
				continue
			}
			dev := "/dev/" + name
			label, uuid := probeFS(dev)
			if kind == "LABEL" && label == want || kind == "UUID" && strings.EqualFold(uuid, want) {
				if hasSub {
					return dev + ":" + sub, nil
				}
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: no block device with that file system %s after %s (have: %s)", spec, strings.ToLower(kind), wait, seenMedia())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// seenMedia lists the block devices with their labels, for an error.
func seenMedia() string {
	devs, _ := filepath.Glob("/sys/class/block/*")
	var s []string
	for _, d := range devs {
		name := filepath.Base(d)
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			continue
		}
		label, uuid := probeFS("/dev/" + name)
		s = append(s, fmt.Sprintf("%s label %q uuid %q", name, label, uuid))
	}
	if len(s) == 0 {
		return "no block devices"
	}
	return strings.Join(s, ", ")
}

// probeFS reads the label and UUID of the file system on dev: ISO 9660,
// ext2/3/4 or FAT; "" when it is none of them.
func probeFS(dev string) (label, uuid string) {
	f, err := os.Open(dev)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	b := make([]byte, 0x8000+2048)
	n, _ := io.ReadFull(f, b)
	return probeBytes(b[:n])
}

// probeBytes is probeFS on the first 34 KiB of a device.
func probeBytes(b []byte) (label, uuid string) {
	at := func(off, n int) []byte {
		if len(b) < off+n {
			return nil
		}
		return b[off : off+n]
	}
	switch {
	case bytes.Equal(at(0x8001, 5), []byte("CD001")):
		label = strings.TrimRight(string(at(0x8028, 32)), " \x00")
		if d := at(0x8000+830, 16); d != nil && d[0] != '0' && d[0] != ' ' && d[0] != 0 {
			s := string(d)
			uuid = fmt.Sprintf("%s-%s-%s-%s-%s-%s-%s", s[0:4], s[4:6], s[6:8], s[8:10], s[10:12], s[12:14], s[14:16])
		}
	case bytes.Equal(at(1024+56, 2), []byte{0x53, 0xef}):
		label = strings.TrimRight(string(at(1024+120, 16)), "\x00")
		u := at(1024+104, 16)
		uuid = fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	case bytes.Equal(at(82, 5), []byte("FAT32")):
		label = strings.TrimRight(string(at(71, 11)), " ")
		uuid = fatSerial(at(67, 4))
	case bytes.Equal(at(54, 3), []byte("FAT")):
		label = strings.TrimRight(string(at(43, 11)), " ")
		uuid = fatSerial(at(39, 4))
	}
	if label == "NO NAME" {
		label = ""
	}
	return label, uuid
}

func fatSerial(b []byte) string {
	v := binary.LittleEndian.Uint32(b)
	return fmt.Sprintf("%04X-%04X", v>>16, v&0xffff)
}

// reuseMount handles a medium mounted already by an earlier step (a disk
// image's data partition holds both the layers, mounted read-only, and the
// changes, wanted read-write): it remounts it read-write when rw is asked.
// It reports whether target was a mount point.
func reuseMount(target string, rw bool) (bool, error) {
	var st, parent unix.Stat_t
	if unix.Stat(target, &st) != nil || unix.Stat(filepath.Dir(target), &parent) != nil || st.Dev == parent.Dev {
		return false, nil
	}
	if rw {
		if err := unix.Mount("", target, "", unix.MS_REMOUNT, ""); err != nil {
			return true, fmt.Errorf("remount %s read-write: %w", target, err)
		}
	}
	return true, nil
}

// linkMedium points /run/mode/medium at the directory of the layers on a
// medium, so that a booted system finds it (mode save NAME --out
// /run/mode/medium writes a saved layer beside the others).
func linkMedium(dir string) {
	if strings.HasPrefix(dir, mountsDir+"/") {
		_ = os.Remove(mediumLink)
		_ = os.Symlink(dir, mediumLink)
	}
}

// mediumLink is the link linkMedium makes.
var mediumLink = runDir + "/medium"
