package qemu_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// debianActivate builds modules of examples/debian into
// $MODE_ACTIVATE_DEBIAN_DIR (default .cache/e2e/debian, where make test
// builds console), boots console from a registry of that store with script
// run by systemd, and waits for MODE-DEBIAN-ACTIVATE-OK.
func debianActivate(t *testing.T, script string, modules ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Debian modules and boots Debian in QEMU: not with -short")
	}
	testutil.RequiresRoot(t)
	dir := os.Getenv("MODE_ACTIVATE_DEBIAN_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	}
	store := filepath.Join(dir, "store")
	testutil.BuildExample(t, "debian", filepath.Join(dir, "out"), store, modules...)
	reg := serveStore(t, store)
	run := ` systemd.run="/bin/sh /dev/vda" systemd.run_success_action=none systemd.run_failure_action=none`
	m := netMachine(t, "mode.ref="+reg+"/debian:console mode.insecure"+run, scriptDisk(t, debianPrelude+script+`
if [ -z "$fail" ]; then echo MODE-DEBIAN-ACTIVATE-OK; else echo "failed:$fail"; sleep 1; echo MODE-DEBIAN-ACTIVATE-FAIL; fi
`))
	m.MemoryMiB = 1536
	res := bootFor(t, m, "MODE-DEBIAN-ACTIVATE-OK", 25*time.Minute, "MODE-DEBIAN-ACTIVATE-FAIL")
	logLines(t, res.Console, "activated ", "deactivated ", "kept ", "mode: ", "active ", "dpkg status", "uptime ", "upper ", "ii  ")
}

// debianPrelude: the helpers of the guest scripts.
const debianPrelude = `
exec > /dev/console 2>&1
echo "uptime at the script's start: $(cut -d' ' -f1 /proc/uptime) s"
M=/run/mode/bin/mode
fail=""
check() { "$@" || fail="$fail [$*]"; }
installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
absent() { ! installed "$1"; }
packages() { dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' | sort; }
upper() { echo "upper $1: $(du -sk /run/mode/changes | cut -f1) KiB"; }
`

// TestActivateDebian boots examples/debian's console and, in one boot,
// activates smtp (postfix) by its tag: postfix's binary runs, systemctl
// starts it, dpkg says it is installed and its status was not even written
// (the module's own is the answer), no file of it is in the upper; after
// deactivate dpkg says it is not installed, its files are gone and
// console's packages are all still known, as they were. Minutes under TCG.
func TestActivateDebian(t *testing.T) {
	debianActivate(t, `
packages > /tmp/pk-before
check sh -c '! command -v postconf'
check absent postfix
upper before
$M activate smtp | tee /tmp/out || fail="$fail [activate]"
check grep -q "dpkg status: as the layers show it" /tmp/out
upper "after activate"
check installed postfix
dpkg -l postfix | tail -1
check sh -c 'postconf -h mail_version'
systemctl daemon-reload
check systemctl start postfix
check systemctl is-active postfix@-.service
check test -z "$(find /run/mode/changes/usr -type f)"
$M status
systemctl stop postfix postfix@-.service
$M deactivate smtp | tee /tmp/out || fail="$fail [deactivate]"
systemctl daemon-reload
upper "after deactivate"
check absent postfix
check test ! -e /usr/sbin/postconf
check test ! -e /etc/postfix/main.cf
packages > /tmp/pk-after
check cmp /tmp/pk-before /tmp/pk-after
`, "smtp")
}

// TestActivateDebianTwo activates lightx (Xorg, 130 MiB of layer) and smtp,
// two modules built on console, together, and deactivates them in either
// order: dpkg knows the packages of both, then of the one left (with the
// library both install), then only console's. Builds lightx (minutes, once) and boots Debian once.
func TestActivateDebianTwo(t *testing.T) {
	debianActivate(t, `
packages > /tmp/pk-before
both() {
	check installed postfix
	check installed xterm
	check installed openbox
	check sh -c 'postconf -h mail_version'
	check sh -c 'xterm -version'
}
$M activate lightx || fail="$fail [activate lightx]"
$M activate smtp || fail="$fail [activate smtp]"
both
$M deactivate lightx | tee /tmp/out || fail="$fail [deactivate lightx]"
check sh -c '! grep -q "dpkg status: kept" /tmp/out'
check installed libicu72 # postfix's too: smtp still has it
check absent xterm
check test ! -e /usr/bin/xterm
check installed postfix
check sh -c 'postconf -h mail_version'
$M deactivate smtp | tee /tmp/out || fail="$fail [deactivate smtp]"
check sh -c '! grep -q "dpkg status: kept" /tmp/out'
check absent libicu72
packages > /tmp/pk-after
check cmp /tmp/pk-before /tmp/pk-after
$M activate smtp || fail="$fail [activate smtp 2]"
$M activate lightx || fail="$fail [activate lightx 2]"
both
$M deactivate smtp | tee /tmp/out || fail="$fail [deactivate smtp 2]"
check sh -c '! grep -q "dpkg status: kept" /tmp/out'
check installed libicu72 # lightx's too
check absent postfix
check test ! -e /usr/sbin/postconf
check installed xterm
check sh -c 'xterm -version'
$M deactivate lightx || fail="$fail [deactivate lightx 2]"
packages > /tmp/pk-after
check cmp /tmp/pk-before /tmp/pk-after
upper "at the end"
`, "smtp", "lightx")
}
