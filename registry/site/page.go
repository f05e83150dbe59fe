package site

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticRoot embed.FS

// staticFS serves /static/ (the style sheet).
var staticFS fs.FS = staticRoot

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"size":    layers.Size,
	"ms":      func(ms int64) string { return fmt.Sprintf("%.2fs", float64(ms)/1000) },
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"short":   layers.ShortDigest,
	"percent": percent,
	"color":   stepColor,
	"seg":     url.PathEscape,
	"path":    escapePath,
}).ParseFS(templateFS, "templates/*.html"))

// indexData is what / shows.
type indexData struct {
	Repositories []Repository
	Machines     []Machine
	Reports      int
	Next         map[string]string // with a fleet: each machine's next boot
	SiteError    string            // with a fleet: the site file's last fault
}

func (s *Site) indexPage(w http.ResponseWriter, r *http.Request) {
	repos, err := s.repositories()
	if err != nil {
		s.failPage(w, err)
		return
	}
	ms, err := s.db.Machines()
	if err != nil {
		s.failPage(w, err)
		return
	}
	n, _ := s.db.Count()
	d := indexData{Repositories: repos, Machines: ms, Reports: n}
	if s.fleet != nil {
		d.Next, d.SiteError = map[string]string{}, s.fleet.Status().Error
		for _, v := range s.fleet.Machines() {
			switch b := v.Boot; {
			case b == nil:
				d.Next[v.ID] = v.Error
			case b.Action != nil:
				d.Next[v.ID] = b.Why
			case b.Local:
				d.Next[v.ID] = "rule " + b.Rule + ": local disk"
			default:
				d.Next[v.ID] = "rule " + b.Rule + ": " + b.Repo + ":" + b.Ref
			}
		}
	}
	s.render(w, "index.html", d)
}

func (s *Site) machinePage(w http.ResponseWriter, r *http.Request) {
	h, err := s.machineHistory(r.PathValue("id"))
	if errors.Is(err, ErrNoMachine) {
		http.Error(w, "no such machine", http.StatusNotFound)
		return
	}
	if err != nil {
		s.failPage(w, err)
		return
	}
	s.render(w, "machine.html", h)
}

func (s *Site) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.failPage(w, fmt.Errorf("template %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	w.Write(buf.Bytes())
}

func (s *Site) failPage(w http.ResponseWriter, err error) {
	s.logger.Error("site page", "err", err)
	http.Error(w, "internal error (see the server's log)", http.StatusInternalServerError)
}

// percent is a step's share of its report's time, for the timing bar (at
// least a sliver, so that every step shows).
func percent(s report.Step, r *report.Report) string {
	total := r.TotalMS()
	if total <= 0 {
		return "1"
	}
	return fmt.Sprintf("%.2f", max(0.5, 100*float64(s.MS)/float64(total)))
}

// stepColors keeps a step's colour the same in every boot's bar.
var stepColors = map[string]int{"modules": 0, "network": 1, "trust": 2, "fetch": 3, "toram": 4, "changes": 5,
	"mount layers": 6, "chain.json": 7, "squash": 4, "push": 5}

// stepColor is the colour class number (0-7) of a step.
func stepColor(name string) int {
	if c, ok := stepColors[name]; ok {
		return c
	}
	h := 0
	for _, r := range name {
		h = h*31 + int(r)
	}
	return (h%8 + 8) % 8
}

// escapePath escapes each "/"-separated segment of p (a repository name)
// for a URL path; the slashes stay.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
