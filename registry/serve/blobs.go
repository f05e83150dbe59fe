package serve

import (
	"net/http"
	"strconv"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// blob serves GET, HEAD and DELETE of /v2/<repo>/blobs/<digest>; GET streams
// from disk with Range and conditional requests (the ETag is the quoted digest).
func (sv *Server) blob(w http.ResponseWriter, r *http.Request, repo, ref string) *regError {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodDelete:
		return sv.deleteBlob(w, r, ref)
	default:
		return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of a blob")
	}
	d := digest.Digest(ref)
	if store.CheckDigest(d) != nil {
		return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(ref))
	}
	f, err := sv.store.OpenBlob(d)
	if err != nil {
		return sv.storeError(r, err, "BLOB_UNKNOWN", "blob "+ref+" not known")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return sv.internal(r, err)
	}
	if r.Method == http.MethodHead {
		// A push that finds the blob present sends its manifest next: GC's
		// grace period counts from now.
		sv.store.TouchBlob(d)
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", ref)
	h.Set("ETag", `"`+ref+`"`)
	h.Set("Cache-Control", "max-age=31536000, immutable")
	http.ServeContent(idleWriter(w, sv.conf().limits.Idle), r, "", fi.ModTime(), f)
	return nil
}

func (sv *Server) deleteBlob(w http.ResponseWriter, r *http.Request, ref string) *regError {
	if err := sv.authorize(w, r); err != nil {
		return err
	}
	d := digest.Digest(ref)
	if store.CheckDigest(d) != nil {
		return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(ref))
	}
	if err := sv.store.DeleteBlob(d); err != nil {
		return sv.storeError(r, err, "BLOB_UNKNOWN", "blob "+ref+" not known")
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
