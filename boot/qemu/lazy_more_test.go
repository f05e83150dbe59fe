package qemu_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/trust"
)

// lazySigned is TestBootLazy's signed boot, one boot proving four things
// of mode.lazy=on: tiny:extra signed, booted by an initramfs that trusts
// the key (mode.verify=require), its signature checked before any layer is
// mapped; mode.noload=^extra$ leaves extra out, its blob never asked for;
// mode.toram: the fill into RAM ends before switch_root (lazy.json done
// when the system starts, no blob byte served after switch_root); in the
// booted system mode activate refuses (the layers are checked by dm-verity
// for a signature) and mode save --push gives the saved layer the booted
// layers' digests as its parents.
func lazySigned(t *testing.T, dir string) {
	const token = "lazy-push-token"
	reg := newLazyRegistry(t, dir, serve.WithPushToken(token))
	host := strings.TrimPrefix(reg.srv.URL, "http://")
	ctx := context.Background()
	r := trust.Remote{Auth: &authn.Bearer{Token: token}}
	signer, pub, initrd := siteTrust(t)
	d, desc, err := r.Resolve(ctx, host+"/tiny:extra")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := trust.Payload(d.Context().Name(), d.DigestStr(), nil)
	sig, err := trust.Sign(signer, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Attach(ctx, d, desc, sig); err != nil {
		t.Fatal(err)
	}
	chain, _, err := remote.Chain(ctx, host+"/tiny:extra")
	if err != nil {
		t.Fatal(err)
	}
	extra := chain.Layers[3].Digest

	script := scriptDisk(t, `
if grep -q '"done": true' /run/mode/lazy.json && grep -q '"whole": true' /run/mode/lazy.json; then echo TORAM-DONE-AT-START; else cat /run/mode/lazy.json; echo TORAM-NOT-DONE; fi
/run/mode/bin/mode activate extra >/tmp/act 2>&1; cat /tmp/act
grep -q 'checked by dm-verity' /tmp/act && echo ACTIVATE-REFUSED
echo saved-by-a-lazy-boot > /root/lazy.txt
if /run/mode/bin/mode save mine --push; then echo LAZY-SAVE-PUSHED; else echo LAZY-SAVE-FAILED; fi
`)
	var atSwitch, atStart atomic.Int64
	var extraAsked atomic.Bool
	hooks := &multiHook{hooks: []*consoleHook{
		{text: "s at switch_root", f: func() {
			atSwitch.Store(reg.sent.Load())
			_, asked := reg.asked.Load(extra)
			extraAsked.Store(asked)
		}},
		{text: "TORAM-DONE-AT-START", f: func() { atStart.Store(reg.sent.Load()) }},
	}}
	m := netMachine(t, "mode.ref="+reg.addr()+"/tiny:extra mode.insecure mode.lazy=on mode.toram mode.noload=^extra$ mode.token="+token+" tiny.run=/dev/vda", script)
	m.Initrd = initrd
	res, err := qemu.Run(ctx, m, qemu.Watch{Expect: "LAZY-SAVE-PUSHED", Line: true,
		Fail: []string{"LAZY-SAVE-FAILED", "TORAM-NOT-DONE", "mode-init: FAILED", "MODE-TINY-OK"}, Timeout: 5 * time.Minute, Console: hooks})
	if err != nil {
		t.Fatal(err)
	}
	logLines(t, res.Console, "signed by key", "mode-init: mapped", "left out", "toram", "lazy:", "at switch_root", "module extra", "mode save")
	t.Logf("LAZY-SAVE-PUSHED after %.1fs", res.Elapsed.Seconds())
	signed := strings.Index(res.Console, ": signed by key "+pub.ID)
	mapped := strings.Index(res.Console, "mode-init: mapped 3 layers")
	if signed < 0 || mapped < 0 || signed > mapped {
		t.Errorf("the signature is not checked before the layers are mapped (at %d, mapped at %d)", signed, mapped)
	}
	for _, want := range []string{
		"mode-init: layer base-essential-console-extra.sqfs left out (mode.load/mode.noload)",
		"MODE-TINY-FAIL: [test -f /etc/extra.conf]", // extra left out, the rest as it should be
		"into RAM, which the boot waits for before switch_root (mode.toram)",
		"mode.toram: every layer whole in RAM and checked",
		"TORAM-DONE-AT-START", "ACTIVATE-REFUSED",
	} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if extraAsked.Load() {
		t.Errorf("the registry was asked for extra's blob %s, which mode.noload left out, before switch_root", extra)
	}
	if atStart.Load() != atSwitch.Load() {
		t.Errorf("the registry served %d bytes of blobs after switch_root with mode.toram", atStart.Load()-atSwitch.Load())
	}

	// The saved layer's parents are the booted (signed) chain's layers.
	mine, _, err := remote.Pull(ctx, host+"/tiny:mine", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	top := mine.Layers[len(mine.Layers)-1]
	var want []string
	for _, l := range chain.Layers[:3] {
		want = append(want, l.Digest)
	}
	if strings.Join(top.ParentDigests, " ") != strings.Join(want, " ") || top.File != "base-essential-console-mine.sqfs" {
		t.Errorf("tiny:mine's top %s has parents %v, want the booted layers' %v", top.File, top.ParentDigests, want)
	}
}

// lazyActivate is TestBootLazy's activate boot: tiny:console booted lazily
// (unsigned) activates extra, which mode activate reads lazily too: its
// own lazy server maps extra's blob to an NBD device read by HTTP Range, a
// dm-verity device over it checks each block against extra's root hash,
// and the module is mounted from that; mode status shows its progress,
// the fill ends checked. mode deactivate extra while a process holds a
// file of the module open defers the dm device's removal, which happens,
// with the rest of the teardown, when that process ends; activated again
// and deactivated, it is torn down at once. Either way no dm device, NBD
// connection, server process, status file nor blob file stays.
func lazyActivate(t *testing.T, dir string) {
	reg := newLazyRegistry(t, dir)
	chain, _, err := remote.Chain(context.Background(), strings.TrimPrefix(reg.srv.URL, "http://")+"/tiny:extra")
	if err != nil {
		t.Fatal(err)
	}
	extra := chain.Layers[3].Digest
	script := scriptDisk(t, `
activate() {
  /run/mode/bin/mode activate extra >/tmp/act 2>&1; r=$?; cat /tmp/act
  if [ $r = 0 ] && grep -q extra /etc/extra.conf; then echo LAZY-ACTIVATE-OK; else echo LAZY-ACTIVATE-FAIL; fi
  src=$(awk '$2=="/run/mode/active/extra" {print $1}' /proc/mounts); dm=$(basename "$src"); nbd=$(ls /sys/block/$dm/slaves)
  [ -e /sys/block/$nbd/pid ] && echo "LAZY-MOUNTED from $src over /dev/$nbd"
  pid=$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' /run/mode/active.json)
}
gone() { # what of the lazy module stays, after waiting up to 30 s for its server
  i=0; while [ -d /proc/$pid ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
  leak=""
  [ -e /sys/block/$dm ] && leak="$leak dm:$dm"
  [ -e /sys/block/$nbd/pid ] && leak="$leak nbd:$nbd"
  [ -d /proc/$pid ] && leak="$leak server:$pid"
  ls /run/mode/lazy-* 2>/dev/null && leak="$leak status"
  [ -e /run/mode/layers/base-essential-console-extra.sqfs ] && leak="$leak blob"
  [ -e /etc/extra.conf ] && leak="$leak extra.conf"
  grep -q /run/mode/active/extra /proc/mounts && leak="$leak mount"
  if [ -n "$pid" ] && [ -z "$leak" ]; then echo "$1"; else echo "LAZY-LEAK pid=$pid:$leak"; fi
}
activate
/run/mode/bin/mode status | grep -A1 ' active '
i=0; while ! grep -q '"done": true' /run/mode/lazy-extra.json; do sleep 1; i=$((i+1)); [ $i -gt 60 ] && break; done
/run/mode/bin/mode status | grep -A1 ' active '
(exec 9</etc/extra.conf; echo LAZY-HOLDING; sleep 5) &
holder=$!
while ! [ -e /proc/$holder/fd/9 ]; do sleep 1; done
/run/mode/bin/mode deactivate extra
[ -e /sys/block/$dm ] && echo LAZY-DM-STILL-THERE
wait $holder
gone LAZY-DEFERRED-TEARDOWN-OK
activate
/run/mode/bin/mode deactivate extra
gone LAZY-TEARDOWN-OK
`)
	m := netMachine(t, "mode.ref="+reg.addr()+"/tiny:console mode.insecure mode.lazy=on tiny.run=/dev/vda", script)
	res := bootFor(t, m, "LAZY-TEARDOWN-OK", 4*time.Minute, "LAZY-ACTIVATE-FAIL", "LAZY-LEAK", "MODE-TINY-OK")
	logLines(t, res.Console, "mode-init: mapped", "activate", "extra", "LAZY-", "lazy")
	for _, want := range []string{"mode-init: mapped 3 layers", "MODE-TINY-FAIL: [test -f /etc/extra.conf]",
		"lazily: /dev/dm-", "LAZY-MOUNTED from /dev/dm-", "active base-essential-console-extra.sqfs",
		"lazy through /dev/dm-", "every layer local, checked (done)", "deactivated extra",
		"lazy: mode-active-extra is still in use", "LAZY-DM-STILL-THERE", "LAZY-DEFERRED-TEARDOWN-OK"} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if _, ok := reg.asked.Load(extra); !ok {
		t.Errorf("the registry was never asked for extra's blob %s", extra)
	}
	if _, ok := reg.whole.Load(extra); ok {
		t.Errorf("the registry served extra's blob %s whole (a GET without Range): the activation downloaded it rather than read it lazily", extra)
	}
}
