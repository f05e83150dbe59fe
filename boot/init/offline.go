package modeinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/mode-build/mode/report"
	"golang.org/x/sys/unix"
)

// Files the init keeps beside the layers on the mode.cache disk.
const (
	lastBootFile = "last-boot.json"   // the chain last booted from the cache
	queuedReport = "boot-report.json" // the report of an offline boot, for the next boot to send
)

// lastBoot is what the cache disk keeps of the chain last booted from it,
// so that a boot that reaches no registry boots it again: its layers'
// metadata and, when the chain was read through its signature (mode.verify
// warn or require), its manifest, config and signatures, checked again as
// if pulled.
type lastBoot struct {
	Ref        string            `json:"ref"`
	Digest     string            `json:"digest"`
	Name       string            `json:"name"`
	Layers     []layers.Meta     `json:"layers"` // those booted, base first
	Manifest   []byte            `json:"manifest,omitempty"`
	Config     []byte            `json:"config,omitempty"`
	Signatures []trust.Signature `json:"signatures,omitempty"`
}

// keepLastBoot records the chain pulled into the cache as the one to boot
// offline (once: at chain.json, or before mode.toram lets go of the disk).
func (b *boot) keepLastBoot() {
	if b.cacheDir == "" || b.dl == nil || b.offline != nil || b.dl.digest == "" {
		return
	}
	rec := lastBoot{Ref: b.p.ref, Digest: b.dl.digest, Name: b.dl.name, Layers: b.dl.metas}
	if b.signed != nil {
		rec.Manifest, rec.Config, rec.Signatures = b.signed.Manifest, b.signed.Config, b.signed.Signatures
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err == nil {
		err = writeSynced(filepath.Join(b.cacheDir, lastBootFile), data)
	}
	if err != nil {
		b.logf("mode.cache: the chain to boot offline not recorded: %v (going on)", err)
	}
	b.cacheDir = "" // done; and the disk may go (mode.toram)
}

// writeSynced replaces file with data, durably.
func writeSynced(file string, data []byte) error {
	tmp := file + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	unix.Sync()
	return nil
}

// offlineBoot boots the chain last booted from the cache dir, after cause
// (an error naming mode.ref): no registry answered. Its digests are checked again, and with a signed
// chain its signatures, as a pull would.
func (b *boot) offlineBoot(dir string, cause error) (string, error) {
	failed := func(err error) error {
		return fmt.Errorf("%w; and nothing to boot offline from mode.cache=%s: %v", cause, b.p.cache, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, lastBootFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", failed(errors.New("no chain was booted from it yet"))
	} else if err != nil {
		return "", failed(err)
	}
	var rec lastBoot
	if err := json.Unmarshal(data, &rec); err != nil || len(rec.Layers) == 0 {
		return "", failed(fmt.Errorf("%s: unreadable (%v)", lastBootFile, err))
	}
	b.logf("OFFLINE: no registry answered (%v)", cause)
	metas := rec.Layers
	if b.pol.checks() {
		if metas, err = b.signedOffline(&rec); err != nil {
			return "", err
		}
	}
	metas = b.filter(metas)
	for _, m := range metas {
		if m.Digest == "" {
			return "", failed(fmt.Errorf("layer %s: no digest recorded", m.File))
		}
	}
	if err := verifyLocal(dir, metas); err != nil {
		return "", failed(err)
	}
	b.offline = cause
	b.dl = &download{name: rec.Name, ref: b.p.ref, digest: rec.Digest, metas: metas, dir: dir}
	return fmt.Sprintf("OFFLINE: booting %s %s, the chain last booted, from the cache (%d layers, %s, digests verified)",
		rec.Name, rec.Digest[:min(len(rec.Digest), 19)], len(metas), layers.Size(b.dl.size())), nil
}

// signedOffline applies the policy to the recorded chain as verifyRef does
// to a pulled one: the signatures kept with it must vouch for its manifest
// digest, and the config it names gives the layers' metadata.
func (b *boot) signedOffline(rec *lastBoot) ([]layers.Meta, error) {
	what := fmt.Sprintf("offline chain %s (%s)", rec.Name, rec.Digest)
	if rec.Manifest == nil {
		return rec.Layers, b.failf("%s refused: no manifest or signature was kept with it (booted with mode.verify=off)", what)
	}
	c, err := parseSigned(rec.Digest, rec.Manifest, rec.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(b.pol.keys) > 0 {
		k, err := trust.Verify(b.pol.keys, rec.Digest, rec.Signatures)
		if err != nil {
			if err := b.failf("%s refused: %w", what, err); err != nil {
				return nil, err
			}
		} else {
			b.logf("%s: signed by key %s", what, k.ID)
		}
	}
	if err := b.verityData(c); err != nil {
		return nil, err
	}
	return bootedOf(c, rec.Layers), nil
}

// bootedOf returns the layers of c that were booted (by name), in c's order.
func bootedOf(c *store.Chain, booted []layers.Meta) []layers.Meta {
	was := map[string]bool{}
	for _, m := range booted {
		was[m.Name] = true
	}
	var out []layers.Meta
	for _, m := range c.Layers {
		if was[m.Name] {
			out = append(out, m)
		}
	}
	return out
}

// queueReport keeps r, the report of an offline boot, on the cache disk
// for the next boot that reaches the server.
func (b *boot) queueReport(r *report.Report) {
	if b.queueDir == "" {
		b.logf("boot report of the offline boot not kept: the cache disk is gone (mode.toram)")
		return
	}
	data, err := json.Marshal(r)
	if err == nil {
		err = writeSynced(filepath.Join(b.queueDir, queuedReport), data)
	}
	if err != nil {
		b.logf("boot report of the offline boot not kept: %v", err)
		return
	}
	b.logf("boot report kept on the cache disk, for the next boot that reaches the server")
}

// takeQueued reads and removes the report an offline boot left in dir.
func takeQueued(dir string) *report.Report {
	file := filepath.Join(dir, queuedReport)
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := report.Decode(f)
	os.Remove(file)
	if err != nil {
		return nil
	}
	return r
}
