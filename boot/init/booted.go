package modeinit

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/mode-build/mode/layers"
)

// booted is what chain.json says about the running system. Its name is the
// chain's, the top mounted layer's file name without .sqfs, as layers.Booted
// says (a registry's chain config names the top module only).
func (b *boot) booted() *layers.Booted {
	name := b.dl.name
	if n := len(b.dl.metas); n > 0 {
		name = strings.TrimSuffix(b.dl.metas[n-1].File, ".sqfs")
	}
	return &layers.Booted{
		Name:     name,
		Ref:      b.dl.ref,
		Digest:   b.dl.digest,
		Insecure: b.p.insecure && b.p.from == "",
		Changes:  b.changesAt,
		Mirrors:  b.p.mirrors,
		Offline:  b.offline != nil,
		Lazy:     b.dl.lazy != nil,
		Verified: b.pol.checks(),
		Layers:   b.dl.metas,
	}
}

// writeBooted writes info as JSON to file, through a temporary file.
func writeBooted(file string, info *layers.Booted) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// siteCA is where mode initramfs --ca puts the site CA (it is also in the
// initramfs's CA bundle, which the pull trusts).
const siteCA = "/etc/mode/ca.crt"

// writeToken keeps mode.token in /run/mode/token, readable by root alone,
// for mode save --push, and the initramfs's site CA in /run/mode/ca.crt.
func (b *boot) writeToken() error {
	if ca, err := os.ReadFile(siteCA); err == nil {
		if err := os.WriteFile(layers.CAFile(runDir), ca, 0o644); err != nil {
			return fmt.Errorf("site CA: %w", err)
		}
	}
	if b.p.token == "" {
		return nil
	}
	if err := os.WriteFile(layers.TokenFile(runDir), []byte(b.p.token+"\n"), 0o600); err != nil {
		return fmt.Errorf("mode.token: %w", err)
	}
	return nil
}
