package modeinit

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
	"golang.org/x/sys/unix"
)

// installSteps are the steps of mode.install: the network and the modules
// (the disk's drivers), then the install. The report and the reboot follow
// (runSteps).
func (b *boot) installSteps() []step {
	var mods, nw *task
	return []step{
		{name: "network", quiet: true, run: func() (string, error) {
			nw = b.background(step{name: "network", run: b.network})
			return "", nil
		}},
		{name: "network drivers", run: func() (string, error) {
			defer close(b.netDrivers)
			return b.loadNetDrivers()
		}},
		{name: "modules", quiet: true, run: func() (string, error) {
			mods = b.background(step{name: "modules", run: b.loadModules})
			return "", nil
		}},
		b.waitFor(&nw), b.waitFor(&mods),
		{name: "install", run: b.install},
	}
}

// errRefused marks an install that left the disk as it was.
var errRefused = errors.New("install refused, the disk left unchanged")

// install picks the disk by mode.install's selector from the machine's
// facts, refuses one that holds data (unless mode.install.wipe) or is too
// small, then writes the server's disk image of mode.ref's chain onto it.
// Nothing is written before every check has passed.
func (b *boot) install() (string, error) {
	facts := report.Gather("/")
	d, err := b.p.install.Select(facts.Disks)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errRefused, err)
	}
	dev := "/dev/" + d.Name
	f, err := os.Open(dev)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errRefused, err)
	}
	held, err := diskInUse(f, d.SizeBytes)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", errRefused, dev, err)
	}
	if held != "" && !b.p.installWipe {
		return "", fmt.Errorf("%w: %s (%s, serial %q) holds %s, and the rule does not allow wiping it (install: {wipe: true})",
			errRefused, dev, layers.Size(d.SizeBytes), d.Serial, held)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	u, err := installURL(b.p.ref, b.p.insecure, report.ThisMachine().MAC)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errRefused, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errRefused, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: the disk image: %v", errRefused, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return "", fmt.Errorf("%w: the disk image: %s: %s", errRefused, resp.Status, strings.TrimSpace(string(msg)))
	}
	size, err := strconv.ParseInt(resp.Header.Get(report.DiskSizeHeader), 10, 64)
	if err != nil || size <= 0 {
		return "", fmt.Errorf("%w: the disk image: no size (%s)", errRefused, report.DiskSizeHeader)
	}
	if size > d.SizeBytes {
		return "", fmt.Errorf("%w: %s has %s, the image needs %s", errRefused, dev, layers.Size(d.SizeBytes), layers.Size(size))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%w: the disk image: %v", errRefused, err)
	}
	start := time.Now()
	if err := writeDisk(dev, zr, size, d.SizeBytes); err != nil {
		return "", fmt.Errorf("%s: writing the disk image (the disk is now partly written): %w", dev, err)
	}
	what := "blank"
	if held != "" {
		what = "wiped: it held " + held
	}
	return fmt.Sprintf("install: %s (%s, serial %q, %s): %s image of %s written (%s from the first byte)", dev, layers.Size(d.SizeBytes), d.Serial, what,
		layers.Size(size), b.p.ref, seconds(time.Since(start))), nil
}

// writeDisk writes exactly size bytes of r onto dev, a disk of diskSize
// bytes opened exclusively (the kernel refuses a mounted disk), zeroes its
// last MiB beyond them (where an old backup GPT or RAID superblock would
// be), and flushes it all to the disk.
func writeDisk(dev string, r io.Reader, size, diskSize int64) error {
	f, err := os.OpenFile(dev, os.O_WRONLY|os.O_EXCL, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(f, io.LimitReader(r, size), make([]byte, 1<<20))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("the image ended after %d of %d bytes", n, size)
	}
	if tail := min(1<<20, diskSize-size); tail > 0 {
		if _, err := f.WriteAt(make([]byte, tail), diskSize-tail); err != nil {
			return fmt.Errorf("zeroing the disk's end: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// installURL is where the server of ref (HOST[:PORT]/REPO:TAG) hands out
// the disk image of that chain for machine mac.
func installURL(ref string, insecure bool, mac string) (string, error) {
	rep, err := report.URL(ref, insecure) // the same scheme and host as the reports
	if err != nil {
		return "", err
	}
	base := strings.TrimSuffix(rep, report.Path)
	q := url.Values{"ref": {ref}}
	if mac != "" {
		q.Set("mac", mac)
	}
	if insecure {
		q.Set("insecure", "1")
	}
	return base + report.InstallPath + "?" + q.Encode(), nil
}

// rebootInstalled restarts the machine after a successful install: its
// firmware boots the disk (or netboots, where the fleet's rule decides).
func (b *boot) rebootInstalled() {
	b.logf("INSTALLED: rebooting into the disk")
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART); err != nil {
		b.logf("reboot: %v", err)
	}
	os.Exit(1)
}

// waitNetwork waits for the network task like waitFor; with mode.cache a
// network that failed (no NIC, no DHCP answer) is no failure: the fetch
// boots the chain on the cache disk offline.
func (b *boot) waitNetwork(t **task) step {
	w := b.waitFor(t)
	if b.p.cache == "" {
		return w
	}
	return step{name: w.name, quiet: true, run: func() (string, error) {
		if _, err := w.run(); err != nil {
			b.netDown = err
			b.logf("network: %v (mode.cache: the chain on the disk boots offline)", err)
		}
		return "", nil
	}}
}
