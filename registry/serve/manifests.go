package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// maxManifest is the largest manifest the server takes.
const maxManifest = 4 << 20

// manifest serves GET, HEAD, PUT and DELETE of /v2/<repo>/manifests/<ref>.
func (sv *Server) manifest(w http.ResponseWriter, r *http.Request, repo, ref string) *regError {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut:
		return sv.putManifest(w, r, repo, ref)
	case http.MethodDelete:
		return sv.deleteManifest(w, r, repo, ref)
	default:
		return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of a manifest")
	}
	if looksLikeDigest(ref) && store.CheckDigest(digest.Digest(ref)) != nil {
		return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(ref))
	}
	if !sv.store.HasRepository(repo) {
		return errorf(http.StatusNotFound, "NAME_UNKNOWN", "repository "+repo+" not known")
	}
	// Any other reference, even one no tag could be, is looked up: what
	// is not there is 404, as the spec wants.
	desc, err := sv.store.Resolve(repo, ref)
	if err != nil {
		return sv.storeError(r, err, "MANIFEST_UNKNOWN", "manifest "+repo+":"+ref+" not known")
	}
	raw, err := sv.store.ReadBlob(desc.Digest)
	if err != nil {
		return sv.storeError(r, err, "MANIFEST_UNKNOWN", "manifest "+string(desc.Digest)+" not known")
	}
	h := w.Header()
	h.Set("Content-Type", desc.MediaType)
	h.Set("Docker-Content-Digest", string(desc.Digest))
	h.Set("ETag", `"`+string(desc.Digest)+`"`)
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	if r.Method == http.MethodGet {
		w.Write(raw)
	}
	return nil
}

// looksLikeDigest reports whether ref is meant as a digest (ALG:HEX).
func looksLikeDigest(ref string) bool { return strings.Contains(ref, ":") }

// putManifest stores a pushed manifest; ref is a tag or its digest.
func (sv *Server) putManifest(w http.ResponseWriter, r *http.Request, repo, ref string) *regError {
	if err := sv.authorize(w, r); err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	if err != nil || len(raw) > maxManifest {
		return errorf(http.StatusBadRequest, "MANIFEST_INVALID", fmt.Sprintf("manifest unreadable or larger than %d bytes", maxManifest))
	}
	d := digest.FromBytes(raw)
	if looksLikeDigest(ref) {
		want := digest.Digest(ref)
		if store.CheckDigest(want) != nil {
			return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(ref))
		}
		if d = want.Algorithm().FromBytes(raw); d != want {
			return errorf(http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("manifest is %s, not %s", d, ref))
		}
	} else if !store.ValidTag(ref) {
		return errorf(http.StatusBadRequest, "TAG_INVALID", "invalid tag "+strconv.Quote(ref))
	}
	var m struct {
		MediaType string `json:"mediaType"`
		Subject   *struct {
			Digest digest.Digest `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return errorf(http.StatusBadRequest, "MANIFEST_INVALID", "manifest is not JSON")
	}
	mt := r.Header.Get("Content-Type")
	if mt == "" {
		mt = m.MediaType
	}
	if mt != store.ManifestMediaType && mt != store.IndexMediaType && !strings.HasPrefix(mt, "application/vnd.docker.distribution.manifest.") {
		return errorf(http.StatusBadRequest, "MANIFEST_INVALID", "unsupported manifest media type "+strconv.Quote(mt))
	}
	if _, err := sv.store.PutManifest(repo, ref, raw, mt); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			return errorf(http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "the manifest references blobs the registry does not have")
		case errors.Is(err, store.ErrInvalid):
			return errorf(http.StatusBadRequest, "MANIFEST_INVALID", "the manifest is not a valid manifest")
		}
		return sv.internal(r, err)
	}
	h := w.Header()
	if m.Subject != nil {
		h.Set("OCI-Subject", string(m.Subject.Digest))
	}
	h.Set("Location", fmt.Sprintf("/v2/%s/manifests/%s", repo, d))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteManifest removes a tag, or a manifest (by digest) and its tags.
func (sv *Server) deleteManifest(w http.ResponseWriter, r *http.Request, repo, ref string) *regError {
	if err := sv.authorize(w, r); err != nil {
		return err
	}
	var err error
	if looksLikeDigest(ref) {
		d := digest.Digest(ref)
		if store.CheckDigest(d) != nil {
			return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(ref))
		}
		err = sv.store.DeleteManifest(repo, d)
	} else {
		err = sv.store.DeleteTag(repo, ref)
	}
	if err != nil {
		return sv.storeError(r, err, "MANIFEST_UNKNOWN", "manifest "+repo+":"+ref+" not known")
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
