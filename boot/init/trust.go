package modeinit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Where mode initramfs --trust puts the public keys, and the file
// --allow-weaker-verify adds (docs/trust.md).
const (
	trustDir        = "/etc/mode/trust"
	allowWeakerFile = "/etc/mode/trust/allow-weaker"
)

// The values of mode.verify.
const (
	verifyOff     = "off"     // no signature check, no dm-verity
	verifyWarn    = "warn"    // check, say what fails, boot anyway
	verifyRequire = "require" // refuse what does not check
)

// verifyMode checks a mode.verify value.
func verifyMode(v string) (string, error) {
	switch v {
	case verifyOff, verifyWarn, verifyRequire:
		return v, nil
	}
	return "", fmt.Errorf("want off, warn or require")
}

// policy is what the trust step decided.
type policy struct {
	mode string
	keys []*trust.PublicKey
}

// loadPolicy reads the keys in dir and applies mode.verify (verify) to
// them: require by default with keys, off without; off and warn only when
// the initramfs allows weaker verification (allow names that file).
func loadPolicy(dir, allow, verify string) (policy, error) {
	var files []string
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return policy{}, err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pub") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	keys, err := trust.LoadPublicKeys(files...)
	if err != nil {
		return policy{}, err
	}
	p := policy{mode: verify, keys: keys}
	_, err = os.Stat(allow)
	weaker := err == nil
	switch {
	case p.mode == "" && len(keys) > 0:
		p.mode = verifyRequire
	case p.mode == "":
		p.mode = verifyOff
	case p.mode == verifyRequire && len(keys) == 0:
		return p, fmt.Errorf("mode.verify=require: this initramfs holds no trusted keys (mode initramfs --trust KEY.pub)")
	case p.mode != verifyRequire && len(keys) > 0 && !weaker:
		return p, fmt.Errorf("mode.verify=%s: this initramfs trusts keys and was not built to allow weaker verification (mode initramfs --allow-weaker-verify)", p.mode)
	}
	return p, nil
}

// checks reports whether p checks signatures and verity (warn or require).
func (p policy) checks() bool { return p.mode == verifyWarn || p.mode == verifyRequire }

