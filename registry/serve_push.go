package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// upload is a blob upload session: a temporary file in the store and the
// running digest of what it holds.
type upload struct {
	mu      sync.Mutex
	path    string
	size    int64
	h       hash.Hash
	touched time.Time // the last request; sessions idle for an hour are dropped
}

// uploadIdle is how long an upload session may stay idle.
const uploadIdle = time.Hour

// uploadRoute serves /v2/<name>/blobs/uploads/[<id>].
func (sv *Server) uploadRoute(w http.ResponseWriter, r *http.Request, name, id string) {
	if !sv.authorized(w, r) {
		return
	}
	if id == "" {
		if r.Method != http.MethodPost {
			apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of an upload")
			return
		}
		sv.startUpload(w, r, name)
		return
	}
	sv.mu.Lock()
	u := sv.uploads[id]
	sv.mu.Unlock()
	if u == nil {
		apiError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload "+id)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.touched = time.Now()
	switch r.Method {
	case http.MethodGet:
		uploadStatus(w, name, id, u.size, http.StatusNoContent)
	case http.MethodPatch:
		if err := u.append(r); err != nil {
			sv.uploadFailed(w, id, u, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", err)
			return
		}
		uploadStatus(w, name, id, u.size, http.StatusAccepted)
	case http.MethodPut:
		want := r.URL.Query().Get("digest")
		if err := checkDigest(want); err != nil {
			apiError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
			return
		}
		if err := u.append(r); err != nil {
			sv.uploadFailed(w, id, u, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", err)
			return
		}
		if got := "sha256:" + hex.EncodeToString(u.h.Sum(nil)); got != want {
			sv.uploadFailed(w, id, u, http.StatusBadRequest, "DIGEST_INVALID", fmt.Errorf("upload is %s, not %s", got, want))
			return
		}
		if err := sv.commitUpload(u, want); err != nil {
			sv.uploadFailed(w, id, u, http.StatusInternalServerError, "UNKNOWN", err)
			return
		}
		sv.endUpload(id)
		blobCreated(w, name, want)
	case http.MethodDelete:
		os.Remove(u.path)
		sv.endUpload(id)
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of an upload")
	}
}

// startUpload answers POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (every name is the same store), a monolithic upload (?digest=), or a
// new session.
func (sv *Server) startUpload(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" && sv.store.HasBlob(m, -1) {
		blobCreated(w, name, m)
		return
	}
	if d := q.Get("digest"); d != "" {
		if _, err := sv.store.PutBlob(r.Body, d); err != nil {
			apiError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
			return
		}
		blobCreated(w, name, d)
		return
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	f, err := os.Create(filepath.Join(sv.store.tmpDir(), "upload-"+id))
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	f.Close()
	sv.mu.Lock()
	for oid, u := range sv.uploads { // drop abandoned sessions
		if u.mu.TryLock() {
			if time.Since(u.touched) > uploadIdle {
				os.Remove(u.path)
				delete(sv.uploads, oid)
			}
			u.mu.Unlock()
		}
	}
	sv.uploads[id] = &upload{path: f.Name(), h: sha256.New(), touched: time.Now()}
	sv.mu.Unlock()
	uploadStatus(w, name, id, 0, http.StatusAccepted)
}

// append adds the request body to the upload, checking a Content-Range.
func (u *upload) append(r *http.Request) error {
	if cr := r.Header.Get("Content-Range"); cr != "" {
		a, _, _ := strings.Cut(strings.TrimPrefix(cr, "bytes "), "-")
		if start, err := strconv.ParseInt(a, 10, 64); err != nil || start != u.size {
			return fmt.Errorf("Content-Range %q does not continue at %d", cr, u.size)
		}
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(io.MultiWriter(f, u.h), r.Body)
	u.size += n
	if err != nil {
		return fmt.Errorf("upload after %d bytes: %w", u.size, err)
	}
	return nil
}

// commitUpload moves a verified upload into the store as blob d.
func (sv *Server) commitUpload(u *upload, d string) error {
	unlock, err := sv.store.lock("gc.lock", syscall.LOCK_SH)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(u.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return sv.store.commitBlob(f, d)
}

func (sv *Server) endUpload(id string) {
	sv.mu.Lock()
	delete(sv.uploads, id)
	sv.mu.Unlock()
}

func (sv *Server) uploadFailed(w http.ResponseWriter, id string, u *upload, status int, code string, err error) {
	os.Remove(u.path)
	sv.endUpload(id)
	apiError(w, status, code, err.Error())
}

func uploadStatus(w http.ResponseWriter, name, id string, size int64, status int) {
	h := w.Header()
	h.Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/%s", name, id))
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", fmt.Sprintf("0-%d", max(size-1, 0)))
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

func blobCreated(w http.ResponseWriter, name, d string) {
	h := w.Header()
	h.Set("Location", fmt.Sprintf("/v2/%s/blobs/%s", name, d))
	h.Set("Docker-Content-Digest", d)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// putManifest stores a pushed manifest; ref is a tag or its digest.
func (sv *Server) putManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	if !sv.authorized(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	if err != nil || len(raw) > maxManifest {
		apiError(w, http.StatusBadRequest, "MANIFEST_INVALID", fmt.Sprintf("manifest unreadable or larger than %d bytes", maxManifest))
		return
	}
	d := digestBytes(raw)
	tag := ref
	if strings.HasPrefix(ref, "sha256:") {
		if ref != d {
			apiError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("manifest is %s, not %s", d, ref))
			return
		}
		tag = ""
	} else if !validTag(ref) {
		apiError(w, http.StatusBadRequest, "TAG_INVALID", "tag "+strconv.Quote(ref))
		return
	}
	var m struct {
		MediaType string           `json:"mediaType"`
		Subject   *json.RawMessage `json:"subject"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		apiError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
		return
	}
	mt := r.Header.Get("Content-Type")
	if mt == "" {
		mt = m.MediaType
	}
	if mt != ManifestMediaType && mt != IndexMediaType && !strings.HasPrefix(mt, "application/vnd.docker.distribution.manifest.") {
		apiError(w, http.StatusBadRequest, "MANIFEST_INVALID", "media type "+strconv.Quote(mt))
		return
	}
	if _, err := sv.store.PutManifest(raw, mt, tag); err != nil {
		code := "MANIFEST_INVALID"
		if errors.Is(err, ErrNotFound) {
			code = "MANIFEST_BLOB_UNKNOWN"
		}
		apiError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	h := w.Header()
	if m.Subject != nil {
		var s struct{ Digest string }
		json.Unmarshal(*m.Subject, &s)
		h.Set("OCI-Subject", s.Digest)
	}
	h.Set("Location", fmt.Sprintf("/v2/%s/manifests/%s", name, d))
	h.Set("Docker-Content-Digest", d)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
