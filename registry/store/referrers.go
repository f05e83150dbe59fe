package store

import (
	"encoding/json"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Referrers returns the descriptors of the manifests of repo whose subject is
// digest d, optionally only those of artifactType.
func (s *Store) Referrers(repo string, d digest.Digest, artifactType string) ([]ocispec.Descriptor, error) {
	v, err := s.index()
	if err != nil {
		return nil, err
	}
	out := []ocispec.Descriptor{}
	r := v.repos[repo]
	if r == nil {
		return out, nil
	}
	for _, e := range r.digests {
		raw, err := s.ReadBlob(e.Digest)
		if err != nil {
			continue
		}
		var m ocispec.Manifest
		if json.Unmarshal(raw, &m) != nil || m.Subject == nil || m.Subject.Digest != d {
			continue
		}
		at := m.ArtifactType
		if at == "" {
			at = m.Config.MediaType
		}
		if artifactType != "" && at != artifactType {
			continue
		}
		out = append(out, ocispec.Descriptor{
			MediaType: e.MediaType, Digest: e.Digest, Size: e.Size,
			ArtifactType: at, Annotations: m.Annotations,
		})
	}
	return out, nil
}
