package report

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// DiskSelector picks the one disk of a machine to install to, by its facts:
// every field given must hold (docs/fleet.md, "Install to disk"). It never
// names a device: sda on one boot may be sdb on the next.
type DiskSelector struct {
	Serial  string `yaml:"serial" json:"serial,omitempty"`    // the disk's serial, exactly
	Model   string `yaml:"model" json:"model,omitempty"`      // a glob on the disk's model
	MinSize int64  `yaml:"-" json:"min_size_bytes,omitempty"` // at least this many bytes
}

// Empty reports whether s selects by nothing (which would pick any disk).
func (s DiskSelector) Empty() bool { return s.Serial == "" && s.Model == "" && s.MinSize == 0 }

// Check refuses a selector that selects by nothing or has a bad glob.
func (s DiskSelector) Check() error {
	if s.Empty() {
		return errors.New("the disk selector is empty: give serial, model or min_size (never a device name)")
	}
	if _, err := path.Match(s.Model, ""); err != nil {
		return fmt.Errorf("disk model pattern %q: %v", s.Model, err)
	}
	if s.MinSize < 0 {
		return fmt.Errorf("disk min_size %d: negative", s.MinSize)
	}
	return nil
}

// Matches reports whether disk d is one s selects.
func (s DiskSelector) Matches(d Disk) bool {
	if s.Serial != "" && d.Serial != s.Serial {
		return false
	}
	if s.Model != "" {
		if ok, _ := path.Match(s.Model, d.Model); !ok {
			return false
		}
	}
	return d.SizeBytes >= s.MinSize
}

// Select returns the one disk of disks that s selects. None or several
// are an error that names them: the install never guesses.
func (s DiskSelector) Select(disks []Disk) (Disk, error) {
	if err := s.Check(); err != nil {
		return Disk{}, err
	}
	var hits []Disk
	for _, d := range disks {
		if s.Matches(d) {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		var all []string
		for _, d := range disks {
			all = append(all, describeDisk(d))
		}
		if len(all) == 0 {
			all = append(all, "none")
		}
		return Disk{}, fmt.Errorf("no disk matches %s (disks: %s)", s, strings.Join(all, "; "))
	}
	var names []string
	for _, d := range hits {
		names = append(names, describeDisk(d))
	}
	return Disk{}, fmt.Errorf("%d disks match %s (%s): make the selector pick one", len(hits), s, strings.Join(names, "; "))
}

func describeDisk(d Disk) string {
	return fmt.Sprintf("%s %d bytes model %q serial %q", d.Name, d.SizeBytes, d.Model, d.Serial)
}

// String is the selector as the kernel command line carries it
// (mode.install=…): KEY:VALUE pairs joined by commas, each value
// percent-escaped beyond letters, digits and "._-*?".
func (s DiskSelector) String() string {
	var parts []string
	if s.Serial != "" {
		parts = append(parts, "serial:"+escapeSel(s.Serial))
	}
	if s.Model != "" {
		parts = append(parts, "model:"+escapeSel(s.Model))
	}
	if s.MinSize != 0 {
		parts = append(parts, "min_size:"+strconv.FormatInt(s.MinSize, 10))
	}
	return strings.Join(parts, ",")
}

// ParseDiskSelector reads what String writes.
func ParseDiskSelector(v string) (DiskSelector, error) {
	var s DiskSelector
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, ":")
		if !ok {
			return s, fmt.Errorf("%q: want KEY:VALUE (serial, model, min_size)", part)
		}
		text, err := url.PathUnescape(val)
		if err != nil {
			return s, fmt.Errorf("%s %q: %v", k, val, err)
		}
		switch k {
		case "serial":
			s.Serial = text
		case "model":
			s.Model = text
		case "min_size":
			if s.MinSize, err = strconv.ParseInt(text, 10, 64); err != nil || s.MinSize < 0 {
				return s, fmt.Errorf("min_size %q: want bytes", text)
			}
		default:
			return s, fmt.Errorf("%q: unknown key (want serial, model, min_size)", k)
		}
	}
	return s, s.Check()
}

func escapeSel(v string) string {
	var b strings.Builder
	for _, c := range []byte(v) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("._-*?", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// InstallPath is where mode serve hands out the disk image of an install
// (the init's mode.install): GET InstallPath?ref=HOST:PORT/REPO:TAG&mac=MAC
// answers the gzip-compressed image, its size once decompressed in
// DiskSizeHeader.
const (
	InstallPath    = "/boot/install/disk.img.gz"
	DiskSizeHeader = "X-Mode-Disk-Size"
)
