package site

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
)

// Site serves the API, the pages and the metrics of one store and one
// reports database.
type Site struct {
	store    *store.Store
	db       *DB
	token    string // the push token; reports need it or its boot token
	insecure bool
	auth     atomic.Pointer[auth] // token and insecure as in force (Update)
	logger   *slog.Logger
	metrics  *metrics
	now      func() time.Time
	fleet    *fleet.Fleet
	admin    string // the admin token of fleet actions
}

// Option configures a Site.
type Option func(*Site)

// WithPushToken accepts reports that present the push token (under the same
// rule as pushes: over TLS, from loopback, or anywhere with insecure) or its
// token of the reporting machine (report.MachineToken, anywhere). Without it
// no report is accepted.
func WithPushToken(token string, insecure bool) Option {
	return func(s *Site) { s.token, s.insecure = token, insecure }
}

// WithFleet serves the fleet's API under /api/fleet (actions with the admin
// token), shows each machine's rule, facts and actions on its page, and
// tells the fleet of every report stored (which clears the action it
// fulfils).
func WithFleet(f *fleet.Fleet, adminToken string) Option {
	return func(s *Site) { s.fleet, s.admin = f, adminToken }
}

// WithLogger logs refused reports and failed requests to l.
func WithLogger(l *slog.Logger) Option { return func(s *Site) { s.logger = l } }

// New returns the site of st with its reports in db.
func New(st *store.Store, db *DB, opts ...Option) *Site {
	s := &Site{store: st, db: db, logger: slog.New(slog.DiscardHandler), metrics: newMetrics(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.auth.Store(&auth{s.token, s.insecure})
	return s
}

// auth is who may report.
type auth struct {
	token    string
	insecure bool
}

// Update changes, while the site serves, what WithPushToken sets (other
// options are ignored): reports that arrive after it are checked against the
// new token.
func (s *Site) Update(opts ...Option) {
	next := &Site{}
	for _, o := range opts {
		o(next)
	}
	s.auth.Store(&auth{next.token, next.insecure})
}

// Handler serves /, /machines/ID, /static/, /api/ and /metrics. Mount it at
// "/" beside the registry's /v2/.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.indexPage)
	mux.HandleFunc("GET /machines/{id}", s.machinePage)
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("GET /api/{$}", s.apiIndex)
	mux.HandleFunc("GET /api/repositories", s.apiRepositories)
	mux.HandleFunc("GET /api/chains/{ref...}", s.apiChain)
	mux.HandleFunc("GET /api/machines", s.apiMachines)
	mux.HandleFunc("GET /api/machines/{id}", s.apiMachine)
	mux.HandleFunc("GET /api/reports", s.apiReports)
	mux.HandleFunc("POST "+report.Path, s.postReport)
	mux.Handle("GET /metrics", s.metrics.handler())
	if s.fleet != nil {
		fh := s.fleet.Handler(s.admin, s.insecure)
		mux.Handle(fleet.APIPath, fh)
		mux.Handle(fleet.APIPath+"/", fh)
		mux.Handle("GET "+fleet.APIPath+"/machines/{mac}/metadata", s.fleet.MachineHandler(s.MachineToken))
	}
	return mux
}

// apiError is an API error reply: {"error": "..."} with a status.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e apiError) { writeJSON(w, e.Status, e) }

// postReport takes one report: 401/403 without a valid token, 400 for a
// malformed or oversized one (stored nowhere), 201 with its ID.
func (s *Site) postReport(w http.ResponseWriter, r *http.Request) {
	token, e := s.bearer(r)
	if e != nil {
		s.refuse(w, r, "token", *e)
		return
	}
	rep, err := report.Decode(http.MaxBytesReader(w, r.Body, report.MaxBytes+1))
	if err != nil {
		s.refuse(w, r, "invalid", apiError{http.StatusBadRequest, err.Error()})
		return
	}
	if e := s.authorize(r, token, rep); e != nil {
		s.refuse(w, r, "token", *e)
		return
	}
	received := s.now()
	id, err := s.db.Add(rep, received)
	if err != nil {
		s.logger.Error("report not stored", "err", err)
		writeError(w, apiError{http.StatusInternalServerError, "the report could not be stored"})
		return
	}
	s.metrics.observe(rep)
	if s.fleet != nil {
		rep.ID, rep.Received = id, received.UTC()
		s.fleet.Reported(rep)
	}
	writeJSON(w, http.StatusCreated, map[string]uint64{"id": id})
}

func (s *Site) refuse(w http.ResponseWriter, r *http.Request, reason string, e apiError) {
	s.metrics.refused.WithLabelValues(reason).Inc()
	s.logger.Warn("report refused", "from", r.RemoteAddr, "reason", e.Message)
	writeError(w, e)
}

// bearer returns the bearer token of a report, or why there is none to check.
func (s *Site) bearer(r *http.Request) (string, *apiError) {
	a := s.auth.Load()
	if a.token == "" {
		return "", &apiError{http.StatusForbidden, "reports are off: start mode serve with --push-token"}
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return "", &apiError{http.StatusUnauthorized, "a report needs the machine's token (mode.report) or the push token as a bearer token"}
	}
	return got, nil
}

// authorize checks a report's token: the machine token of the machine the
// report names (report.MachineToken: it cannot speak for another), or the
// push token under the rule of pushes.
func (s *Site) authorize(r *http.Request, token string, rep *report.Report) *apiError {
	a := s.auth.Load()
	if equal(token, report.MachineToken(a.token, rep.Machine.ID())) {
		return nil
	}
	if !equal(token, a.token) {
		return &apiError{http.StatusUnauthorized, "wrong token: a machine token is good for the machine it was given to (" + report.Path + " by MAC, else host name) and no other"}
	}
	if r.TLS == nil && !a.insecure && !loopback(r.RemoteAddr) {
		return &apiError{http.StatusForbidden, "the push token is refused over plain HTTP: send the machine's token (mode.report) instead"}
	}
	return nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Site) apiIndex(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"repositories":   "/api/repositories",
		"chain":          "/api/chains/{repo}:{tag}",
		"machines":       "/api/machines",
		"machine":        "/api/machines/{id}",
		"reports":        "/api/reports",
		"fleet":          "/api/fleet",
		"fleet machines": "/api/fleet/machines",
		"metrics":        "/metrics",
	})
}

