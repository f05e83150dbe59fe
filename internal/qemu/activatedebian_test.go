package qemu_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestActivateDebian boots examples/debian's console from a registry and,
// in one boot, activates smtp (postfix) by its tag: postfix's binary runs,
// systemctl starts it, dpkg says it is installed; after deactivate dpkg says
// it is not, its files are gone and console's packages are all still known.
// It builds smtp into $MODE_ACTIVATE_DEBIAN_DIR (default .cache/e2e/debian,
// where make test builds console). Needs root and QEMU; minutes under TCG.
func TestActivateDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian module and boots Debian in QEMU: not with -short")
	}
	testutil.RequiresRoot(t)
	dir := os.Getenv("MODE_ACTIVATE_DEBIAN_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	}
	store := filepath.Join(dir, "store")
	testutil.BuildExample(t, "debian", filepath.Join(dir, "out"), store, "smtp")
	reg := serveStore(t, store)
	run := ` systemd.run="/bin/sh /dev/vda" systemd.run_success_action=none systemd.run_failure_action=none`
	script := scriptDisk(t, `
exec > /dev/console 2>&1
M=/run/mode/bin/mode
fail=""
check() { "$@" || fail="$fail [$*]"; }
installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' | sort > /tmp/pk-before
check sh -c '! command -v postconf'
check sh -c "! dpkg-query -W -f='\${db:Status-Abbrev}' postfix 2>/dev/null | grep -q ^ii"
t0=$(date +%s.%N)
$M activate smtp || fail="$fail [activate]"
echo "activate took $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null)"
check installed postfix
dpkg -l postfix | tail -1
check sh -c 'postconf -h mail_version'
systemctl daemon-reload
check systemctl start postfix
check sh -c 'systemctl is-active postfix@-.service'
check test -z "$(find /run/mode/changes/usr -type f)"
du -s /run/mode/changes
$M status
systemctl stop postfix postfix@-.service
$M deactivate smtp | tee /tmp/out || fail="$fail [deactivate]"
systemctl daemon-reload
check sh -c "! dpkg-query -W -f='\${db:Status-Abbrev}' postfix 2>/dev/null | grep -q ^ii"
check test ! -e /usr/sbin/postconf
check test ! -e /etc/postfix/main.cf
dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' | sort > /tmp/pk-after
check cmp /tmp/pk-before /tmp/pk-after
du -s /run/mode/changes
if [ -z "$fail" ]; then echo MODE-DEBIAN-ACTIVATE-OK; else echo "failed:$fail"; sleep 1; echo MODE-DEBIAN-ACTIVATE-FAIL; fi
`)
	m := netMachine(t, "mode.ref="+reg+"/debian:console mode.insecure"+run, script)
	m.MemoryMiB = 1024
	res := bootFor(t, m, "MODE-DEBIAN-ACTIVATE-OK", 20*time.Minute, "MODE-DEBIAN-ACTIVATE-FAIL")
	logLines(t, res.Console, "activated ", "deactivated ", "kept ", "mode: ", "active ", "dpkg status", "activate took", "/run/mode/changes", "ii  postfix")
}
