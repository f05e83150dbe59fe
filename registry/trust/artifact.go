package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types and annotations of cosign's signature artifact.
const (
	// SimpleSigningMediaType is the media type of a signature's payload blob.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds the base64 signature on a payload's descriptor.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// ArtifactType is the artifactType of a signature manifest (cosign's, for
	// the referrers API).
	ArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
	// imageConfigMediaType is the config media type cosign gives the manifest.
	imageConfigMediaType = "application/vnd.oci.image.config.v1+json"
	manifestMediaType    = "application/vnd.oci.image.manifest.v1+json"
	// maxPayload bounds a payload blob read into memory.
	maxPayload = 1 << 20
	// maxManifest bounds a signature manifest read into memory.
	maxManifest = 4 << 20
)

// SignatureTag is the tag cosign stores the signatures of manifest digest d
// under: "sha256-<hex>.sig".
func SignatureTag(d string) string { return strings.Replace(d, ":", "-", 1) + ".sig" }

// entry is one signature layer of a signature manifest.
type entry struct {
	desc    ocispec.Descriptor
	payload []byte // nil when the blob is already in the registry
}

// payloadEntry is the layer of a new signature s.
func payloadEntry(s *Signature) entry {
	return entry{
		desc: ocispec.Descriptor{
			MediaType:   SimpleSigningMediaType,
			Digest:      digest.Digest(digestOf(s.Payload)),
			Size:        int64(len(s.Payload)),
			Annotations: map[string]string{SignatureAnnotation: s.Base64},
		},
		payload: s.Payload,
	}
}

// addEntry adds the layer of signature s to es unless es has it already.
func addEntry(es []entry, s *Signature) ([]entry, entry, bool) {
	ne := payloadEntry(s)
	for _, e := range es {
		if e.desc.Digest == ne.desc.Digest && e.desc.Annotations[SignatureAnnotation] == s.Base64 {
			return es, ne, false
		}
	}
	return append(es, ne), ne, true
}

// signatureManifest is the manifest holding signature layers es about
// subject, and its config blob: the image config cosign writes (each
// payload a layer whose diff ID is its digest), so that cosign and the
// tools of images read it as they read cosign's own.
func signatureManifest(subject *ocispec.Descriptor, es []entry, artifactType bool) (manifest, config []byte, err error) {
	cfg := v1.ConfigFile{RootFS: v1.RootFS{Type: "layers"}}
	for _, e := range es {
		h, err := v1.NewHash(string(e.desc.Digest))
		if err != nil {
			return nil, nil, err
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, h)
		cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: time.Time{}}})
	}
	config, err = json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: manifestMediaType,
		Config: ocispec.Descriptor{
			MediaType: imageConfigMediaType,
			Digest:    digest.Digest(digestOf(config)),
			Size:      int64(len(config)),
		},
		Subject: subject,
	}
	if artifactType {
		m.ArtifactType = ArtifactType
	}
	for _, e := range es {
		m.Layers = append(m.Layers, e.desc)
	}
	manifest, err = json.Marshal(m)
	return manifest, config, err
}

// parseSignatureManifest returns the signature layers of a signature
// manifest: layers of SimpleSigningMediaType with a signature annotation.
func parseSignatureManifest(raw []byte) ([]entry, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("signature manifest is not JSON (truncated?): %v", err)
	}
	if m.MediaType != "" && m.MediaType != manifestMediaType && m.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		return nil, fmt.Errorf("signature manifest has media type %s", m.MediaType)
	}
	var es []entry
	for i, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType {
			continue
		}
		if _, ok := l.Annotations[SignatureAnnotation]; !ok {
			continue
		}
		if err := l.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("signature layer %d: digest %q: %v", i+1, l.Digest, err)
		}
		if l.Size < 0 || l.Size > maxPayload {
			return nil, fmt.Errorf("signature layer %d: payload of %d bytes", i+1, l.Size)
		}
		es = append(es, entry{desc: l})
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("signature manifest has no %s layer with a %s annotation", SimpleSigningMediaType, SignatureAnnotation)
	}
	return es, nil
}

// checkPayload checks that blob is the payload e describes.
func checkPayload(e entry, blob []byte) error {
	if int64(len(blob)) != e.desc.Size {
		return fmt.Errorf("payload %s: %d bytes, its descriptor says %d (truncated?)", e.desc.Digest, len(blob), e.desc.Size)
	}
	if got := digestOf(blob); got != string(e.desc.Digest) {
		return fmt.Errorf("payload %s: content is %s", e.desc.Digest, got)
	}
	return nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
