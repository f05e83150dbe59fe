package report

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Gather reads the facts of the running machine under root ("/" on a
// machine; a directory shaped like it in tests): /sys/class/dmi/id,
// /proc/cpuinfo, /proc/meminfo, /sys/block and /sys/class/net. What it
// cannot read stays empty; it never fails.
func Gather(root string) *Facts {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return ""
		}
		return trim(string(b))
	}
	f := &Facts{
		Vendor:  read("sys/class/dmi/id/sys_vendor"),
		Product: read("sys/class/dmi/id/product_name"),
		Serial:  read("sys/class/dmi/id/product_serial"),
		UUID:    strings.ToLower(read("sys/class/dmi/id/product_uuid")),
	}
	if c, err := os.Open(filepath.Join(root, "proc/cpuinfo")); err == nil {
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch strings.TrimSpace(k) {
			case "processor":
				f.CPUs++
			case "model name":
				if f.CPUModel == "" {
					f.CPUModel = trim(v)
				}
			}
		}
		c.Close()
	}
	if m, err := os.Open(filepath.Join(root, "proc/meminfo")); err == nil {
		sc := bufio.NewScanner(m)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				f.MemoryBytes = kb << 10
			}
		}
		m.Close()
	}
	blocks, _ := os.ReadDir(filepath.Join(root, "sys/block"))
	for _, b := range blocks {
		n := b.Name()
		if len(f.Disks) == MaxDisks || virtualBlock(n) {
			continue
		}
		d := "sys/block/" + n
		sectors, _ := strconv.ParseInt(read(d+"/size"), 10, 64)
		f.Disks = append(f.Disks, Disk{Name: trim(n), SizeBytes: sectors * 512, Model: read(d + "/device/model"),
			Serial: firstOf(read(d+"/device/serial"), read(d+"/serial")), Rotational: read(d+"/queue/rotational") == "1"})
	}
	nets, _ := os.ReadDir(filepath.Join(root, "sys/class/net"))
	for _, e := range nets {
		d := "sys/class/net/" + e.Name()
		if read(d+"/type") != "1" || len(f.NICs) == MaxNICs { // ARPHRD_ETHER
			continue
		}
		mac := strings.ToLower(read(d + "/address"))
		if len(mac) != 17 {
			continue
		}
		nic := NIC{MAC: mac, Link: read(d+"/carrier") == "1"}
		if driver, err := os.Readlink(filepath.Join(root, d, "device/driver")); err == nil {
			nic.Driver = trim(filepath.Base(driver))
		}
		f.NICs = append(f.NICs, nic)
	}
	sort.Slice(f.NICs, func(i, j int) bool { return f.NICs[i].MAC < f.NICs[j].MAC })
	return f
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// virtualBlock reports whether the block device name is none of the
// machine's disks: loop, RAM, device-mapper, zram, and NBD devices (the
// lazy boot's layers, docs/boot.md).
func virtualBlock(name string) bool {
	for _, p := range []string{"loop", "ram", "dm-", "zram", "nbd"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
