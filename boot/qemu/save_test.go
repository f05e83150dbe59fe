package qemu_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
)

// scriptDisk writes script on a raw disk image for tiny.run=DEV (tiny's rcS
// runs `sh DEV`) or systemd.run="/bin/sh DEV": the text padded with zeros,
// after an exit so the shell never reads the padding.
func scriptDisk(t testing.TB, script string) qemu.Disk {
	t.Helper()
	data := []byte(strings.TrimSpace(script) + "\nexit 0\n")
	data = append(data, make([]byte, 4096-len(data)%4096)...)
	f := filepath.Join(t.TempDir(), "script.img")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return qemu.Disk{File: f, ReadOnly: true}
}

// serveStorePush serves the store at dir on 127.0.0.1, accepting pushes with
// token; it returns the guest's HOST:PORT and the host's.
func serveStorePush(t testing.TB, dir, token string) (guest, host string) {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.New(s, serve.WithPushToken(token)).Handler())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return "10.0.2.2:" + u.Port(), u.Host
}

// bootFor boots m until expect ends a line, failing on fail texts or the
// init's failure.
func bootFor(t *testing.T, m qemu.Machine, expect string, timeout time.Duration, fail ...string) *qemu.Result {
	t.Helper()
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: expect, Line: true, Fail: append(fail, "mode-init: FAILED"), Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %.1fs", expect, res.Elapsed.Seconds())
	return res
}

