package site

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mode-build/mode/report"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the site's Prometheus metrics, in a registry of their own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	pulls    *prometheus.CounterVec
	uploads  *prometheus.CounterVec
	reports  *prometheus.CounterVec
	refused  *prometheus.CounterVec
	failures *prometheus.CounterVec
	steps    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_http_response_bytes_total", Help: "Bytes of response bodies served, by route.",
		}, []string{"route"}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_chain_pulls_total", Help: "Manifests served by GET (chain pulls), by repository and tag or digest.",
		}, []string{"repository", "reference"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_upload_sessions_total", Help: "Blob upload sessions started and completed.",
		}, []string{"event"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_reports_total", Help: "Reports stored, by kind (boot, save) and result (ok, failed).",
		}, []string{"kind", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_reports_refused_total", Help: "Reports refused, by reason (token, invalid).",
		}, []string{"reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mode_boot_failures_total", Help: "Failed boots by the step that failed.",
		}, []string{"step"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mode_boot_step_seconds", Help: "Duration of boot steps as machines reported them.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120},
		}, []string{"step"}),
	}
	m.reg.MustRegister(m.requests, m.bytes, m.pulls, m.uploads, m.reports, m.refused, m.failures, m.steps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe counts a stored report.
func (m *metrics) observe(r *report.Report) {
	result := "ok"
	if !r.OK {
		result = "failed"
	}
	m.reports.WithLabelValues(r.Kind, result).Inc()
	if r.Kind != report.KindBoot {
		return
	}
	if r.Failed != nil {
		m.failures.WithLabelValues(label(r.Failed.Step)).Inc()
	}
	for _, s := range r.Steps {
		m.steps.WithLabelValues(label(s.Name)).Observe(float64(s.MS) / 1000)
	}
}

// label bounds a client-given label value.
func label(s string) string {
	if len(s) > 32 {
		return s[:32]
	}
	return s
}

// Instrument counts the requests h serves by route and code, the bytes of
// their bodies, chain pulls and upload sessions. Wrap the whole server's
// handler (registry, /boot/ and the site) with it.
func (s *Site) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(cw, r)
		route := routeOf(r.URL.Path)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(cw.code)).Inc()
		s.metrics.bytes.WithLabelValues(route).Add(float64(cw.n))
		switch {
		case route == "manifests" && r.Method == http.MethodGet && cw.code == http.StatusOK:
			p := strings.TrimPrefix(r.URL.Path, "/v2/")
			i := strings.LastIndex(p, "/manifests/")
			s.metrics.pulls.WithLabelValues(p[:i], label(p[i+len("/manifests/"):])).Inc()
		case route == "uploads" && r.Method == http.MethodPost && cw.code == http.StatusAccepted:
			s.metrics.uploads.WithLabelValues("started").Inc()
		case route == "uploads" && r.Method == http.MethodPost && cw.code == http.StatusCreated:
			s.metrics.uploads.WithLabelValues("completed").Inc() // monolithic or mount
		case route == "uploads" && r.Method == http.MethodPut && cw.code == http.StatusCreated:
			s.metrics.uploads.WithLabelValues("completed").Inc()
		}
	})
}

// routeOf names the route of path with a bounded set of labels.
func routeOf(path string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return "base"
	case path == "/v2/_catalog":
		return "catalog"
	case strings.HasPrefix(path, "/v2/"):
		for _, r := range []struct{ sep, name string }{
			{"/blobs/uploads", "uploads"}, {"/manifests/", "manifests"}, {"/blobs/", "blobs"},
			{"/referrers/", "referrers"}, {"/tags/list", "tags"},
		} {
			if strings.LastIndex(path, r.sep) > len("/v2/") {
				return r.name
			}
		}
		return "v2_other"
	case strings.HasPrefix(path, "/boot/"):
		return "boot"
	case path == report.Path:
		return "reports"
	case strings.HasPrefix(path, "/api/"):
		return "api"
	case path == "/metrics":
		return "metrics"
	case path == "/" || strings.HasPrefix(path, "/machines/") || strings.HasPrefix(path, "/static/"):
		return "page"
	}
	return "other"
}

// countingWriter records the status code and counts body bytes.
type countingWriter struct {
	http.ResponseWriter
	code    int
	n       int64
	written bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.written {
		c.code, c.written = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.written = true
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's sendfile path for blobs.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	c.written = true
	var n int64
	var err error
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(c.ResponseWriter, r)
	}
	c.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Flush passes flushes on.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
