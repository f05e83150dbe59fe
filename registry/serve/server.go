package serve

import (
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mode-build/mode/registry/store"
)

// Server serves the OCI distribution API over a store. Every repository name
// is a repository of the store; blobs are shared. Reads are anonymous;
// pushes and deletes need the push token (WithPushToken) as a bearer token or
// as the password of basic auth. With a push token, an anonymous GET /v2/
// gets a Basic challenge so that clients which authenticate only when
// challenged send their credentials.
type Server struct {
	store   *store.Store
	logger  *slog.Logger
	extra   []prefixHandler
	uploads *uploads
	wrap    func(http.Handler) http.Handler
	set     settings                 // what the options set, before New or Update publishes it
	live    atomic.Pointer[settings] // what requests read: Update replaces it
}

// settings are what may change while the server runs (Update).
type settings struct {
	token    string
	insecure bool
	limits   Limits
}

type prefixHandler struct {
	prefix string
	h      http.Handler
}

// Limits bound what clients may hold of the server.
type Limits struct {
	// ReadHeader is how long a client may take to send a request's headers.
	ReadHeader time.Duration
	// Idle is how long a connection may wait for its next request, and how
	// long a request body (an upload) or a reply (a download) may stall
	// before the connection is cut.
	Idle time.Duration
	// Uploads is how many upload sessions may be open at once; more are
	// refused with 429 until one ends.
	Uploads int
	// UploadExpiry is how long an upload session may stay untouched before
	// the server removes it and its data.
	UploadExpiry time.Duration
}

// DefaultLimits are the limits of NewServer.
var DefaultLimits = Limits{ReadHeader: 10 * time.Second, Idle: time.Minute, Uploads: 64, UploadExpiry: 15 * time.Minute}

// Option configures a Server.
type Option func(*Server)

// WithPushToken accepts pushes and deletes that present token.
func WithPushToken(token string) Option { return func(s *Server) { s.set.token = token } }

// WithInsecure accepts the push token over plain HTTP from any client; without
// it only loopback clients may send it unencrypted.
func WithInsecure(insecure bool) Option { return func(s *Server) { s.set.insecure = insecure } }

// WithHandler serves the paths under prefix (such as "/boot/") with h.
func WithHandler(prefix string, h http.Handler) Option {
	return func(s *Server) { s.extra = append(s.extra, prefixHandler{prefix, h}) }
}

// WithMiddleware wraps the whole handler (registry and extra handlers) in
// wrap, such as a site's metrics.
func WithMiddleware(wrap func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.wrap = wrap }
}

// WithLogger logs failed requests and expired uploads to l.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithLimits replaces DefaultLimits; a zero field keeps its default.
func WithLimits(l Limits) Option {
	return func(s *Server) {
		d := DefaultLimits
		if l.ReadHeader > 0 {
			d.ReadHeader = l.ReadHeader
		}
		if l.Idle > 0 {
			d.Idle = l.Idle
		}
		if l.Uploads > 0 {
			d.Uploads = l.Uploads
		}
		if l.UploadExpiry > 0 {
			d.UploadExpiry = l.UploadExpiry
		}
		s.set.limits = d
	}
}

// New returns a Server for store s.
func New(s *store.Store, opts ...Option) *Server {
	sv := &Server{store: s, logger: slog.New(slog.DiscardHandler), set: settings{limits: DefaultLimits}}
	for _, o := range opts {
		o(sv)
	}
	sv.live.Store(&settings{sv.set.token, sv.set.insecure, sv.set.limits})
	sv.uploads = newUploads(sv)
	return sv
}

// Update changes, while the server runs, what WithPushToken, WithInsecure
// and WithLimits set (other options are ignored): requests that start after
// it see the new settings, upload sessions stay open. The limits of
// connections themselves (Limits.ReadHeader, and Limits.Idle between
// requests) stay those of HTTPServer.
func (sv *Server) Update(opts ...Option) {
	next := &Server{set: *sv.live.Load()}
	for _, o := range opts {
		o(next)
	}
	sv.live.Store(&next.set)
}

