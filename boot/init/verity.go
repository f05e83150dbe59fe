package modeinit

import (
	"errors"
	"fmt"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/verity"
	"golang.org/x/sys/unix"
)

// verityMount mounts the layer file (metadata m, the i-th of the chain)
// read-only at target through a dm-verity device when the policy checks
// and the layer has verity data, so that every block is checked against the
// root hash of the (signed) chain config as it is read. It reports whether
// it mounted the layer: when not, the stack loop-mounts it plainly.
func (b *boot) verityMount(i int, m layers.Meta, file, target string) (bool, error) {
	under := ""
	if b.dl.lazy != nil {
		under = b.dl.lazy[i] // its NBD device: always through dm-verity
	} else if !b.pol.checks() || m.Verity == nil {
		return false, nil
	} else {
		loop, err := mount.AttachLoop(file, true)
		if err != nil {
			return false, fmt.Errorf("layer %s: %w", m.File, err)
		}
		defer loop.Close() // the verity device holds the loop device from here on
		under = loop.Path
	}
	dev, err := verity.Open(fmt.Sprintf("mode-layer-%d", i), under, m.Verity)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", m.File, err)
	}
	mnt := mount.Mount{Type: "squashfs", Source: dev.Path, Target: target, Flags: unix.MS_RDONLY}
	if err := mnt.Mount(); err != nil {
		dev.Remove()
		if errors.Is(err, unix.EIO) {
			return false, fmt.Errorf("layer %s: dm-verity refused a block as it was read (the %s changed after it was checked; the chain's root hash for it is %s): %w",
				m.File, map[bool]string{true: "registry's blob", false: "file"}[b.dl.lazy != nil], m.Verity.RootHash, err)
		}
		return false, fmt.Errorf("layer %s: %w", m.File, err)
	}
	b.debugf("layer %s through dm-verity %s, root hash %s", m.File, dev.Path, m.Verity.RootHash)
	return true, nil
}
