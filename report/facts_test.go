package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/report"
)

// TestGather reads the facts of a machine laid out under a directory as
// /sys and /proc are.
func TestGather(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"sys/class/dmi/id/sys_vendor":       "QEMU\n",
		"sys/class/dmi/id/product_name":     "Standard PC\n",
		"sys/class/dmi/id/product_serial":   "FLEET-3\n",
		"sys/class/dmi/id/product_uuid":     "0F0F0F0F-0000-4000-8000-000000000002\n",
		"proc/cpuinfo":                      "processor\t: 0\nmodel name\t: QEMU Virtual CPU\n\nprocessor\t: 1\nmodel name\t: QEMU Virtual CPU\n",
		"proc/meminfo":                      "MemTotal:        2048 kB\nMemFree: 1 kB\n",
		"sys/block/vda/size":                "2048\n",
		"sys/block/vda/queue/rotational":    "0\n",
		"sys/block/vda/serial":              "disk-1\n",
		"sys/block/loop0/size":              "8\n",
		"sys/block/nbd0/size":               "0\n",
		"sys/class/net/eth0/type":           "1\n",
		"sys/class/net/eth0/address":        "52:54:00:00:0F:03\n",
		"sys/class/net/eth0/carrier":        "1\n",
		"sys/class/net/lo/type":             "772\n",
		"sys/class/net/lo/address":          "00:00:00:00:00:00\n",
		"sys/bus/pci/drivers/virtio_net/.x": "",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "sys/class/net/eth0/device"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../bus/pci/drivers/virtio_net", filepath.Join(root, "sys/class/net/eth0/device/driver")); err != nil {
		t.Fatal(err)
	}
	want := &report.Facts{Vendor: "QEMU", Product: "Standard PC", Serial: "FLEET-3", UUID: "0f0f0f0f-0000-4000-8000-000000000002",
		CPUModel: "QEMU Virtual CPU", CPUs: 2, MemoryBytes: 2048 << 10,
		Disks: []report.Disk{{Name: "vda", SizeBytes: 2048 * 512, Serial: "disk-1"}},
		NICs:  []report.NIC{{MAC: "52:54:00:00:0f:03", Driver: "virtio_net", Link: true}}}
	got := report.Gather(root)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("facts (-want +got):\n%s", d)
	}
	r := &report.Report{Kind: report.KindBoot, Machine: report.Machine{MAC: "52:54:00:00:0f:03"}, OK: true, Facts: got}
	if err := r.Check(); err != nil {
		t.Errorf("gathered facts refused: %v", err)
	}
}

// TestFactsBounded: facts beyond their limits make the report invalid.
func TestFactsBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		facts report.Facts
		want  string
	}{
		{"too many disks", report.Facts{Disks: make([]report.Disk, report.MaxDisks+1)}, "facts.disks: 65"},
		{"too many nics", report.Facts{NICs: make([]report.NIC, report.MaxNICs+1)}, "facts.nics: 33"},
		{"long vendor", report.Facts{Vendor: strings.Repeat("v", report.MaxFact+1)}, "facts.vendor"},
		{"disk without name", report.Facts{Disks: []report.Disk{{SizeBytes: 1}}}, "facts.disks[0]: no name"},
		{"bad nic mac", report.Facts{NICs: []report.NIC{{MAC: "52:54:00:00:0F:03"}}}, "facts.nics[0].mac"},
		{"control character", report.Facts{Product: "a\x1bb"}, "facts.product: control character"},
		{"negative memory", report.Facts{MemoryBytes: -1}, "facts.memory_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Kind: report.KindBoot, Machine: report.Machine{MAC: "52:54:00:00:0f:03"}, OK: true, Facts: &tc.facts}
			if err := r.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