// ids lists the key IDs of p.
func (p policy) ids() string {
	var s []string
	for _, k := range p.keys {
		s = append(s, k.ID)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// trustPolicy is the boot step that reads the trusted keys and mode.verify.
func (b *boot) trustPolicy() (string, error) {
	p, err := loadPolicy(trustDir, allowWeakerFile, b.p.verify)
	if err != nil {
		return "", err
	}
	b.pol = p
	return fmt.Sprintf("mode.verify=%s, trusted keys: %s", p.mode, p.ids()), nil
}

// failf reports a verification failure: an error with require, a warning
// with warn.
func (b *boot) failf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if b.pol.mode == verifyRequire {
		return err
	}
	b.logf("mode.verify=warn: %v (booting anyway)", err)
	return nil
}

// verifyRef resolves mode.ref to its manifest digest and checks the
// signatures stored for it against the trusted keys. It returns the ref
// pinned to that digest (what is pulled: a tag moved meanwhile changes
// nothing) and the chain's config, read through that manifest. With
// mode.mirrors the first registry that answers resolves the tag and serves
// the signatures, which vouch for the digest whichever registry it came from.
// It keeps the manifest, config and signatures in b.signed for the cache.
func (b *boot) verifyRef(ctx context.Context) (string, *store.Chain, error) {
	r := trust.Remote{Insecure: b.p.insecure}
	var d name.Digest
	var desc *ocispec.Descriptor
	var errs []error
	all := true
	for _, ref := range b.refs() {
		var err error
		if d, desc, err = r.Resolve(ctx, ref); err == nil {
			errs = nil
			break
		}
		errs = append(errs, err)
		all = all && remote.Unreachable(err)
		if len(b.p.mirrors) > 0 {
			b.logf("%s: %v (trying the next registry)", ref, err)
		}
	}
	if len(errs) > 0 {
		err := remote.JoinErrors(errs)
		if all {
			err = fmt.Errorf("%w: %w", remote.ErrUnreachable, err)
		}
		return "", nil, fmt.Errorf("mode.ref=%s: %w", b.p.ref, err)
	}
	d, err := b.indexEntry(ctx, d, desc)
	if err != nil {
		return "", nil, fmt.Errorf("mode.ref=%s: %w", b.p.ref, err)
	}
	var sigs []trust.Signature
	if len(b.pol.keys) > 0 {
		var looked string
		var err error
		sigs, looked, err = r.Signatures(ctx, d)
		if err != nil {
			err = fmt.Errorf("chain %s (%s): signatures: %w", b.p.ref, d.DigestStr(), err)
			if err := b.failf("%w", err); err != nil {
				return "", nil, err
			}
		} else if k, err := trust.Verify(b.pol.keys, d.DigestStr(), sigs); err != nil {
			if ve, ok := err.(*trust.VerifyError); ok {
				ve.Looked = looked
			}
			if err := b.failf("chain %s refused: %w", b.p.ref, err); err != nil {
				return "", nil, err
			}
		} else {
			b.logf("chain %s %s: signed by key %s", b.p.ref, layers.ShortDigest(d.DigestStr()), k.ID)
		}
	}
	manifest, config, err := fetchSigned(ctx, d)
	if err != nil {
		return "", nil, fmt.Errorf("mode.ref=%s: %w", b.p.ref, err)
	}
	c, err := parseSigned(d.DigestStr(), manifest, config)
	if err != nil {
		return "", nil, fmt.Errorf("mode.ref=%s: %w", b.p.ref, err)
	}
	if err := b.verityData(c); err != nil {
		return "", nil, err
	}
	b.signed = &lastBoot{Manifest: manifest, Config: config, Signatures: sigs}
	return d.String(), c, nil
}

// indexEntry is d itself, or, where d (described by desc) is an image index
// of chains (one tag for every architecture), the digest of its entry for
// this machine's architecture: the chain whose signatures are checked and
// which is booted.
func (b *boot) indexEntry(ctx context.Context, d name.Digest, desc *ocispec.Descriptor) (name.Digest, error) {
	if desc == nil || desc.MediaType != ocispec.MediaTypeImageIndex {
		return d, nil
	}
	got, err := ggcr.Get(d, ggcr.WithContext(ctx))
	if err != nil {
		return d, err
	}
	e, err := remote.IndexEntry(got.Manifest, d, runtime.GOARCH)
	if err != nil {
		return d, err
	}
	entry, ok := e.(name.Digest)
	if !ok {
		return d, fmt.Errorf("index %s: its %s entry %s is not a digest", d.DigestStr(), runtime.GOARCH, e)
	}
	b.logf("index %s: the %s chain %s", layers.ShortDigest(d.DigestStr()), runtime.GOARCH, layers.ShortDigest(entry.DigestStr()))
	return entry, nil
}

// verityData applies the policy to a chain whose layers lack verity data.
func (b *boot) verityData(c *store.Chain) error {
	for _, m := range c.Layers {
		if m.Verity == nil {
			if err := b.failf("chain %s: layer %s has no dm-verity data (built before mode had it; rebuild it, or boot it with mode.verify=warn)", b.p.ref, m.File); err != nil {
				return err
			}
		}
	}
	return nil
}

// refs returns mode.ref on each registry to try: the mirrors, then its own.
func (b *boot) refs() []string {
	var out []string
	if i := strings.Index(b.p.ref, "/"); i >= 0 {
		for _, h := range b.p.mirrors {
			out = append(out, h+b.p.ref[i:])
		}
	}
	return append(out, b.p.ref)
}

// chainConfig reads the config of the chain manifest d: its digest is in
// the manifest, so a verified manifest vouches for it and for every layer's
// verity root hash in it. Each layer's file name must be the one the
// manifest gives it (what the pull writes), a plain file name.
func chainConfig(ctx context.Context, d name.Digest) (*store.Chain, error) {
	manifest, config, err := fetchSigned(ctx, d)
	if err != nil {
		return nil, err
	}
	return parseSigned(d.DigestStr(), manifest, config)
}

// fetchSigned fetches the manifest d and its config, as served: parseSigned
// checks them.
func fetchSigned(ctx context.Context, d name.Digest) (manifest, config []byte, err error) {
	opts := []ggcr.Option{ggcr.WithContext(ctx)}
	desc, err := ggcr.Get(d, opts...)
	if err != nil {
		return nil, nil, err
	}
	m, err := store.ParseChainManifest(desc.Manifest)
	if err != nil {
		return nil, nil, fmt.Errorf("manifest %s: %w", d.DigestStr(), err)
	}
	if m.Config.Size > 16<<20 {
		return nil, nil, fmt.Errorf("manifest %s: config of %d bytes", d.DigestStr(), m.Config.Size)
	}
	l, err := ggcr.Layer(d.Context().Digest(string(m.Config.Digest)), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("chain config %s: %w", m.Config.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, nil, fmt.Errorf("chain config %s: %w", m.Config.Digest, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, m.Config.Size+1))
	if err != nil {
		return nil, nil, fmt.Errorf("chain config %s: %w", m.Config.Digest, err)
	}
	return desc.Manifest, raw, nil
}

// parseSigned checks the manifest (whose digest must be d) and the config
// it names, wherever they came from (a registry, the cache disk), and
// returns the chain.
func parseSigned(d string, manifest, config []byte) (*store.Chain, error) {
	if got := digest.FromBytes(manifest); string(got) != d {
		return nil, fmt.Errorf("manifest %s: %w: content is %s", d, store.ErrDigest, got)
	}
	m, err := store.ParseChainManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d, err)
	}
	// The manifest's digest of the config is what the signature vouches
	// for: check it here, whatever the reader checked.
	if got := digest.FromBytes(config); int64(len(config)) != m.Config.Size || got != m.Config.Digest {
		return nil, fmt.Errorf("chain config %s: got %d bytes with digest %s, the manifest says %d bytes", m.Config.Digest, len(config), got, m.Config.Size)
	}
	c, err := store.ParseChainConfig(config, m)
	if err != nil {
		return nil, err
	}
	for i, l := range m.Layers {
		if t := l.Annotations[store.AnnotationTitle]; c.Layers[i].File != t {
			return nil, fmt.Errorf("chain config %s: layer %d is %q, its manifest says %q", m.Config.Digest, i, c.Layers[i].File, t)
		}
	}
	return c, nil
}

