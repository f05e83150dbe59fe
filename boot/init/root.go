package modeinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	urmount "github.com/u-root/u-root/pkg/mount"
	"golang.org/x/sys/unix"
)

// toRAM copies the layers into /run/mode/layers and lets go of their medium.
func (b *boot) toRAM() (string, error) {
	if b.dl.lazy != nil {
		return "the layers fill into RAM from the registry; the boot waits for them before switch_root (step lazy)", nil
	}
	if b.dl.dir == layersDir {
		return "layers already in RAM", nil
	}
	for _, m := range b.dl.metas {
		if err := copyFile(filepath.Join(b.dl.dir, m.File), filepath.Join(layersDir, m.File), 0o644); err != nil {
			return "", fmt.Errorf("mode.toram: %w", err)
		}
	}
	b.keepLastBoot() // the cache disk goes
	b.queueDir = ""
	old := b.dl.dir
	b.dl.dir = layersDir
	if strings.HasPrefix(old, mountsDir+"/") {
		rel, _ := filepath.Rel(mountsDir, old)
		mp := filepath.Join(mountsDir, strings.SplitN(rel, "/", 2)[0])
		if err := unix.Unmount(mp, 0); err != nil {
			b.logf("mode.toram: unmount %s: %v (going on)", mp, err)
		}
	}
	return fmt.Sprintf("copied %d layers, %s to RAM", len(b.dl.metas), layers.Size(b.dl.size())), nil
}

// mountLayers loop-mounts each layer read-only under /run/mode/layers and
// stacks them as an overlay on /newroot under a tmpfs upper directory (or
// mode.changes's), after checking that saved layers sit on their parents.
func (b *boot) mountLayers() (string, error) {
	// A saved layer mounts only over the very layers it was saved on.
	if err := layers.CheckParents(b.dl.metas); err != nil {
		return "", err
	}
	var ls []mount.Layer
	for i, f := range b.dl.files() {
		target := filepath.Join(layersDir, strings.TrimSuffix(filepath.Base(f), ".sqfs"))
		// Through dm-verity, mounted here; the stack takes it as it is.
		mounted, err := b.verityMount(i, b.dl.metas[i], f, target)
		if err != nil {
			return "", err
		}
		ls = append(ls, mount.Layer{File: f, Target: target, Mounted: mounted})
	}
	upper, work := changesDir, workDir
	if b.upper != "" {
		upper, work = b.upper, b.work
	}
	plan := mount.Root(ls, upper, work, newRoot)
	for _, m := range plan.Mounts() {
		b.debugf("%s", m)
	}
	// The stack is never closed: its mounts become the booted system's
	// (/run/mode/layers, the root). On failure Open has undone its mounts.
	if _, err := mount.Open(plan); err != nil {
		return "", err
	}
	if err := checkInit(newRoot, b.p.init); err != nil {
		return "", err
	}
	return fmt.Sprintf("mounted %d layers as overlay on %s", len(ls), newRoot), nil
}

// checkInit makes sure init exists in root, following symbolic links inside root.
func checkInit(root, init string) error {
	p := init
	for i := 0; i < 10; i++ {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			return fmt.Errorf("mode.init=%s: not in the chain: %w", init, err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			if fi.Mode()&0o111 == 0 || fi.IsDir() {
				return fmt.Errorf("mode.init=%s: not an executable file", init)
			}
			return nil
		}
		t, err := os.Readlink(filepath.Join(root, p))
		if err != nil {
			return err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = t
	}
	return fmt.Errorf("mode.init=%s: too many symbolic links", init)
}

// writeChain writes /run/mode/chain.json (layers.Booted), and the push
// token of mode.token for mode save --push.
func (b *boot) writeChain() (string, error) {
	if err := writeBooted(chainFile, b.booted()); err != nil {
		return "", err
	}
	if err := b.writeToken(); err != nil {
		return "", err
	}
	b.keepLastBoot()
	return "wrote " + chainFile, nil
}

// switchRoot makes the overlay the root and execs the chain's init.
func (b *boot) switchRoot() (string, error) {
	b.logf("uptime %s at switch_root", uptime())
	if st, err := layers.ReadLazy(runDir); err == nil {
		when := "by switch_root, the background fill under way"
		if st.Whole {
			when = "by switch_root" // mode.toram, or a fill that was quick
		}
		b.logf("%s", st.Summary(when))
	}
	b.logf("switching root to %s after %s", b.p.init, seconds(time.Since(b.start)))
	if err := urmount.SwitchRoot(newRoot, b.p.init); err != nil {
		return "", err
	}
	return "", errors.New("switch_root returned")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
