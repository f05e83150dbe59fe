package qemu_test

import (
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"golang.org/x/sys/unix"
)

// TestBootTrust boots examples/tiny with an initramfs that trusts one key:
// the chain signed with it boots, every layer through dm-verity, cached on a
// disk; a cached layer changed on that disk afterwards is refused as it is
// read; an unsigned chain, a chain signed with another key and a tag moved
// to other content (with the signature copied beside it) each stop in the
// rescue shell saying which chain, which key and why.
func TestBootTrust(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs root and QEMU")
	}
	testutil.RequiresRoot(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool // every request answered 503: the registry is down
	reg := serve.New(s, serve.WithPushToken("t0ken")).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	host, guest := u.Host, "10.0.2.2:"+u.Port()
	r := trust.Remote{Auth: &authn.Bearer{Token: "t0ken"}}

	keys := t.TempDir()
	signer, pub, initrd := siteTrust(t)
	other, _ := trustKey(t, keys, "other")
	sign := func(key crypto.Signer, tag string) string {
		t.Helper()
		d, desc, err := r.Resolve(ctx, host+"/tiny:"+tag)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := trust.Payload(d.Context().Name(), d.DigestStr(), nil)
		sig, err := trust.Sign(key, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Attach(ctx, d, desc, sig); err != nil {
			t.Fatal(err)
		}
		return d.DigestStr()
	}
	extra := sign(signer, "extra")
	sign(other, "essential")

	cache := filepath.Join(t.TempDir(), "cache.img")
	if err := qemu.EmptyDisk(ctx, cache, 64); err != nil {
		t.Fatal(err)
	}
	boot := func(t *testing.T, tag, expect string, fail ...string) string {
		t.Helper()
		m := netMachine(t, "mode.ref="+guest+"/tiny:"+tag+" mode.insecure mode.cache=/dev/vda mode.fetch.timeout=20s", qemu.Disk{File: cache})
		m.Initrd = initrd
		res, err := qemu.Run(ctx, m, qemu.Watch{Expect: expect, Fail: fail, Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return res.Console
	}
	rescue := func(t *testing.T, tag string, want ...string) {
		t.Helper()
		console := boot(t, tag, "(mode rescue) # ", "MODE-TINY-")
		line := failedLine(console)
		for _, w := range append([]string{"mode-init: FAILED at fetch: chain " + guest + "/tiny:" + tag + " refused", "keys tried: " + pub.ID}, want...) {
			if !strings.Contains(line, w) {
				t.Errorf("the FAILED line lacks %q:\n%s\nconsole:\n%s", w, line, console)
			}
		}
	}

	t.Run("signed", func(t *testing.T) {
		console := boot(t, "extra", "MODE-TINY-OK", "MODE-TINY-FAIL", "mode-init: FAILED")
		for _, want := range []string{
			"mode-init: mode.verify=require, trusted keys: " + pub.ID,
			"mode-init: chain " + guest + "/tiny:extra " + extra[:19] + ": signed by key " + pub.ID,
		} {
			if !strings.Contains(console, want) {
				t.Errorf("console lacks %q:\n%s", want, console)
			}
		}
	})
	t.Run("offline from the cache", func(t *testing.T) {
		down.Store(true)
		defer down.Store(false)
		console := boot(t, "extra", "MODE-TINY-OK", "MODE-TINY-FAIL", "mode-init: FAILED")
		for _, want := range []string{
			"mode-init: OFFLINE: no registry answered",
			"mode-init: offline chain base-essential-console-extra (" + extra + "): signed by key " + pub.ID,
			"mode-init: OFFLINE: booting base-essential-console-extra " + extra[:19],
		} {
			if !strings.Contains(console, want) {
				t.Errorf("console lacks %q:\n%s", want, console)
			}
		}
	})
	t.Run("cached layer changed", func(t *testing.T) {
		changeOnDisk(t, cache, "mode/layers/base-essential-console-extra.sqfs")
		console := boot(t, "extra", "(mode rescue) # ", "MODE-TINY-")
		line := failedLine(console)
		for _, want := range []string{"(4 already cached; dm-verity checks them as they are read)",
			"FAILED at mount layers: layer base-essential-console-extra.sqfs: dm-verity refused a block as it was read"} {
			if !strings.Contains(console, want) {
				t.Errorf("console lacks %q (FAILED line %q):\n%s", want, line, console)
			}
		}
	})
	t.Run("unsigned", func(t *testing.T) { rescue(t, "base", "no signature found") })
	t.Run("another key", func(t *testing.T) {
		rescue(t, "essential", "does not verify with any trusted key (signed by another key)")
	})
	t.Run("tag moved to other content", func(t *testing.T) {
		// Someone who can write to the registry points the tag at other
		// content and copies the signature beside it.
		moveTag(t, r, host, "extra", "console", extra)
		rescue(t, "extra", "signs manifest "+extra+", not this one")
	})
}

// TestBootTrustLocal boots tiny from a disk of layers with an initramfs
// that trusts one key: with the signed chain file beside the layers (mode
// sign CHAIN --out) it boots; without it, it stops in the rescue shell.
func TestBootTrustLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs root and QEMU")
	}
	testutil.RequiresRoot(t)
	ctx := context.Background()
	out, dir := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, out, dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, pub := trustKey(t, t.TempDir(), "site")
	repo, d, err := trust.SignStore(s, "tiny:extra", signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := filepath.Join(t.TempDir(), "unsigned.img")
	if err := qemu.LayersDisk(ctx, out, unsigned); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.WriteSigned(s, repo, string(d), out); err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(t.TempDir(), "signed.img")
	if err := qemu.LayersDisk(ctx, out, signed); err != nil {
		t.Fatal(err)
	}
	initrd := trustInitramfs(t, pub.Source)
	for _, tc := range []struct{ name, disk, expect, want string }{
		{"signed", signed, "MODE-TINY-OK", "mode-init: chain base-essential-console-extra " + string(d)[:19] + ": signed by key " + pub.ID},
		{"unsigned", unsigned, "(mode rescue) # ", "mode-init: FAILED at fetch: mode.from=/dev/vda: chain base-essential-console-extra refused: no signed chain base-essential-console-extra.signed.json beside its layers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machine(t, "mode.from=/dev/vda", qemu.Disk{File: tc.disk, ReadOnly: true})
			m.Initrd = initrd
			fail := []string{"MODE-TINY-"}
			if tc.expect == "MODE-TINY-OK" {
				fail = []string{"MODE-TINY-FAIL", "mode-init: FAILED"}
			}
			res, err := qemu.Run(ctx, m, qemu.Watch{Expect: tc.expect, Fail: fail, Timeout: 2 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Console, tc.want) {
				t.Errorf("console lacks %q:\n%s", tc.want, res.Console)
			}
		})
	}
}

// TestBootTrustImage: mode image --trust puts the key in the initramfs and
// the store's signatures of the chain on the medium; the initramfs image
// (layers inside) boots, the chain checked.
func TestBootTrustImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs root and QEMU")
	}
	testutil.RequiresRoot(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, pub := trustKey(t, t.TempDir(), "site")
	if _, _, err := trust.SignStore(s, "tiny:extra", signer, nil); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "tiny.cpio")
	cmd := exec.Command(filepath.Join(testutil.Binaries(t), "mode"), "image", "tiny:extra", "--store", dir, "--format", "initramfs",
		"-o", img, "--kernel-modules", testutil.Kernel(t).Deb, "--trust", pub.Source)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "with the chain's signatures") {
		t.Fatalf("mode image: %v\n%s", err, out)
	}
	m := machine(t, "")
	m.Initrd = img
	res, err := qemu.Run(ctx, m, qemu.Watch{Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := ": signed by key " + pub.ID; !strings.Contains(res.Console, want) {
		t.Errorf("console lacks %q:\n%s", want, res.Console)
	}
}

// trustKey writes a key pair NAME.key, NAME.pub into dir.
func trustKey(t testing.TB, dir, name string) (crypto.Signer, *trust.PublicKey) {
	t.Helper()
	keyFile, pubFile, err := trust.WriteKeyPair(filepath.Join(dir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := trust.LoadSigner(keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := trust.LoadPublicKeys(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	return s, keys[0]
}

// trustInitramfs builds mode's initramfs trusting the public keys.
func trustInitramfs(t testing.TB, pubs ...string) string {
	t.Helper()
	return trustInitramfsAt(t, filepath.Join(t.TempDir(), "initrd.img"), pubs...)
}

// siteTrust is one signing key and an initramfs trusting it, made once per
// test binary (in the binaries' directory) and shared by TestBootTrust and
// TestBootLazy/signed: the initramfs takes a minute or more to build.
func siteTrust(t testing.TB) (crypto.Signer, *trust.PublicKey, string) {
	t.Helper()
	siteKey.once.Do(func() {
		dir := filepath.Join(testutil.Binaries(t), "site-trust")
		if siteKey.err = os.RemoveAll(dir); siteKey.err == nil {
			siteKey.err = os.MkdirAll(dir, 0o755)
		}
		if siteKey.err != nil {
			return
		}
		siteKey.signer, siteKey.pub = trustKey(t, dir, "site")
		siteKey.initrd = trustInitramfsAt(t, filepath.Join(dir, "initrd.img"), siteKey.pub.Source)
	})
	if siteKey.err != nil || siteKey.initrd == "" {
		t.Fatalf("the site key and its initramfs: %v (see the first test that made them)", siteKey.err)
	}
	return siteKey.signer, siteKey.pub, siteKey.initrd
}

var siteKey struct {
	once   sync.Once
	signer crypto.Signer
	pub    *trust.PublicKey
	initrd string
	err    error
}

// trustInitramfsAt builds mode's initramfs trusting the public keys into out.
func trustInitramfsAt(t testing.TB, out string, pubs ...string) string {
	t.Helper()
	bins := testutil.Binaries(t)
	files, err := initramfs.TrustFiles(pubs, false)
	if err != nil {
		t.Fatal(err)
	}
	opts := initramfs.Options{
		Init:          filepath.Join(bins, "mode-init"),
		Mode:          filepath.Join(bins, "mode"),
		Busybox:       initramfs.HostBusybox,
		KernelModules: testutil.Kernel(t).Deb,
		Files:         files,
	}
	res, err := initramfs.BuildFile(context.Background(), opts, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dm_mod", "dm_verity"} {
		if !strings.Contains(strings.Join(append(res.Modules, res.Builtin...), " "), want) {
			t.Fatalf("the initramfs lacks %s: %v", want, res.Modules)
		}
	}
	return out
}

// changeOnDisk flips the first bytes of file in the ext4 image, keeping its size.
func changeOnDisk(t *testing.T, image, file string) {
	t.Helper()
	loop, err := mount.AttachLoop(image, false)
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	mnt := t.TempDir()
	if err := unix.Mount(loop.Path, mnt, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := mount.Unmount(mnt); err != nil {
			t.Error(err)
		}
	}()
	f, err := os.OpenFile(filepath.Join(mnt, file), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 64)
	f.ReadAt(b, 0)
	for i := range b {
		b[i] ^= 0x5a
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
}

// moveTag points tag at the manifest of tag to, and copies the signature
// manifest of signed (what tag named) beside it, as one who can write to the
// registry but has no key could.
func moveTag(t *testing.T, r trust.Remote, host, tag, to, signed string) {
	t.Helper()
	ctx := context.Background()
	opts := []remote.Option{remote.WithAuth(r.Auth)}
	repo, err := name.NewRepository(host+"/tiny", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	target, err := remote.Get(repo.Tag(to), opts...)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := remote.Get(repo.Tag(trust.SignatureTag(signed)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, put := range []struct {
		tag string
		raw []byte
	}{{tag, target.Manifest}, {trust.SignatureTag(target.Digest.String()), sig.Manifest}} {
		if err := remote.Put(repo.Tag(put.tag), rawManifest(put.raw), append(opts, remote.WithContext(ctx))...); err != nil {
			t.Fatal(err)
		}
	}
}

// rawManifest is an OCI manifest to remote.Put as it is.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error) { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}
