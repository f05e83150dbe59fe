package report

import (
	"fmt"
	"net"
	"strings"
)

// Limits of the facts a report may carry.
const (
	MaxDisks = 64  // disks in Facts.Disks
	MaxNICs  = 32  // interfaces in Facts.NICs
	MaxFact  = 256 // bytes of any text fact
)

// Facts is what a machine tells about its hardware (discovery): SMBIOS
// identity, CPU, memory, disks and network interfaces. The init gathers them
// from /sys and /proc (Gather); rules of the fleet match on them.
type Facts struct {
	Vendor      string `json:"vendor,omitempty"`  // SMBIOS system vendor
	Product     string `json:"product,omitempty"` // SMBIOS product name
	Serial      string `json:"serial,omitempty"`  // SMBIOS product serial
	UUID        string `json:"uuid,omitempty"`    // SMBIOS product UUID, lower case
	CPUModel    string `json:"cpu_model,omitempty"`
	CPUs        int    `json:"cpus,omitempty"`         // logical CPUs
	MemoryBytes int64  `json:"memory_bytes,omitempty"` // MemTotal
	Disks       []Disk `json:"disks,omitempty"`
	NICs        []NIC  `json:"nics,omitempty"`
}

// Disk is one block device of /sys/block (not loop, ram, dm, zram or nbd).
type Disk struct {
	Name       string `json:"name"`
	SizeBytes  int64  `json:"size_bytes"`
	Model      string `json:"model,omitempty"`
	Serial     string `json:"serial,omitempty"`
	Rotational bool   `json:"rotational"`
}

// NIC is one Ethernet interface.
type NIC struct {
	MAC    string `json:"mac"`
	Driver string `json:"driver,omitempty"`
	Link   bool   `json:"link"` // carrier up
}

// check returns an ErrInvalid naming the first fact at fault.
func (f *Facts) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: facts.%s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	for _, v := range []struct{ name, v string }{{"vendor", f.Vendor}, {"product", f.Product}, {"serial", f.Serial}, {"uuid", f.UUID}, {"cpu_model", f.CPUModel}} {
		if err := text("facts."+v.name, v.v, MaxFact); err != nil {
			return err
		}
	}
	if f.CPUs < 0 || f.CPUs > 1<<16 {
		return bad("cpus %d: out of range", f.CPUs)
	}
	if f.MemoryBytes < 0 {
		return bad("memory_bytes %d: negative", f.MemoryBytes)
	}
	if len(f.Disks) > MaxDisks {
		return bad("disks: %d, at most %d", len(f.Disks), MaxDisks)
	}
	for i, d := range f.Disks {
		if d.Name == "" {
			return bad("disks[%d]: no name", i)
		}
		for _, v := range []struct{ name, v string }{{"name", d.Name}, {"model", d.Model}, {"serial", d.Serial}} {
			if err := text(fmt.Sprintf("facts.disks[%d].%s", i, v.name), v.v, MaxFact); err != nil {
				return err
			}
		}
		if d.SizeBytes < 0 {
			return bad("disks[%d].size_bytes %d: negative", i, d.SizeBytes)
		}
	}
	if len(f.NICs) > MaxNICs {
		return bad("nics: %d, at most %d", len(f.NICs), MaxNICs)
	}
	for i, n := range f.NICs {
		if hw, err := net.ParseMAC(n.MAC); err != nil || hw.String() != n.MAC {
			return bad("nics[%d].mac %q: want lower-case xx:xx:…", i, short(n.MAC))
		}
		if err := text(fmt.Sprintf("facts.nics[%d].driver", i), n.Driver, MaxFact); err != nil {
			return err
		}
	}
	return nil
}

// trim cuts s to MaxFact bytes of valid text (what Gather reads may be long or odd).
func trim(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "?"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	for len(s) > MaxFact {
		s = s[:len(s)-1]
		s = strings.ToValidUTF8(s, "")
	}
	return s
}
