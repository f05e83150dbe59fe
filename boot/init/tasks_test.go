package modeinit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/report"
)

// TestReadModulesDep: the modules in modules.dep's order, the NIC drivers and
// the virtio bus marked as network drivers, nothing else.
func TestReadModulesDep(t *testing.T) {
	dep := filepath.Join(t.TempDir(), "modules.dep")
	err := os.WriteFile(dep, []byte(`kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/virtio/virtio_ring.ko kernel/net/core/failover.ko
kernel/fs/overlayfs/overlay.ko:
kernel/fs/nls/nls_iso8859-1.ko:
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	names, net, err := readModulesDep(dep)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"virtio_ring", "virtio_pci", "failover", "virtio_net", "overlay", "nls_iso8859_1"}, names); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]bool{"virtio_ring": true, "virtio_pci": true, "virtio_net": true}, net); d != "" {
		t.Errorf("network drivers (-want +got):\n%s", d)
	}
}

// TestTasks: a task's failure fails the step that waits for it, under the
// task's name; the report keeps the steps in the order they started, a task
// that has not ended left out.
func TestTasks(t *testing.T) {
	var out bytes.Buffer
	b := &boot{out: &out}
	release := make(chan struct{})
	slow := b.background(step{name: "network", run: func() (string, error) {
		<-release
		return "eth0: 10.0.2.15/24 by DHCP", nil
	}})
	failing := b.background(step{name: "modules", run: func() (string, error) {
		return "", errors.New("kernel module loop: no such file")
	}})
	if _, err := b.do(step{name: "trust", run: func() (string, error) { return "trusted keys: none", nil }}); err != nil {
		t.Fatal(err)
	}
	wait := b.waitFor(&failing)
	_, err := b.do(wait)
	if err == nil || failedStep(wait, err) != "modules" || !strings.Contains(err.Error(), "kernel module loop") {
		t.Fatalf("waiting for a failed task: %v (step %q), want the task's error at modules", err, failedStep(wait, err))
	}
	if got := stepNames(b.finished()); got != "modules! trust" {
		t.Errorf("report steps %q before network ended, want %q", got, "modules! trust")
	}
	close(release)
	if _, err := b.do(b.waitFor(&slow)); err != nil {
		t.Fatal(err)
	}
	var none *task
	if _, err := b.do(b.waitFor(&none)); err != nil {
		t.Errorf("waiting for no task: %v", err)
	}
	if got := stepNames(b.finished()); got != "network modules! trust" {
		t.Errorf("report steps %q, want them in the order they started: %q", got, "network modules! trust")
	}
	for _, want := range []string{"mode-init: trusted keys: none in ", "mode-init: eth0: 10.0.2.15/24 by DHCP in "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "wait") {
		t.Errorf("a wait logged a line:\n%s", out.String())
	}
}

func stepNames(steps []report.Step) string {
	var s []string
	for _, st := range steps {
		n := st.Name
		if st.Failed {
			n += "!"
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}
