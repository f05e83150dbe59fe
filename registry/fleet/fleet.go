package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxMachines bounds the machines a Fleet remembers: boot.ipxe requests are
// not authenticated, so anyone may claim new MACs. Beyond it new machines
// are still served, not remembered.
const MaxMachines = 4096

// MaxActions is how many actions a machine keeps (the newest).
const MaxActions = 16

// Fleet is the machines of a site, the rules they boot by and their
// pending actions. It is safe for concurrent use.
type Fleet struct {
	file   string // the site file; "" for none
	finder Finder
	state  string // the state file (machines, actions); "" keeps them in memory
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	dirty    bool // a change waits for saveLater's write
	rules    *Rules
	loadErr  error
	modTime  time.Time
	loaded   time.Time
	machines map[string]*Record
	nextID   int
}

// Record is what the fleet remembers of a machine.
type Record struct {
	Machine
	LastIPXE   time.Time `json:"last_ipxe,omitzero"`   // its last boot.ipxe request
	LastReport time.Time `json:"last_report,omitzero"` // its last report received
	Actions    []*Action `json:"actions"`              // oldest first

	// Installed is its last install, confirmed by its report (autoinstall.go).
	Installed *Installed `json:"installed,omitempty"`
}

// ID is the machine's identity: its MAC.
func (r *Record) ID() string { return r.MAC }

// Option configures a Fleet.
type Option func(*Fleet)

// WithSiteFile takes the rules from file, chains checked by f.
func WithSiteFile(file string, f Finder) Option {
	return func(fl *Fleet) { fl.file, fl.finder = file, f }
}

// WithState keeps machines and actions in file (JSON), across restarts.
func WithState(file string) Option { return func(fl *Fleet) { fl.state = file } }

// WithLogger logs reloads and their errors.
func WithLogger(l *slog.Logger) Option { return func(fl *Fleet) { fl.logger = l } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(fl *Fleet) { fl.now = now } }

// New returns a fleet: it reads the state file and the site file, whose
// faults are an error here (later, a reload keeps the last good rules).
func New(opts ...Option) (*Fleet, error) {
	fl := &Fleet{logger: slog.New(slog.DiscardHandler), now: time.Now, machines: map[string]*Record{}}
	for _, o := range opts {
		o(fl)
	}
	if fl.state != "" {
		if err := fl.readState(); err != nil {
			return nil, err
		}
	}
	if fl.file != "" {
		if err := fl.Reload(); err != nil {
			return nil, err
		}
	}
	return fl, nil
}

// Reload reads the site file again. A file with faults leaves the last good
// rules in force; its error is kept for Status and logged.
func (fl *Fleet) Reload() error {
	st, err := os.Stat(fl.file)
	var rs *Rules
	if err == nil {
		rs, err = Load(fl.file, fl.finder)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if st != nil {
		fl.modTime = st.ModTime()
	}
	fl.loadErr = err
	if err != nil {
		fl.logger.Error("site file not loaded; the last good rules stay", "file", fl.file, "err", err)
		return err
	}
	fl.rules, fl.loaded = rs, fl.now()
	fl.logger.Info("site file loaded", "file", fl.file, "rules", len(rs.Rules))
	return nil
}

// Watch reloads the site file whenever its modification time changes,
// checking every interval, until ctx ends.
func (fl *Fleet) Watch(ctx context.Context, interval time.Duration) {
	if fl.file == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(fl.file)
		fl.mu.Lock()
		changed := err == nil && !st.ModTime().Equal(fl.modTime)
		fl.mu.Unlock()
		if changed {
			_ = fl.Reload()
		}
	}
}

// Status is the site file as the fleet holds it.
type Status struct {
	File   string    `json:"file,omitempty"`
	Loaded time.Time `json:"loaded,omitzero"` // when the rules in force were read
	Error  string    `json:"error,omitempty"` // the last reload's fault; the rules in force are older
	Rules  []*Rule   `json:"rules"`
}

// Status returns the rules in force and the last reload's error. It names
// the site file by its base name only (the API shows no server paths).
func (fl *Fleet) Status() Status {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	s := Status{Loaded: fl.loaded, Rules: []*Rule{}}
	if fl.file != "" {
		s.File = filepath.Base(fl.file)
	}
	if fl.rules != nil {
		s.Rules = fl.rules.Rules
	}
	if fl.loadErr != nil {
		s.Error = strings.ReplaceAll(fl.loadErr.Error(), fl.file, s.File)
	}
	return s
}

// Boot is how a machine boots now.
type Boot struct {
	Rule  string `json:"rule,omitempty"` // the rule, "" when an action decides
	Why   string `json:"why"`
	Local bool   `json:"local,omitempty"` // from its own disk (iPXE exit)
	Repo  string `json:"repo,omitempty"`
	Ref   string `json:"ref,omitempty"`  // tag or digest
	Args  string `json:"args,omitempty"` // more kernel command line: the rule's args, mode.load, hostname, metadata
	// KernelRepo and KernelRef name the chain whose kernel and initramfs
	// boot (the rule's kernel:); "": the chain's own.
	KernelRepo string  `json:"kernel_repo,omitempty"`
	KernelRef  string  `json:"kernel_ref,omitempty"`
	Action     *Action `json:"action,omitempty"`
}

// ErrNoRule is Decide's error when neither an action nor a rule applies.
var ErrNoRule = errors.New("no rule for this machine")

