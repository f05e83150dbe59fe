package qemu_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestSaveDebianPush boots examples/debian's console chain (built as
// TestBootDebianConsole builds it, into .cache/e2e/debian) from a registry
// accepting pushes; systemd runs a script from a raw disk (systemd.run=) that
// installs the package hello with apt-get, over QEMU's user network to the
// mirror of the image's sources, and runs mode save mine --push. Booting the
// new tag, dpkg says hello is installed and it runs. Needs root, QEMU and
// Debian's archive; takes minutes under TCG. The tag mine stays in the
// cached store (the next run replaces it).
func TestSaveDebianPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian chain and installs a package in QEMU: not with -short")
	}
	testutil.RequiresRoot(t)
	dir := filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	store := filepath.Join(dir, "store")
	testutil.BuildExample(t, "debian", filepath.Join(dir, "out"), store, "console")
	const token = "debian-guest-token"
	reg, _ := serveStorePush(t, store, token)
	// systemd-run-generator turns systemd.run= into a service; "none": the
	// machine stays up when it ends.
	run := ` systemd.run="/bin/sh /dev/vda" systemd.run_success_action=none systemd.run_failure_action=none`

	install := scriptDisk(t, `
exec > /dev/console 2>&1
echo "save test: waiting for the network"
i=0
until ip route | grep -q '^default'; do i=$((i+1)); [ $i -gt 180 ] && break; sleep 1; done
echo "nameserver 10.0.2.3" > /etc/resolv.conf
if apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hello; then
	rm -f /etc/resolv.conf
	if /run/mode/bin/mode save mine --push; then echo MODE-DEBIAN-PUSHED; else echo MODE-DEBIAN-FAILED; fi
else
	echo MODE-DEBIAN-FAILED
fi
`)
	m := netMachine(t, "mode.ref="+reg+"/debian:console mode.insecure mode.token="+token+run, install)
	m.MemoryMiB = 1024
	res := bootFor(t, m, "MODE-DEBIAN-PUSHED", 20*time.Minute, "MODE-DEBIAN-FAILED")
	if want := "pushed " + reg + "/debian:mine sha256:"; !strings.Contains(res.Console, want) {
		t.Errorf("console lacks %q:\n%s", want, res.Console)
	}
	logLines(t, res.Console, "Setting up hello", "mode save: ", "pushed ")

	check := scriptDisk(t, `
exec > /dev/console 2>&1
if dpkg -s hello | grep -qx 'Status: install ok installed' && hello | grep -qx 'Hello, world!'; then
	echo MODE-DEBIAN-SAVED-OK
else
	dpkg -s hello; sleep 1; echo MODE-DEBIAN-SAVED-FAIL
fi
`)
	m = netMachine(t, "mode.ref="+reg+"/debian:mine mode.insecure"+run, check)
	m.MemoryMiB = 1024
	res = bootFor(t, m, "MODE-DEBIAN-SAVED-OK", 8*time.Minute, "MODE-DEBIAN-SAVED-FAIL")
	if want := "pulled 4 layers"; !strings.Contains(res.Console, want) {
		t.Errorf("console lacks %q:\n%s", want, res.Console)
	}
}
