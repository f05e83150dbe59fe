package fleet

import (
	"fmt"
	"strings"

	"github.com/mode-build/mode/report"
)

// Install is a rule's install section: the disk its machines are installed
// to by the install and reinstall actions, and whether that disk may hold
// data already (docs/fleet.md, "Install to disk").
type Install struct {
	Disk InstallDisk `yaml:"disk" json:"disk"`
	// Wipe lets the install overwrite a disk that holds a partition table
	// or a file system; without it such a disk is refused, untouched.
	Wipe bool `yaml:"wipe" json:"wipe,omitempty"`
	// Auto installs each machine the rule selects once, with no action
	// (autoinstall.go); without it only install actions install.
	Auto bool `yaml:"auto" json:"auto,omitempty"`
}

// InstallDisk selects the disk by its facts: every field given must hold,
// and exactly one disk of the machine must match.
type InstallDisk struct {
	Serial  string `yaml:"serial" json:"serial,omitempty"`
	Model   string `yaml:"model" json:"model,omitempty"`       // a glob
	MinSize string `yaml:"min_size" json:"min_size,omitempty"` // "100GB", "64MiB"
}

// Selector is the disk selector the init applies (mode.install=…).
func (in *Install) Selector() (report.DiskSelector, error) {
	s := report.DiskSelector{Serial: in.Disk.Serial, Model: in.Disk.Model}
	if in.Disk.MinSize != "" {
		n, err := ParseSize(in.Disk.MinSize)
		if err != nil {
			return s, fmt.Errorf("install: disk min_size %q: %v", in.Disk.MinSize, err)
		}
		s.MinSize = n
	}
	if err := s.Check(); err != nil {
		return s, fmt.Errorf("install: %v", err)
	}
	return s, nil
}

// args is the kernel command line of an install: the disk selector and the
// permission to wipe.
func (in *Install) args() string {
	s, _ := in.Selector() // checked when the rule was loaded
	a := "mode.install=" + s.String()
	if in.Wipe {
		a += " mode.install.wipe"
	}
	return a
}

// Install actions: install the chain to the machine's disk. Both do the
// same; reinstall says what the operator means for a machine installed
// before (whose disk its rule must allow wiping).
const (
	KindInstall   = "install"
	KindReinstall = "reinstall"
)

func isInstall(kind string) bool { return kind == KindInstall || kind == KindReinstall }

// installFor is the install section an install action of machine mac
// takes: its rule's. fl.mu is held.
func (fl *Fleet) installFor(mac string) (*Rule, error) {
	m := Machine{MAC: mac}
	if rec := fl.machines[mac]; rec != nil {
		m = rec.Machine
	}
	r, why := fl.match(m)
	if r == nil {
		return nil, fmt.Errorf("install: machine %s has no rule (%s): its rule's install section says which disk", mac, why)
	}
	if r.Install == nil {
		return nil, fmt.Errorf("install: machine %s's rule %s has no install section (install: {disk: {serial: …}}): no disk to install to", mac, r.Name)
	}
	return r, nil
}

// installReported takes an install report for a pending install action: a
// success fulfils it, a refusal or failure is kept on the action (it stays
// pending: the disk was left as it was, or the write failed).
func (a *Action) installReported(rep *report.Report) bool {
	if rep.OK && a.fulfilledBy(rep) {
		return true
	}
	if !rep.OK {
		msg := "failed"
		if rep.Failed != nil {
			msg = strings.TrimSpace(rep.Failed.Step + ": " + rep.Failed.Message)
		}
		a.Error, a.ErrorReport = msg, rep.ID
	}
	return false
}
