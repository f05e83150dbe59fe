package modeinit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/mode-build/mode/report"
	"github.com/opencontainers/go-digest"
)

// signedCache makes a chain of two layers in a cache directory as a pull
// leaves it, signed by a new key; it returns the directory, the boot that
// pulled it (before keepLastBoot) and the key.
func signedCache(t *testing.T) (string, *boot, *trust.PublicKey) {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	var ls []store.Layer
	for _, n := range []string{"base", "extra"} {
		f := filepath.Join(src, n+".sqfs")
		os.WriteFile(f, []byte("layer "+n), 0o644)
		ls = append(ls, store.Layer{Path: f, Meta: layers.Meta{Name: n}})
	}
	if _, err := s.AddChain(context.Background(), "tiny", "extra", ls); err != nil {
		t.Fatal(err)
	}
	c, m, d, err := s.Chain("tiny", "extra")
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := s.ReadBlob(d)
	config, _ := s.ReadBlob(m.Config.Digest)
	dir := t.TempDir()
	for _, l := range c.Layers {
		data, _ := s.ReadBlob(digest.Digest(l.Digest))
		os.WriteFile(filepath.Join(dir, l.File), data, 0o644)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := &trust.PublicKey{Key: &priv.PublicKey, ID: trust.KeyID(&priv.PublicKey)}
	p, err := trust.Payload("10.0.2.2:5000/tiny", string(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := trust.Sign(priv, p)
	if err != nil {
		t.Fatal(err)
	}
	b := &boot{out: &bytes.Buffer{}, p: params{ref: "10.0.2.2:5000/tiny:extra", cache: "/dev/vda"}, cacheDir: dir}
	b.dl = &download{name: "base-extra", ref: b.p.ref, digest: string(d), metas: c.Layers, dir: dir}
	b.signed = &lastBoot{Manifest: manifest, Config: config, Signatures: []trust.Signature{*sig}}
	return dir, b, key
}

// TestOfflineBoot: the chain recorded by a boot from the cache boots again
// when no registry answers, checked as a pull would be.
func TestOfflineBoot(t *testing.T) {
	cause := remote.ErrUnreachable
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey := &trust.PublicKey{Key: &other.PublicKey, ID: trust.KeyID(&other.PublicKey)}
	require := func(k *trust.PublicKey) policy { return policy{mode: verifyRequire, keys: []*trust.PublicKey{k}} }
	warn := func(k *trust.PublicKey) policy { return policy{mode: verifyWarn, keys: []*trust.PublicKey{k}} } // the test's layers have no verity data
	for _, tc := range []struct {
		name   string
		before func(b *boot)    // the boot that recorded the chain, before it did
		after  func(dir string) // the cache, after
		noload string
		pol    func(key *trust.PublicKey) policy
		err    string // "": it boots
		layers int
		log    string
	}{
		{name: "unsigned", layers: 2},
		{name: "signed", pol: warn, layers: 2, log: "signed by key"},
		{name: "noload", noload: "^extra$", pol: warn, layers: 1, log: "layer extra.sqfs left out"},
		{name: "never booted", after: func(dir string) { os.Remove(filepath.Join(dir, lastBootFile)) },
			err: "nothing to boot offline from mode.cache=/dev/vda: no chain was booted from it yet"},
		{name: "layer replaced since", after: func(dir string) {
			os.WriteFile(filepath.Join(dir, "extra.sqfs"), []byte("layer EXTRA"), 0o644)
		}, err: "layer extra.sqfs: digest"},
		{name: "another key", pol: func(*trust.PublicKey) policy { return require(otherKey) }, err: "refused"},
		{name: "recorded without verification", before: func(b *boot) { b.signed = nil }, pol: require,
			err: "no manifest or signature was kept with it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, pulled, key := signedCache(t)
			if tc.before != nil {
				tc.before(pulled)
			}
			pulled.keepLastBoot()
			if tc.after != nil {
				tc.after(dir)
			}
			var out bytes.Buffer
			b := &boot{out: &out, p: params{ref: pulled.p.ref, cache: "/dev/vda"}}
			if tc.noload != "" {
				b.p.noload = regexp.MustCompile(tc.noload)
			}
			if tc.pol != nil {
				b.pol = tc.pol(key)
			}
			msg, err := b.offlineBoot(dir, cause)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("offline boot: %q, %v; want an error with %q", msg, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("offline boot: %v\n%s", err, out.String())
			}
			if !strings.HasPrefix(msg, "OFFLINE: booting base-extra sha256:") || !errors.Is(b.offline, cause) {
				t.Errorf("summary %q, offline %v", msg, b.offline)
			}
			if !strings.Contains(out.String(), "OFFLINE: no registry answered") || !strings.Contains(out.String(), tc.log) {
				t.Errorf("console lacks the cause:\n%s", out.String())
			}
			if len(b.dl.metas) != tc.layers || b.dl.digest != pulled.dl.digest || b.dl.dir != dir {
				t.Errorf("download %+v; want %d layers of %s", b.dl, tc.layers, pulled.dl.digest)
			}
			if !b.booted().Offline {
				t.Errorf("chain.json does not say offline")
			}
		})
	}
}

// TestQueuedReport: an offline boot's report is kept in the cache directory
// and taken (once) by the next boot.
func TestQueuedReport(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	b := &boot{out: &out, queueDir: dir}
	r := &report.Report{Kind: report.KindBoot, Machine: report.Machine{MAC: "52:54:00:00:00:01"}, Steps: []report.Step{{Name: "fetch", MS: 5}}, OK: true, Offline: true}
	b.queueReport(r)
	got := takeQueued(dir)
	if got == nil || !got.Offline || got.Machine.MAC != r.Machine.MAC {
		t.Fatalf("queued report %+v; want %+v\n%s", got, r, out.String())
	}
	if again := takeQueued(dir); again != nil {
		t.Errorf("the queued report was taken twice")
	}
	(&boot{out: &out}).queueReport(r) // no disk: said, not kept
	if !strings.Contains(out.String(), "not kept") {
		t.Errorf("no word of the lost report:\n%s", out.String())
	}
}