// conf returns the settings in force.
func (sv *Server) conf() *settings { return sv.live.Load() }

// Handler returns the server's HTTP handler.
func (sv *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, e := range sv.extra {
		mux.Handle(e.prefix, e.h)
	}
	mux.HandleFunc("/v2/", sv.v2)
	if sv.wrap != nil {
		return sv.wrap(mux)
	}
	return mux
}

// HTTPServer returns an http.Server for the handler with the server's limits.
func (sv *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           sv.Handler(),
		ReadHeaderTimeout: sv.conf().limits.ReadHeader,
		IdleTimeout:       sv.conf().limits.Idle,
		ErrorLog:          slog.NewLogLogger(sv.logger.Handler(), slog.LevelDebug),
	}
}

// handler is a route's handler; a non-nil *regError is the reply.
type handler func(w http.ResponseWriter, r *http.Request, repo, rest string) *regError

func (sv *Server) v2(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if err := sv.route(w, r); err != nil {
		err.write(w)
	}
}

func (sv *Server) route(w http.ResponseWriter, r *http.Request) *regError {
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	switch p {
	case "":
		return sv.base(w, r)
	case "_catalog":
		return sv.catalog(w, r)
	}
	for _, route := range []struct {
		sep string
		f   handler
	}{
		{"/blobs/uploads/", sv.upload},
		{"/blobs/uploads", sv.upload},
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
		if !store.ValidRepository(name) {
			return errorf(http.StatusBadRequest, "NAME_INVALID", "invalid repository name")
		}
		return route.f(w, r, name, rest)
	}
	return errorf(http.StatusNotFound, "NOT_FOUND", "no such endpoint")
}

func (sv *Server) base(w http.ResponseWriter, r *http.Request) *regError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" /v2/")
	}
	if sv.conf().token != "" && sv.tokenOK(r) != nil {
		// The challenge makes clients that authenticate only when
		// challenged (skopeo, docker) send their credentials; reads
		// need none.
		w.Header().Set("WWW-Authenticate", `Basic realm="mode"`)
		return errorf(http.StatusUnauthorized, "UNAUTHORIZED", "reads need no credentials; pushes need the push token")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{}\n"))
	return nil
}

// authorize refuses a request that does not carry the push token.
func (sv *Server) authorize(w http.ResponseWriter, r *http.Request) *regError {
	if sv.conf().token == "" {
		return errorf(http.StatusUnauthorized, "DENIED", "pushes and deletes are disabled: start mode serve with --push-token")
	}
	if err := sv.tokenOK(r); err != nil {
		if err.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="mode"`)
		}
		return err
	}
	return nil
}

// tokenOK checks that r presents the push token, as a bearer token or as the
// password of basic auth, over TLS or from loopback unless insecure.
func (sv *Server) tokenOK(r *http.Request) *regError {
	var got string
	auth := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(auth, "Bearer "); ok {
		got = t
	} else if b, ok := strings.CutPrefix(auth, "Basic "); ok {
		if dec, err := base64.StdEncoding.DecodeString(b); err == nil {
			_, got, _ = strings.Cut(string(dec), ":")
		}
	}
	if got == "" {
		return errorf(http.StatusUnauthorized, "UNAUTHORIZED", "push token required")
	}
	conf := sv.conf()
	if r.TLS == nil && !conf.insecure && !loopback(r.RemoteAddr) {
		return errorf(http.StatusForbidden, "DENIED", "the push token is refused over plain HTTP: use HTTPS (mode serve --tls) or start mode serve with --insecure")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(conf.token)) != 1 {
		return errorf(http.StatusUnauthorized, "UNAUTHORIZED", "wrong push token")
	}
	return nil
}

// loopback reports whether the remote address addr is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
