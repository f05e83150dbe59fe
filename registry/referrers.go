package registry

import (
	"encoding/json"
	"net/http"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Referrers returns the descriptors of the manifests in the store whose
// subject is digest d, optionally only those of artifactType.
func (s *Store) Referrers(d, artifactType string) ([]ocispec.Descriptor, error) {
	idx, err := s.Index()
	if err != nil {
		return nil, err
	}
	out := []ocispec.Descriptor{}
	seen := map[digest.Digest]bool{}
	for _, e := range idx.Manifests {
		if seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		raw, err := s.ReadBlob(string(e.Digest))
		if err != nil {
			continue
		}
		var m ocispec.Manifest
		if json.Unmarshal(raw, &m) != nil || m.Subject == nil || string(m.Subject.Digest) != d {
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

// referrers serves GET /v2/<name>/referrers/<digest>[?artifactType=…].
func (sv *Server) referrers(w http.ResponseWriter, r *http.Request, name, d string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of referrers")
		return
	}
	if checkDigest(d) != nil {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", "digest "+d)
		return
	}
	at := r.URL.Query().Get("artifactType")
	ds, err := sv.store.Referrers(d, at)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: IndexMediaType, Manifests: ds}
	writeJSON(w, http.StatusOK, IndexMediaType, idx)
}
