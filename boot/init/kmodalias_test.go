package modeinit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPCIAbsent: a PCI-only driver with no device is left out; one with a
// device, one with other aliases and one without aliases are not.
func TestPCIAbsent(t *testing.T) {
	dir := t.TempDir()
	alias := filepath.Join(dir, "modules.alias")
	write(t, alias, `alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias pci:v00001D0Fd0000EC20sv*sd*bc*sc*i* ena
alias pci:v00001D0Fd0000EC21sv*sd*bc*sc*i* ena
alias pci:v000015ADd000007B0sv*sd*bc*sc*i* vmxnet3
alias virtio:d00000001v* virtio_net
alias pci:v00008086d00007010sv*sd*bc*sc*i* ata_piix
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* ata_piix
`)
	sys := filepath.Join(dir, "devices")
	write(t, filepath.Join(sys, "0000:00:03.0", "modalias"), "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00\n")
	write(t, filepath.Join(sys, "0000:00:00.0", "modalias"), "pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00\n")
	if d := cmp.Diff(map[string]bool{"ena": true, "vmxnet3": true}, pciAbsent(alias, sys)); d != "" {
		t.Errorf("left out (-want +got):\n%s", d)
	}
	if got := pciAbsent(filepath.Join(dir, "nonexistent"), sys); got != nil {
		t.Errorf("without modules.alias: %v, want nothing left out", got)
	}
	if got := pciAbsent(alias, filepath.Join(dir, "nonexistent")); got != nil {
		t.Errorf("without a PCI bus: %v, want nothing left out", got)
	}
}

func write(t *testing.T, file, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
