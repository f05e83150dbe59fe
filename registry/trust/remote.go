package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mode-build/mode/layers"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Remote reaches a registry: plain HTTP when Insecure (or for loopback
// hosts), credentials from Auth, else the docker config.
type Remote struct {
	Insecure  bool
	Auth      authn.Authenticator
	Transport http.RoundTripper
}

func (r Remote) options(ctx context.Context) []remote.Option {
	o := []remote.Option{remote.WithContext(ctx)}
	if r.Auth != nil {
		o = append(o, remote.WithAuth(r.Auth))
	} else {
		o = append(o, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if r.Transport != nil {
		o = append(o, remote.WithTransport(r.Transport))
	}
	return o
}

// ParseRef parses HOST[:PORT]/REPO[:TAG|@sha256:…].
func (r Remote) ParseRef(ref string) (name.Reference, error) {
	opts := []name.Option{name.StrictValidation}
	if r.Insecure || loopback(ref) {
		opts = append(opts, name.Insecure)
	}
	n, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("ref %q: %w", ref, err)
	}
	return n, nil
}

// Resolve returns the digest reference of ref's manifest and its descriptor.
func (r Remote) Resolve(ctx context.Context, ref string) (name.Digest, *ocispec.Descriptor, error) {
	n, err := r.ParseRef(ref)
	if err != nil {
		return name.Digest{}, nil, err
	}
	d, err := remote.Get(n, r.options(ctx)...)
	if err != nil {
		return name.Digest{}, nil, fmt.Errorf("%s: %w", ref, err)
	}
	if dr, ok := n.(name.Digest); ok && dr.DigestStr() != d.Digest.String() {
		return name.Digest{}, nil, fmt.Errorf("%s: the registry's manifest is %s", ref, d.Digest)
	}
	desc := &ocispec.Descriptor{MediaType: string(d.MediaType), Digest: digest.Digest(d.Digest.String()), Size: d.Size}
	return n.Context().Digest(d.Digest.String()), desc, nil
}

// Attach signs nothing itself: it stores signature s of the manifest
// subject (described by desc) in subject's repository, as cosign does: a
// layer of the manifest tagged SignatureTag(digest), added to the
// signatures already there (kept as they are; an identical signature is
// not added twice). The manifest names subject as its subject, so the
// referrers API lists it where the registry has one. A signature manifest
// already there that cannot be read is an error and nothing is pushed.
func (r Remote) Attach(ctx context.Context, subject name.Digest, desc *ocispec.Descriptor, s *Signature) error {
	opts := r.options(ctx)
	tag := subject.Context().Tag(SignatureTag(subject.DigestStr()))
	var es []entry
	old, err := remote.Get(tag, opts...)
	switch {
	case err == nil:
		if es, err = parseSignatureManifest(old.Manifest); err != nil {
			return fmt.Errorf("signatures of %s at %s: %w; nothing pushed", subject.DigestStr(), tag, err)
		}
	case isNotFound(err):
	default:
		return fmt.Errorf("signatures of %s at %s: %w", subject.DigestStr(), tag, err)
	}
	es, ne, added := addEntry(es, s)
	if !added {
		return nil // already there
	}
	if err := remote.WriteLayer(subject.Context(), static.NewLayer(ne.payload, types.MediaType(SimpleSigningMediaType)), opts...); err != nil {
		return fmt.Errorf("signature payload to %s: %w", subject.Context(), err)
	}
	put := func(withArtifact bool) error {
		raw, cfg, err := signatureManifest(desc, es, withArtifact)
		if err != nil {
			return err
		}
		if err := remote.WriteLayer(subject.Context(), static.NewLayer(cfg, imageConfigMediaType), opts...); err != nil {
			return fmt.Errorf("signature config: %w", err)
		}
		return remote.Put(tag, rawManifest(raw), opts...)
	}
	err = put(true)
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusBadRequest || te.StatusCode == http.StatusUnsupportedMediaType) {
		err = put(false) // a registry without image-spec 1.1 artifact types
	}
	if err != nil {
		return fmt.Errorf("signature manifest %s: %w", tag, err)
	}
	return nil
}