// TestSaveTinyPush boots examples/tiny from a registry that accepts pushes
// with the boot's token; in the guest a file is created, a base file deleted
// and a config file edited, and /run/mode/bin/mode save mine --push publishes
// the chain plus the new layer as tiny:mine (plain HTTP, as the boot, and the
// token of mode.token). Booting tiny:mine shows the three changes; booting it
// with mode.noload dropping a parent stops in the rescue shell naming the
// saved layer.
func TestSaveTinyPush(t *testing.T) {
	testutil.RequiresRoot(t)
	store := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), store)
	const token = "guest-push-token"
	reg, host := serveStorePush(t, store, token)
	ref := "mode.ref=" + reg + "/tiny:extra mode.insecure mode.token=" + token + " tiny.run=/dev/vda"

	change := scriptDisk(t, `
echo created-by-guest > /root/mine.txt
rm /etc/group
echo edited-by-guest > /etc/essential.conf
if /run/mode/bin/mode save mine --push; then echo MODE-SAVE-PUSHED; else echo MODE-SAVE-FAILED; fi
`)
	res := bootFor(t, netMachine(t, ref, change), "MODE-SAVE-PUSHED", 3*time.Minute, "MODE-SAVE-FAILED", "MODE-TINY-FAIL")
	if want := "pushed " + reg + "/tiny:mine sha256:"; !strings.Contains(res.Console, want) {
		t.Errorf("console lacks %q:\n%s", want, res.Console)
	}
	logLines(t, res.Console, "mode save: ", "pushed ")

	// The registry has tiny:mine: the booted chain plus the saved layer,
	// holding the three changes and nothing else of note.
	dir := t.TempDir()
	c, _, err := remote.Pull(context.Background(), host+"/tiny:mine", dir)
	if err != nil {
		t.Fatal(err)
	}
	top := c.Layers[len(c.Layers)-1]
	if len(c.Layers) != 5 || top.File != "base-essential-console-extra-mine.sqfs" || len(top.ParentDigests) != 4 {
		t.Fatalf("tiny:mine: %d layers, top %+v", len(c.Layers), top)
	}
	entries, err := squashfs.Inspect(filepath.Join(dir, top.File))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
	}
	for _, want := range []string{"/root/mine.txt", "/etc/group", "/etc/essential.conf"} {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+want+" ") {
			t.Errorf("saved layer lacks %s: %v", want, got)
		}
	}

	check := scriptDisk(t, `
fail=""
check() { "$@" || fail="$fail [$*]"; }
check grep -qx created-by-guest /root/mine.txt
check test ! -e /etc/group
check grep -qx edited-by-guest /etc/essential.conf
check grep -q '"file": "base-essential-console-extra-mine.sqfs"' /run/mode/chain.json
if [ -z "$fail" ]; then echo MODE-SAVED-OK; else echo "failed:$fail"; sleep 1; echo MODE-SAVED-FAIL; fi
`)
	mine := "mode.ref=" + reg + "/tiny:mine mode.insecure tiny.run=/dev/vda"
	t.Run("boot the saved tag", func(t *testing.T) {
		bootFor(t, netMachine(t, mine, check), "MODE-SAVED-OK", 3*time.Minute, "MODE-SAVED-FAIL", "MODE-TINY-FAIL")
	})
	t.Run("a parent left out", func(t *testing.T) {
		res, err := qemu.Run(context.Background(), netMachine(t, mine+" mode.noload=^extra$", check), qemu.Watch{
			Expect: "(mode rescue) # ", Fail: []string{"MODE-SAVED-", "MODE-TINY-"}, Timeout: 3 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "mode-init: FAILED at mount layers: layer base-essential-console-extra-mine.sqfs: saved layer over a different parent chain: parent 4 of 4"
		if line := failedLine(res.Console); !strings.HasPrefix(line, want) {
			t.Errorf("failure line %q, want it to start with %q", line, want)
		}
	})
}

// TestChangesPersist boots examples/tiny from a disk of layers with
// mode.changes on an ext4 disk: a change made in one boot is there in the
// next; a shorter chain on the same disk does not see it; a disk without a
// file system stops the boot and stays unformatted.
func TestChangesPersist(t *testing.T) {
	testutil.RequiresRoot(t)
	layersDisk := qemu.Disk{File: tinyDisk(t), ReadOnly: true}
	changes := filepath.Join(t.TempDir(), "changes.img")
	if err := qemu.EmptyDisk(context.Background(), changes, 64); err != nil {
		t.Fatal(err)
	}
	changesDisk := qemu.Disk{File: changes}
	const args = "mode.from=/dev/vda mode.changes=/dev/vdb tiny.run=/dev/vdc"
	for _, tc := range []struct {
		name, args, script, expect, console string
		tinyFail                            string // tiny's own boot check failing (a shorter chain fails it)
	}{
		{"first boot changes", args, `
echo kept > /root/persist.txt
rm /etc/group
sync
echo MODE-PERSIST-WRITTEN`, "MODE-PERSIST-WRITTEN", " (new) in ", "MODE-TINY-FAIL"},
		{"second boot sees them and saves them", args, `
if grep -qx kept /root/persist.txt && test ! -e /etc/group; then echo persisted; else echo MODE-PERSIST-FAIL; fi
if /run/mode/bin/mode save kept --out /run/mode/mnt/vdb; then echo MODE-PERSIST-OK; else echo MODE-PERSIST-FAIL; fi`,
			"MODE-PERSIST-OK", " (kept from an earlier boot) in ", "MODE-TINY-FAIL"},
		{"another chain does not", args + " mode.ref=console", `
if test ! -e /root/persist.txt && test -e /etc/group; then echo MODE-OTHER-OK; else echo MODE-OTHER-FAIL; fi`,
			"MODE-OTHER-OK", " (new) in ", "MODE-TINY-OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := bootFor(t, machine(t, tc.args, layersDisk, changesDisk, scriptDisk(t, tc.script)), tc.expect, 2*time.Minute,
				"MODE-PERSIST-FAIL", "MODE-OTHER-FAIL", tc.tinyFail)
			if want := "mode-init: changes on /dev/vdb:mode/changes/"; !strings.Contains(res.Console, want) || !strings.Contains(res.Console, tc.console) {
				t.Errorf("console lacks %q…%q:\n%s", want, tc.console, res.Console)
			}
			if tc.expect == "MODE-PERSIST-OK" { // mode save read the upper on the disk
				if want := "saved /run/mode/mnt/vdb/base-essential-console-extra-kept.sqfs sha256:"; !strings.Contains(res.Console, want) {
					t.Errorf("console lacks %q:\n%s", want, res.Console)
				}
				logLines(t, res.Console, "saved ")
			}
		})
	}
	t.Run("no file system", func(t *testing.T) {
		blank := filepath.Join(t.TempDir(), "blank.img")
		if err := os.WriteFile(blank, make([]byte, 8<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		m := machine(t, "mode.from=/dev/vda mode.changes=/dev/vdb", layersDisk, qemu.Disk{File: blank})
		res, err := qemu.Run(context.Background(), m, qemu.Watch{
			Expect: "(mode rescue) # ", Fail: []string{"MODE-TINY-"}, Timeout: 2 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "mode-init: FAILED at changes: mode.changes=/dev/vdb: mount /dev/vdb: no file system"
		if line := failedLine(res.Console); !strings.HasPrefix(line, want) || !strings.Contains(line, "never formats") {
			t.Errorf("failure line %q, want %q… never formats", line, want)
		}
		data, err := os.ReadFile(blank)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, make([]byte, len(data))) {
			t.Error("the blank disk was written to")
		}
	})
}

// logLines logs the console's lines holding one of texts.
func logLines(t *testing.T, console string, texts ...string) {
	t.Helper()
	for _, l := range strings.Split(console, "\n") {
		for _, x := range texts {
			if strings.Contains(l, x) {
				t.Log(strings.TrimSpace(l))
				break
			}
		}
	}
}
