package fleet

// Knows reports whether the site knows the machine mac (lower case, with
// colons): a rule of the site file names its MAC, or it sent a boot report,
// or an action waits for it. mode serve --pxe-known answers only these
// (docs/network.md): a machine that merely asked boot.ipxe is not known.
func (fl *Fleet) Knows(mac string) bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.rules != nil && fl.rules.index != nil && len(fl.rules.index.byKey["mac"][mac]) > 0 {
		return true
	}
	r := fl.machines[mac]
	return r != nil && (!r.LastReport.IsZero() || r.pending() != nil)
}