// Signatures returns the signatures stored for manifest subject: those of
// the tag SignatureTag(digest) (cosign's scheme) and those the referrers
// API lists with ArtifactType. looked says where it looked, for messages.
// A signature artifact that cannot be read (truncated, not JSON, a payload
// that does not match its digest) is an error naming it.
func (r Remote) Signatures(ctx context.Context, subject name.Digest) (sigs []Signature, looked string, err error) {
	opts := r.options(ctx)
	repo := subject.Context()
	tag := repo.Tag(SignatureTag(subject.DigestStr()))
	seen := map[string]bool{}
	looked = "tag " + tag.TagStr()
	d, err := remote.Get(tag, opts...)
	switch {
	case err == nil:
		seen[d.Digest.String()] = true
		s, err := r.readSignatures(ctx, repo, d.Manifest, "tag "+tag.TagStr())
		if err != nil {
			return nil, looked, err
		}
		sigs = append(sigs, s...)
	case !isNotFound(err):
		return nil, looked, fmt.Errorf("signatures at %s: %w", tag, err)
	}
	idx, err := remote.Referrers(subject, append(opts, remote.WithFilter("artifactType", ArtifactType))...)
	if err != nil {
		return sigs, looked + "; referrers: " + err.Error(), nil
	}
	looked += " and the referrers of " + subject.DigestStr()
	im, err := idx.IndexManifest()
	if err != nil {
		return sigs, looked, nil
	}
	for _, m := range im.Manifests {
		if seen[m.Digest.String()] || (m.ArtifactType != "" && m.ArtifactType != ArtifactType) {
			continue
		}
		seen[m.Digest.String()] = true
		md, err := remote.Get(repo.Digest(m.Digest.String()), opts...)
		if err != nil {
			return nil, looked, fmt.Errorf("signature manifest %s: %w", m.Digest, err)
		}
		s, err := r.readSignatures(ctx, repo, md.Manifest, "referrer "+layers.ShortDigest(m.Digest.String()))
		if err != nil {
			return nil, looked, err
		}
		sigs = append(sigs, s...)
	}
	return dedupe(sigs), looked, nil
}

// readSignatures reads the signatures of signature manifest raw.
func (r Remote) readSignatures(ctx context.Context, repo name.Repository, raw []byte, src string) ([]Signature, error) {
	if len(raw) > maxManifest {
		return nil, fmt.Errorf("%s: signature manifest larger than %d bytes", src, maxManifest)
	}
	es, err := parseSignatureManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	var out []Signature
	for i, e := range es {
		blob, err := r.blob(ctx, repo, e)
		if err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", src, i+1, err)
		}
		out = append(out, Signature{Payload: blob, Base64: e.desc.Annotations[SignatureAnnotation], Source: fmt.Sprintf("%s layer %d", src, i+1)})
	}
	return out, nil
}

// blob fetches and checks the payload blob of e.
func (r Remote) blob(ctx context.Context, repo name.Repository, e entry) ([]byte, error) {
	l, err := remote.Layer(repo.Digest(string(e.desc.Digest)), r.options(ctx)...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("payload %s: %w", e.desc.Digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("payload %s: %w", e.desc.Digest, err)
	}
	if cerr := checkPayload(e, b); cerr != nil {
		return nil, cerr
	}
	return b, nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// loopback reports whether ref's registry host is a loopback address.
func loopback(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// rawManifest is a manifest to remote.Put as it is.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// dedupe drops the signatures seen before (an older signature manifest the
// referrers API still lists repeats those of the newer one).
func dedupe(sigs []Signature) []Signature {
	seen := map[string]bool{}
	var out []Signature
	for _, s := range sigs {
		k := string(s.Payload) + "\x00" + s.Base64
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}
