package registry

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Server serves the OCI distribution API over a Store: /v2/, manifests by tag
// and digest, blobs (with Range and ETag, streamed from disk), tags list and
// referrers. The store is a single repository: every repository name maps to
// it. Reads are anonymous; pushes need the push token (WithPushToken) as a
// bearer token or as the password of basic auth, and are refused without one.
// With a push token, an anonymous GET /v2/ gets a Basic challenge so that
// clients which authenticate only when challenged send their credentials.
type Server struct {
	store   *Store
	token   string
	logger  *slog.Logger
	extra   []prefixHandler
	mu      sync.Mutex
	uploads map[string]*upload
}

type prefixHandler struct {
	prefix string
	h      http.Handler
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithPushToken accepts pushes that present token.
func WithPushToken(token string) ServerOption { return func(s *Server) { s.token = token } }

// WithHandler serves the paths under prefix (such as "/boot/") with h.
func WithHandler(prefix string, h http.Handler) ServerOption {
	return func(s *Server) { s.extra = append(s.extra, prefixHandler{prefix, h}) }
}

// WithServerLogger logs requests that fail to l.
func WithServerLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.logger = l } }

// NewServer returns a Server for store s.
func NewServer(s *Store, opts ...ServerOption) *Server {
	sv := &Server{store: s, logger: slog.New(slog.DiscardHandler), uploads: map[string]*upload{}}
	for _, o := range opts {
		o(sv)
	}
	return sv
}

// Handler returns the server's HTTP handler.
func (sv *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, e := range sv.extra {
		mux.Handle(e.prefix, e.h)
	}
	mux.HandleFunc("/v2/", sv.v2)
	return mux
}

// repoName is the distribution spec's repository name grammar.
var repoName = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

func (sv *Server) v2(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if p == "" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" /v2/")
			return
		}
		if sv.token != "" && !sv.tokenOK(r) {
			// The challenge makes clients that authenticate only when
			// challenged (skopeo, docker) send their credentials; reads
			// below need none.
			w.Header().Set("WWW-Authenticate", `Basic realm="mode"`)
			apiError(w, http.StatusUnauthorized, "UNAUTHORIZED", "reads need no credentials; pushes need the push token")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}\n"))
		return
	}
	for _, route := range []struct {
		sep string
		f   func(http.ResponseWriter, *http.Request, string, string)
	}{
		{"/blobs/uploads/", sv.uploadRoute},
		{"/blobs/uploads", sv.uploadRoute},
		{"/manifests/", sv.manifest},
		{"/blobs/", sv.blob},
		{"/referrers/", sv.referrers},
		{"/tags/list", sv.tags},
	} {
		i := strings.LastIndex(p, route.sep)
		if i <= 0 {
			continue
		}
		name, rest := p[:i], p[i+len(route.sep):]
		if !repoName.MatchString(name) {
			apiError(w, http.StatusBadRequest, "NAME_INVALID", "repository name "+strconv.Quote(name))
			return
		}
		route.f(w, r, name, rest)
		return
	}
	apiError(w, http.StatusNotFound, "NOT_FOUND", r.URL.Path)
}

// manifest serves GET, HEAD and PUT of /v2/<name>/manifests/<ref>.
func (sv *Server) manifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut:
		sv.putManifest(w, r, name, ref)
		return
	default:
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of a manifest")
		return
	}
	if !validTag(ref) && checkDigest(ref) != nil {
		apiError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reference "+strconv.Quote(ref))
		return
	}
	desc, err := sv.store.Resolve(ref)
	if err != nil {
		sv.notFound(w, r, "MANIFEST_UNKNOWN", err)
		return
	}
	raw, err := sv.store.ReadBlob(string(desc.Digest))
	if err != nil {
		sv.notFound(w, r, "MANIFEST_UNKNOWN", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", desc.MediaType)
	h.Set("Docker-Content-Digest", string(desc.Digest))
	h.Set("ETag", `"`+string(desc.Digest)+`"`)
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	if r.Method == http.MethodGet {
		w.Write(raw)
	}
}

// blob serves GET and HEAD of /v2/<name>/blobs/<digest> from disk, with Range
// and conditional requests (the ETag is the quoted digest).
func (sv *Server) blob(w http.ResponseWriter, r *http.Request, name, d string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of a blob")
		return
	}
	if checkDigest(d) != nil {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", "digest "+strconv.Quote(d))
		return
	}
	f, err := os.Open(sv.store.BlobPath(d))
	if err != nil {
		sv.notFound(w, r, "BLOB_UNKNOWN", fmt.Errorf("blob %s: %w", d, ErrNotFound))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d)
	h.Set("ETag", `"`+d+`"`)
	h.Set("Cache-Control", "max-age=31536000, immutable")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// tags serves GET /v2/<name>/tags/list with the n and last parameters.
func (sv *Server) tags(w http.ResponseWriter, r *http.Request, name, rest string) {
	if rest != "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		apiError(w, http.StatusNotFound, "NOT_FOUND", r.URL.Path)
		return
	}
	tags, err := sv.store.Tags()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := 0
		for i < len(tags) && tags[i] <= last {
			i++
		}
		tags = tags[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n >= 0 && n < len(tags) {
		tags = tags[:n]
		if n > 0 {
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, name, n, tags[n-1]))
		}
	}
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"name": name, "tags": tags})
}

// authorized reports whether r carries the push token, answering 401 when not.
func (sv *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if sv.token == "" {
		apiError(w, http.StatusUnauthorized, "DENIED", "pushes are disabled: start mode serve with --push-token")
		return false
	}
	if !sv.tokenOK(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="mode"`)
		msg := "push token required"
		if r.Header.Get("Authorization") != "" {
			msg = "wrong push token"
		}
		apiError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg)
		return false
	}
	return true
}

// tokenOK reports whether r presents the push token, as a bearer token or as
// the password of basic auth.
func (sv *Server) tokenOK(r *http.Request) bool {
	var got string
	auth := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(auth, "Bearer "); ok {
		got = t
	} else if b, ok := strings.CutPrefix(auth, "Basic "); ok {
		if dec, err := base64.StdEncoding.DecodeString(b); err == nil {
			_, got, _ = strings.Cut(string(dec), ":")
		}
	}
	return sv.token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sv.token)) == 1
}

func (sv *Server) notFound(w http.ResponseWriter, r *http.Request, code string, err error) {
	if errors.Is(err, ErrNotFound) {
		apiError(w, http.StatusNotFound, code, err.Error())
		return
	}
	sv.logger.Warn("serve", "path", r.URL.Path, "err", err)
	apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
}

// apiError writes a distribution API error.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	body := map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}}
	writeJSON(w, status, "application/json", body)
}

func writeJSON(w http.ResponseWriter, status int, mediaType string, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