func (s *Site) apiRepositories(w http.ResponseWriter, r *http.Request) {
	repos, err := s.repositories()
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, repos)
}

func (s *Site) apiChain(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref") // REPO:TAG; a repository may hold slashes
	i := strings.LastIndex(ref, ":")
	if i <= 0 {
		writeError(w, apiError{http.StatusNotFound, "want /api/chains/REPO:TAG"})
		return
	}
	c, err := s.chain(ref[:i], ref[i+1:])
	if err != nil {
		writeError(w, apiError{http.StatusNotFound, err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Site) apiMachines(w http.ResponseWriter, r *http.Request) {
	ms, err := s.db.Machines()
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ms)
}

// MachineHistory is a machine with its reports, newest first.
type MachineHistory struct {
	ID      string           `json:"id"`
	Machine report.Machine   `json:"machine"`
	Reports int              `json:"reports"`
	Facts   *report.Facts    `json:"facts,omitempty"` // of its last report that had them
	History []*report.Report `json:"history"`
	// Fleet is the rule it boots by and its actions (with a fleet).
	Fleet *fleet.MachineView `json:"fleet,omitempty"`
}

func (s *Site) machineHistory(id string) (*MachineHistory, error) {
	m, err := s.db.Machine(id)
	if err != nil {
		return nil, err
	}
	h, err := s.db.Reports(id, 100)
	if err != nil {
		return nil, err
	}
	mh := &MachineHistory{ID: m.ID, Machine: m.Machine, Reports: m.Reports, Facts: m.Facts, History: h}
	if s.fleet != nil {
		if v, ok := s.fleet.Machine(m.ID); ok {
			mh.Fleet = &v
		}
	}
	return mh, nil
}

func (s *Site) apiMachine(w http.ResponseWriter, r *http.Request) {
	h, err := s.machineHistory(r.PathValue("id"))
	if errors.Is(err, ErrNoMachine) {
		writeError(w, apiError{http.StatusNotFound, err.Error()})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Site) apiReports(w http.ResponseWriter, r *http.Request) {
	rs, err := s.db.Reports("", 100)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

// fail answers 500 without the error's details (they may name server paths)
// and logs them.
func (s *Site) fail(w http.ResponseWriter, err error) {
	s.logger.Error("site", "err", err)
	writeError(w, apiError{http.StatusInternalServerError, "internal error (see the server's log)"})
}

// sortMachines orders machines by their last report, newest first.
func sortMachines(ms []Machine) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i].Last, ms[j].Last
		if a == nil || b == nil {
			return b == nil && a != nil
		}
		return a.ID > b.ID
	})
}