// NormalMAC returns mac lower case with colons, or an error naming it.
func NormalMAC(mac string) (string, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("MAC %q: want six hex bytes, 52:54:00:12:34:56", mac)
	}
	return hw.String(), nil
}

// BootIPXE decides how machine m boots for its boot.ipxe request and
// remembers the request: a pending action first, else its rule. A served
// action stays pending until the boot report that fulfils it (Reported); a
// local boot, which sends no report, is done at the machine's next request.
func (fl *Fleet) BootIPXE(m Machine) (*Boot, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	now := fl.now().UTC()
	rec := fl.record(m.MAC)
	if rec.MAC == "" { // not remembered (MaxMachines)
		rec = &Record{Machine: Machine{MAC: m.MAC}}
	}
	if m.UUID != "" {
		rec.UUID = strings.ToLower(m.UUID)
	}
	if m.Serial != "" {
		rec.Serial = m.Serial
	}
	if m.Hostname != "" {
		rec.Hostname = m.Hostname
	}
	rec.LastIPXE = now
	acted := false // an action changed: saved at once, else within saveDelay
	defer func() {
		if acted {
			fl.save()
		} else {
			fl.saveLater()
		}
	}()
	if a := rec.pending(); a != nil && a.Local && !a.Served.IsZero() {
		a.State, a.Done, acted = Done, now, true // it went to its disk and came back
	}
	acted = fl.autoInstall(rec) || acted // its rule installs it: an install action, as an operator's
	if a := rec.pending(); a != nil {
		a.Served, acted = now, true
		b := &Boot{Why: fmt.Sprintf("action %d: %s %s, pending since %s", a.ID, a.Kind, a.target(), a.Created.Format(time.RFC3339)), Action: a,
			Local: a.Local, Repo: a.Repo, Ref: a.Ref}
		if r, _ := fl.match(rec.Machine); r != nil && !a.Local {
			b.Args = r.args(rec.Machine)
		}
		if a.Install != nil {
			b.Args = strings.TrimSpace(a.Install.args() + " " + b.Args)
		}
		return b, nil
	}
	r, why := fl.match(rec.Machine)
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoRule, why)
	}
	if b := installedBoot(rec, r, why); b != nil {
		return b, nil
	}
	return &Boot{Rule: r.Name, Why: why, Local: r.Local, Repo: r.Repo, Ref: r.Ref, Args: r.args(rec.Machine),
		KernelRepo: r.KernelRepo, KernelRef: r.KernelRef}, nil
}

func (fl *Fleet) match(m Machine) (*Rule, string) {
	if fl.rules == nil {
		return nil, "no site file"
	}
	return fl.rules.Match(m)
}

// args is the kernel command line a rule adds for m.
func (r *Rule) args(m Machine) string {
	var a []string
	if r.Load != "" {
		a = append(a, "mode.load="+r.Load)
	}
	if r.NoLoad != "" {
		a = append(a, "mode.noload="+r.NoLoad)
	}
	if h := r.HostnameFor(m); h != "" {
		a = append(a, "mode.hostname="+h)
	}
	for _, k := range sortedKeys(r.Metadata) {
		a = append(a, "mode.meta."+k+"="+r.Metadata[k])
	}
	if r.Args != "" {
		a = append(a, r.Args)
	}
	return strings.Join(a, " ")
}

// record returns the record of mac, made when new (a zero Record when the
// fleet remembers MaxMachines already). fl.mu is held.
func (fl *Fleet) record(mac string) *Record {
	if r := fl.machines[mac]; r != nil {
		return r
	}
	if len(fl.machines) >= MaxMachines {
		return &Record{}
	}
	r := &Record{Machine: Machine{MAC: mac}, Actions: []*Action{}}
	fl.machines[mac] = r
	return r
}

// MachineView is a machine with the rule it matches now and why.
type MachineView struct {
	ID string `json:"id"`
	Record
	Boot  *Boot  `json:"boot,omitempty"`
	Error string `json:"error,omitempty"` // why no rule applies
}

// Machines returns every machine remembered, by MAC.
func (fl *Fleet) Machines() []MachineView {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	out := []MachineView{}
	for _, r := range fl.machines {
		out = append(out, fl.view(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Machine returns the machine of id (its MAC); ok is false when unknown.
func (fl *Fleet) Machine(id string) (MachineView, bool) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	r := fl.machines[id]
	if r == nil {
		return MachineView{}, false
	}
	return fl.view(r), true
}

func (fl *Fleet) view(r *Record) MachineView {
	v := MachineView{ID: r.MAC, Record: *r}
	if a := r.pending(); a != nil {
		v.Boot = &Boot{Why: fmt.Sprintf("action %d pending: %s %s", a.ID, a.Kind, a.target()), Action: a, Local: a.Local, Repo: a.Repo, Ref: a.Ref}
	} else if rule, why := fl.match(r.Machine); rule != nil && installedBoot(r, rule, why) != nil {
		v.Boot = installedBoot(r, rule, why)
	} else if rule != nil {
		v.Boot = &Boot{Rule: rule.Name, Why: why, Local: rule.Local, Repo: rule.Repo, Ref: rule.Ref, Args: rule.args(r.Machine),
			KernelRepo: rule.KernelRepo, KernelRef: rule.KernelRef}
	} else {
		v.Error = why
	}
	return v
}
