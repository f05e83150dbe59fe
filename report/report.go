package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of report.
const (
	KindBoot = "boot" // the init, after its steps or at the rescue shell
	KindSave = "save" // mode save --push
	// KindActivate is mode activate, done or refused.
	KindActivate = "activate"
	// KindInstall is the init's install to disk (mode.install), done or
	// refused (docs/fleet.md).
	KindInstall = "install"
)

// Limits of a report; a report beyond them is refused whole.
const (
	MaxBytes   = 64 << 10 // the JSON document
	MaxSteps   = 64
	MaxName    = 128  // a step, chain or host name
	MaxRef     = 256  // a reference HOST/REPO:TAG
	MaxMessage = 4096 // a failure message or a step's summary
)

// Report is what a machine tells the server about one boot or save.
type Report struct {
	Kind    string  `json:"kind"`             // KindBoot, KindSave or KindActivate
	Machine Machine `json:"machine"`          // who
	Chain   string  `json:"chain,omitempty"`  // the chain name: the top layer's file name without .sqfs
	Ref     string  `json:"ref,omitempty"`    // the reference booted or pushed: HOST/REPO:TAG
	Digest  string  `json:"digest,omitempty"` // the chain's manifest digest, when known
	Facts   *Facts  `json:"facts,omitempty"`  // the hardware, in boot reports (Gather)
	Steps   []Step  `json:"steps"`            // in the order they ran, the failed one last
	OK      bool    `json:"ok"`               // every step succeeded
	Failed  *Failed `json:"failed,omitempty"` // set exactly when !OK
	// Offline: no registry answered, the boot was of the chain last booted
	// from the cache disk (mode.cache); such a report is kept on that disk
	// and sent by the next boot that reaches the server.
	Offline bool `json:"offline,omitempty"`
	// Time is when the machine sent the report (its clock, which may be
	// wrong); Received is set by the server.
	Time     time.Time `json:"time,omitzero"`
	Received time.Time `json:"received,omitzero"`
	ID       uint64    `json:"id,omitempty"` // the server's sequence number
}

// Machine identifies the reporting machine. MAC is its identity when present
// (the first Ethernet interface's), else Hostname.
type Machine struct {
	MAC      string `json:"mac,omitempty"`
	IP       string `json:"ip,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

// ID is the machine's identity on the server: its MAC, else its host name.
func (m Machine) ID() string {
	if m.MAC != "" {
		return m.MAC
	}
	return m.Hostname
}

// Step is one step of a boot with its duration.
type Step struct {
	Name    string `json:"name"`
	MS      int64  `json:"ms"`                // milliseconds
	Summary string `json:"summary,omitempty"` // what the step logged
	Failed  bool   `json:"failed,omitempty"`
}

// Failed is the step that failed and its message.
type Failed struct {
	Step    string `json:"step"`
	Message string `json:"message"`
}

// TotalMS is the sum of the steps' durations.
func (r *Report) TotalMS() int64 {
	var n int64
	for _, s := range r.Steps {
		n += s.MS
	}
	return n
}

// ErrInvalid is the error of every report Decode refuses.
var ErrInvalid = errors.New("invalid report")

// Decode reads one report of at most MaxBytes from r, refusing unknown
// fields, trailing data and anything Check refuses.
func Decode(r io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if err := rep.Check(); err != nil {
		return nil, err
	}
	return &rep, nil
}

// Check returns an ErrInvalid naming the first field at fault. Server-set
// fields (ID, Received) must be empty.
func (r *Report) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if r.Kind != KindBoot && r.Kind != KindSave && r.Kind != KindActivate && r.Kind != KindInstall {
		return bad("kind %q: want %q, %q, %q or %q", short(r.Kind), KindBoot, KindSave, KindActivate, KindInstall)
	}
	if r.ID != 0 || !r.Received.IsZero() {
		return bad("id and received are the server's")
	}
	m := r.Machine
	if m.MAC == "" && m.Hostname == "" {
		return bad("machine: neither mac nor hostname")
	}
	if m.MAC != "" {
		hw, err := net.ParseMAC(m.MAC)
		if err != nil || len(hw) != 6 || hw.String() != m.MAC {
			return bad("machine.mac %q: want 6 lower-case hex bytes joined by colons", short(m.MAC))
		}
	}
	if m.IP != "" && net.ParseIP(m.IP) == nil {
		return bad("machine.ip %q: not an IP address", short(m.IP))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"machine.hostname", m.Hostname, MaxName}, {"chain", r.Chain, MaxName}, {"ref", r.Ref, MaxRef}} {
		if err := text(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if r.Digest != "" && !validDigest(r.Digest) {
		return bad("digest %q: want sha256:<64 hex> or sha512:<128 hex>", short(r.Digest))
	}
	if r.Facts != nil {
		if err := r.Facts.check(); err != nil {
			return err
		}
	}
	if len(r.Steps) > MaxSteps {
		return bad("%d steps: at most %d", len(r.Steps), MaxSteps)
	}
	for i, s := range r.Steps {
		if s.Name == "" {
			return bad("steps[%d]: no name", i)
		}
		if err := text(fmt.Sprintf("steps[%d].name", i), s.Name, MaxName); err != nil {
			return err
		}
		if err := text(fmt.Sprintf("steps[%d].summary", i), s.Summary, MaxMessage); err != nil {
			return err
		}
		if s.MS < 0 || s.MS > int64(24*time.Hour/time.Millisecond) {
			return bad("steps[%d].ms %d: out of range", i, s.MS)
		}
	}
	switch {
	case r.OK && r.Failed != nil:
		return bad("ok with a failed step")
	case !r.OK && r.Failed == nil:
		return bad("not ok but no failed step")
	case r.Failed != nil:
		if r.Failed.Step == "" {
			return bad("failed.step: empty")
		}
		if err := text("failed.step", r.Failed.Step, MaxName); err != nil {
			return err
		}
		if err := text("failed.message", r.Failed.Message, MaxMessage); err != nil {
			return err
		}
	}
	return nil
}

// text refuses invalid UTF-8 (and U+FFFD, what JSON decoding makes of
// it), control characters other than newline and tab (C0, DEL and C1), and
// more than max bytes.
func text(field, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%w: %s: %d bytes, at most %d", ErrInvalid, field, len(v), max)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) {
		return fmt.Errorf("%w: %s: not UTF-8 (or U+FFFD, what invalid UTF-8 decodes to)", ErrInvalid, field)
	}
	for _, c := range v {
		if unicode.IsControl(c) && c != '\n' && c != '\t' {
			return fmt.Errorf("%w: %s: control character %U", ErrInvalid, field, c)
		}
	}
	return nil
}

func validDigest(d string) bool {
	alg, hex, ok := strings.Cut(d, ":")
	n := map[string]int{"sha256": 64, "sha512": 128}[alg]
	if !ok || n == 0 || len(hex) != n {
		return false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// short cuts a bad value for an error message.
func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
