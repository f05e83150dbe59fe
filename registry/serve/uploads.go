package serve

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// uploads are the open upload sessions, at most Limits.Uploads.
type uploads struct {
	sv    *Server
	mu    sync.Mutex
	slots int // sessions and monolithic uploads under way
	open  map[string]*upload
}

func newUploads(sv *Server) *uploads {
	return &uploads{sv: sv, open: map[string]*upload{}}
}

// upload is a blob upload session: a temporary file in the store and the
// running sha256 of what it holds. It expires when untouched for
// Limits.UploadExpiry: the server removes it and its file by itself.
type upload struct {
	mu      sync.Mutex
	id      string
	path    string
	size    int64
	h       hash.Hash
	touched time.Time
	timer   *time.Timer
	ended   bool
}

// upload serves /v2/<repo>/blobs/uploads/[<id>].
func (sv *Server) upload(w http.ResponseWriter, r *http.Request, repo, id string) *regError {
	if err := sv.authorize(w, r); err != nil {
		return err
	}
	if id == "" {
		if r.Method != http.MethodPost {
			return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of an upload")
		}
		return sv.startUpload(w, r, repo)
	}
	u := sv.uploads.get(id)
	if u == nil {
		return errorf(http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload "+id+" not known (finished, cancelled or expired)")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ended {
		return errorf(http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload "+id+" not known (finished, cancelled or expired)")
	}
	defer sv.uploads.touch(u)
	switch r.Method {
	case http.MethodGet:
		uploadStatus(w, repo, id, u.size, http.StatusNoContent)
		return nil
	case http.MethodPatch:
		if !u.continues(r) {
			// The session stays as it was: the client may retry from Range.
			uploadStatus(w, repo, id, u.size, 0)
			return errorf(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID",
				fmt.Sprintf("Content-Range %q does not continue the upload at byte %d", r.Header.Get("Content-Range"), u.size))
		}
		if err := u.append(idleReader(w, r.Body, sv.conf().limits.Idle)); err != nil {
			return sv.internal(r, err)
		}
		uploadStatus(w, repo, id, u.size, http.StatusAccepted)
		return nil
	case http.MethodPut:
		return sv.finishUpload(w, r, repo, u)
	case http.MethodDelete:
		sv.uploads.end(u)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of an upload")
}

// finishUpload takes the last chunk and commits the upload as blob ?digest=.
func (sv *Server) finishUpload(w http.ResponseWriter, r *http.Request, repo string, u *upload) *regError {
	want := digest.Digest(r.URL.Query().Get("digest"))
	if store.CheckDigest(want) != nil {
		return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(string(want)))
	}
	if !u.continues(r) {
		uploadStatus(w, repo, u.id, u.size, 0)
		return errorf(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", fmt.Sprintf("Content-Range does not continue the upload at byte %d", u.size))
	}
	if err := u.append(idleReader(w, r.Body, sv.conf().limits.Idle)); err != nil {
		return sv.internal(r, err)
	}
	got := digest.NewDigest(digest.SHA256, u.h)
	if want.Algorithm() != digest.SHA256 {
		var err error
		if got, _, err = store.FileDigest(u.path, want.Algorithm()); err != nil {
			return sv.internal(r, err)
		}
	}
	if got != want {
		sv.uploads.end(u)
		return errorf(http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("the upload is %s, not %s", got, want))
	}
	if err := sv.store.CommitFile(u.path, want); err != nil {
		sv.uploads.end(u)
		return sv.internal(r, err)
	}
	sv.uploads.end(u)
	blobCreated(w, repo, want)
	return nil
}

// startUpload answers POST /v2/<repo>/blobs/uploads/: a mount of a blob the
// store has (blobs are shared by all repositories, with or without from=), a
// monolithic upload (?digest=), or a new session.
func (sv *Server) startUpload(w http.ResponseWriter, r *http.Request, repo string) *regError {
	q := r.URL.Query()
	if m := digest.Digest(q.Get("mount")); m != "" && sv.store.HasBlob(m, -1) {
		sv.store.TouchBlob(m)
		blobCreated(w, repo, m)
		return nil
	}
	if !sv.uploads.acquire() {
		w.Header().Set("Retry-After", "10")
		return errorf(http.StatusTooManyRequests, "TOOMANYREQUESTS", fmt.Sprintf("%d uploads are under way: try again later", sv.conf().limits.Uploads))
	}
	if s := q.Get("digest"); s != "" {
		defer sv.uploads.release()
		d := digest.Digest(s)
		if store.CheckDigest(d) != nil {
			return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(s))
		}
		if _, err := sv.store.PutBlob(idleReader(w, r.Body, sv.conf().limits.Idle), d); err != nil {
			return sv.storeError(r, err, "DIGEST_INVALID", "the upload does not match its digest "+s)
		}
		blobCreated(w, repo, d)
		return nil
	}
	u, err := sv.uploads.create()
	if err != nil {
		sv.uploads.release()
		return sv.internal(r, err)
	}
	uploadStatus(w, repo, u.id, 0, http.StatusAccepted)
	return nil
}

// acquire takes a slot when fewer than Limits.Uploads are taken (the limit
// in force: Update may lower it below what is under way).
func (us *uploads) acquire() bool {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.slots >= us.sv.conf().limits.Uploads {
		return false
	}
	us.slots++
	return true
}

func (us *uploads) release() {
	us.mu.Lock()
	us.slots--
	us.mu.Unlock()
}

// create opens a session; the caller holds a slot, which the session keeps.
func (us *uploads) create() (*upload, error) {
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	path := filepath.Join(us.sv.store.TempDir(), "upload-"+id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	f.Close()
	u := &upload{id: id, path: path, h: digest.SHA256.Hash(), touched: time.Now()}
	u.timer = time.AfterFunc(us.sv.conf().limits.UploadExpiry, func() { us.expire(u) })
	us.mu.Lock()
	us.open[id] = u
	us.mu.Unlock()
	return u, nil
}

func (us *uploads) get(id string) *upload {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.open[id]
}

// touch restarts u's expiry. The caller holds u.mu.
func (us *uploads) touch(u *upload) {
	u.touched = time.Now()
	if !u.ended {
		u.timer.Reset(us.sv.conf().limits.UploadExpiry)
	}
}

// expire removes u when it stayed untouched for the expiry.
func (us *uploads) expire(u *upload) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ended || time.Since(u.touched) < us.sv.conf().limits.UploadExpiry {
		return
	}
	us.end(u)
	us.sv.logger.Info("upload expired", "id", u.id, "bytes", u.size)
}

// end closes the session u and removes its file. The caller holds u.mu.
func (us *uploads) end(u *upload) {
	if u.ended {
		return
	}
	u.ended = true
	u.timer.Stop()
	os.Remove(u.path)
	us.mu.Lock()
	delete(us.open, u.id)
	us.mu.Unlock()
	us.release()
}

// continues reports whether r's Content-Range (if any) starts where u ends.
func (u *upload) continues(r *http.Request) bool {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return true
	}
	a, _, _ := strings.Cut(strings.TrimPrefix(cr, "bytes "), "-")
	start, err := strconv.ParseInt(a, 10, 64)
	return err == nil && start == u.size
}

// append adds body to the upload. What arrived before an error stays, so the
// session remains consistent for a retry from its new end.
func (u *upload) append(body io.Reader) error {
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(io.MultiWriter(f, u.h), body)
	u.size += n
	if err != nil {
		return fmt.Errorf("upload %s after %d bytes: %w", u.id, u.size, err)
	}
	return nil
}

// uploadStatus sets the session headers and, unless status is 0, writes them.
func uploadStatus(w http.ResponseWriter, repo, id string, size int64, status int) {
	h := w.Header()
	h.Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/%s", repo, id))
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", fmt.Sprintf("0-%d", max(size-1, 0)))
	if status != 0 {
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
	}
}

func blobCreated(w http.ResponseWriter, repo string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", fmt.Sprintf("/v2/%s/blobs/%s", repo, d))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
