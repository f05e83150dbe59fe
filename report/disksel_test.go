package report_test

import (
	"strings"
	"testing"

	"github.com/mode-build/mode/report"
)

// TestDiskSelector: one disk picked by serial, model glob or size; none or
// several refused, naming the disks; the kernel-line form round-trips.
func TestDiskSelector(t *testing.T) {
	disks := []report.Disk{
		{Name: "vda", SizeBytes: 64 << 20, Serial: "SMALL-1", Model: "QEMU disk"},
		{Name: "vdb", SizeBytes: 512 << 20, Serial: "BIG-2", Model: "QEMU disk"},
		{Name: "sda", SizeBytes: 2 << 40, Serial: "S3Z9, rack 4", Model: "Samsung SSD 860"},
	}
	for _, tc := range []struct {
		sel  report.DiskSelector
		want string // the disk's name, or a piece of the error
	}{
		{report.DiskSelector{Serial: "BIG-2"}, "vdb"},
		{report.DiskSelector{Serial: "S3Z9, rack 4"}, "sda"},
		{report.DiskSelector{Model: "Samsung*"}, "sda"},
		{report.DiskSelector{MinSize: 100 << 20, Model: "QEMU*"}, "vdb"},
		{report.DiskSelector{MinSize: 100 << 20}, "2 disks match"},
		{report.DiskSelector{Model: "QEMU*"}, "2 disks match"},
		{report.DiskSelector{Serial: "NOPE"}, "no disk matches serial:NOPE (disks: vda 67108864 bytes"},
		{report.DiskSelector{Serial: "SMALL-1", MinSize: 100 << 20}, "no disk matches"},
		{report.DiskSelector{}, "empty"},
		{report.DiskSelector{Model: "["}, "pattern"},
	} {
		d, err := tc.sel.Select(disks)
		got := d.Name
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.sel, got, tc.want)
		}
		if tc.sel.Check() != nil {
			continue
		}
		line := tc.sel.String()
		if strings.ContainsAny(line, " \t\"'") {
			t.Errorf("%+v: %q does not fit a kernel line", tc.sel, line)
		}
		back, err := report.ParseDiskSelector(line)
		if err != nil || back != tc.sel {
			t.Errorf("%q: read back %+v, %v", line, back, err)
		}
	}
	for _, bad := range []string{"", "serial", "size:10", "min_size:-1", "min_size:x", "serial:%zz"} {
		if _, err := report.ParseDiskSelector(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