// cachedVerity returns the layers of c already in dir with their size and
// with verity data: they are not read whole again, dm-verity checks each
// block of them as it is read.
func cachedVerity(dir string, c *store.Chain) map[string]bool {
	ok := map[string]bool{}
	for _, m := range c.Layers {
		if m.Verity == nil {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, m.File)); err == nil && fi.Size() == m.Size && fi.Mode().IsRegular() {
			ok[m.Name] = true
		}
	}
	return ok
}

// signedLocal applies the policy to a chain found on local media (its
// layers' metadata, base first): with keys, the signed chain file beside its
// top layer (trust.SignedSuffix) must carry a signature by one of them, and
// the chain config it signs, with every layer's digest and verity root hash,
// replaces the metadata files, which nothing signs.
func (b *boot) signedLocal(dir string, metas []layers.Meta) ([]layers.Meta, error) {
	if !b.pol.checks() || len(b.pol.keys) == 0 {
		return metas, nil
	}
	stem := strings.TrimSuffix(metas[len(metas)-1].File, ".sqfs")
	what := fmt.Sprintf("mode.from=%s: chain %s", b.p.from, stem)
	file := filepath.Join(dir, stem+trust.SignedSuffix)
	sg, err := trust.ReadSigned(file)
	if errors.Is(err, os.ErrNotExist) {
		return metas, b.failf("%s refused: no signed chain %s beside its layers (mode sign CHAIN --key KEY --out DIR writes it); keys tried: %s",
			what, filepath.Base(file), b.pol.ids())
	} else if err != nil {
		return metas, b.failf("%s refused: %w", what, err)
	}
	d, c, k, err := sg.Verify(b.pol.keys)
	if err != nil {
		var ve *trust.VerifyError
		if errors.As(err, &ve) {
			ve.Looked = filepath.Base(file)
		}
		return metas, b.failf("%s refused: %w", what, err)
	}
	if len(c.Layers) != len(metas) {
		return metas, b.failf("%s refused: the signed chain has %d layers, the medium %d", what, len(c.Layers), len(metas))
	}
	for i := range metas {
		if c.Layers[i].File != metas[i].File {
			return metas, b.failf("%s refused: layer %d is %s in the signed chain, %s on the medium", what, i, c.Layers[i].File, metas[i].File)
		}
		if c.Layers[i].Verity == nil {
			if err := b.failf("%s: layer %s has no dm-verity data (built before mode had it; rebuild it, or boot it with mode.verify=warn)", what, c.Layers[i].File); err != nil {
				return metas, err
			}
		}
	}
	b.logf("chain %s %s: signed by key %s", stem, layers.ShortDigest(string(d)), k.ID)
	return c.Layers, nil
}
