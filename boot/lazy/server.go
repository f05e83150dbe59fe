package lazy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mode-build/mode/boot/nbd"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Main is the lazy server (Env set, started by Start): it reads its Spec,
// opens each layer's blob, probes the registry's Range support with the
// first chunk of each, attaches an NBD device served from the blob, answers
// on file descriptor 3, then fills the blobs in the background and serves
// for ever, or until SIGUSR1 with Spec.Stop. It returns the exit code.
func Main() int {
	ready := os.NewFile(3, "ready")
	answer := func(r Ready) error {
		err := json.NewEncoder(ready).Encode(r)
		ready.Close()
		return err
	}
	var spec Spec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		answer(Ready{Error: "read spec: " + err.Error()})
		return 1
	}
	stop := make(chan os.Signal, 1)
	if spec.Stop {
		signal.Notify(stop, unix.SIGUSR1)
	}
	s, err := open(spec)
	if err != nil {
		answer(Ready{Error: err.Error()})
		return 1
	}
	if s.noRange != "" {
		answer(Ready{NoRange: s.noRange})
		return 0
	}
	if err := answer(Ready{Devices: s.paths(), Fetched: s.fetched()}); err != nil {
		// Whoever started it is gone (killed before it read the answer):
		// nothing will use or stop the devices.
		s.logf("lazy: answering: %v: letting go of the devices", err)
		s.release()
		s.remove()
		return 1
	}
	fillCtx, cancel := context.WithCancel(context.Background())
	filled := make(chan struct{})
	go func() {
		defer close(filled)
		s.fill(fillCtx, spec.Rate, spec.Now)
	}()
	if !spec.Stop {
		select {} // the devices' servers run for the machine's life
	}
	<-stop
	cancel()
	s.release()
	<-filled // it ends with the fetches: its status writes too
	s.remove()
	return 0
}

// server is the running lazy server's state.
type server struct {
	spec    Spec
	blobs   []*remote.Blob
	files   []string
	devices []*nbd.Device
	noRange string
	dir     *os.File // RunDir, held across switch_root
	finals  []string // with mode.cache: each blob's name once whole (Layer.Final)
	cache   *os.File // the mode.cache directory, held across switch_root
	start   time.Time
	uptime  *os.File
	cancel  context.CancelFunc // ends the blobs' fetches (close)

	mu   sync.Mutex
	done bool     // the fill ended (the status's done)
	errs []string // what failed in it (the status's error)
}

func (s *server) logf(format string, args ...any) {
	fmt.Fprintf(os.Stdout, s.spec.Prefix+format+"\n", args...)
}

// open opens the blobs, probes them and attaches their devices. On failure,
// and when the registry ignores Range, what it made is gone again.
func open(spec Spec) (_ *server, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	dir, err := os.Open(spec.RunDir)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &server{spec: spec, dir: dir, start: time.Now(), cancel: cancel}
	defer func() {
		if err != nil || s.noRange != "" {
			s.release()
			s.remove()
		}
	}()
	s.uptime, _ = os.Open("/proc/uptime") // after switch_root /proc is elsewhere
	// Reads wait out a lost network: a read fails only after a day without
	// progress (the boot's own fetch keeps mode.fetch.timeout).
	var mu sync.Mutex
	last := map[string]time.Time{}
	opts := []remote.Option{remote.WithInsecure(spec.Insecure), remote.WithMirrors(spec.Mirrors...),
		remote.WithRetries(0, 500*time.Millisecond), remote.WithRetryFor(24 * time.Hour),
		remote.WithRetryNotify(func(r remote.Retry) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last[r.What]) > 10*time.Second { // at most one line every 10 s per range
				last[r.What] = time.Now()
				s.logf("lazy: %s failed (%v); retrying (waiting %s without progress so far)", r.What, r.Err, r.Stalled.Round(time.Second))
			}
		})}
	for i, l := range spec.Layers {
		b, err := remote.OpenBlob(ctx, spec.Ref, digest.Digest(l.Digest), l.Size, l.File, opts...)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.File, err)
		}
		s.blobs, s.files, s.finals = append(s.blobs, b), append(s.files, l.File), append(s.finals, l.Final)
		if l.Final != "" && s.cache == nil {
			if s.cache, err = os.Open(filepath.Dir(l.File)); err != nil {
				return nil, fmt.Errorf("mode.cache: %w", err)
			}
		}
		if err := b.Probe(); err != nil {
			if i == 0 && errors.Is(err, remote.ErrNoRange) {
				s.noRange = fmt.Sprintf("the registry of %s ignores HTTP Range", spec.Ref)
				return s, nil
			}
			return nil, fmt.Errorf("layer %s: %w", l.File, err)
		}
	}
	if err := waitNBD(); err != nil {
		return nil, err
	}
	for i, b := range s.blobs {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socketpair: %w", err)
		}
		kernel, srv := os.NewFile(uintptr(fds[0]), "nbd-kernel"), os.NewFile(uintptr(fds[1]), "nbd-server")
		go func() {
			defer srv.Close() // the kernel's side sees the end: its device lets go
			if err := nbd.Serve(srv, b, b.Size(), 8); err != nil {
				s.logf("lazy: layer %s: %v", s.files[i], err)
			}
		}()
		d, err := nbd.Attach(kernel, b.Size())
		kernel.Close() // the kernel holds its own reference from NBD_SET_SOCK
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("layer %s: %w", s.files[i], err)
		}
		s.devices = append(s.devices, d)
	}
	s.writeStatus()
	return s, nil
}

// waitNBD waits for the nbd module (loaded by the init's modules task) to
// make its devices.
func waitNBD() error {
	for i := 0; i < 600; i++ {
		if _, err := os.Stat("/sys/block/nbd0"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no /sys/block/nbd0 after 60 s: the nbd kernel module is not loaded")
}

func (s *server) paths() []string {
	var ps []string
	for _, d := range s.devices {
		ps = append(ps, d.Path)
	}
	return ps
}

func (s *server) fetched() int64 {
	var n int64
	for _, b := range s.blobs {
		n += b.Fetched()
	}
	return n
}

// release lets go of the devices (Spec.Stop, or a failed open): once
// nothing holds them it disconnects them and ends the blobs' fetches.
func (s *server) release() {
	for _, d := range s.devices {
		waitUnheld(d.Path)
	}
	for _, d := range s.devices {
		if err := d.Disconnect(30 * time.Second); err != nil {
			s.logf("lazy: %v", err)
		}
	}
	s.cancel()
}

// remove closes the blobs and removes their files and the status file.
func (s *server) remove() {
	for i, b := range s.blobs {
		b.Close()
		os.Remove(s.files[i])
	}
	unix.Unlinkat(int(s.dir.Fd()), s.spec.statusName(), 0)
	s.dir.Close()
	if s.cache != nil {
		s.cache.Close()
	}
}

// waitUnheld waits while a device (device-mapper's, a deferred removal
// waiting for its last user) holds the block device dev.
func waitUnheld(dev string) {
	holders := filepath.Join("/sys/block", filepath.Base(dev), "holders")
	for {
		ents, err := os.ReadDir(holders)
		if err != nil || len(ents) == 0 {
			return
		}
		time.Sleep(time.Second)
	}
}

// fill makes every blob whole, one after the other at rate, then says so:
// from then on the machine needs no registry for them. It starts once the
// boot steps end (RunDir's chain.json exists), or at once when now. It
// ends early when ctx ends.
func (s *server) fill(ctx context.Context, rate int64, now bool) {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // the status, for mode status and the boot report
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.writeStatus()
			}
		}
	}()
	// The boot's own reads first: the fill starts when the boot steps end
	// (chain.json written), or after a minute.
	for i := 0; i < 600 && !now && ctx.Err() == nil; i++ {
		if err := unix.Fstatat(int(s.dir.Fd()), filepath.Base(layers.ChainFile(s.spec.RunDir)), new(unix.Stat_t), 0); err == nil {
			s.writeStatus() // what the boot read, for the step after chain.json
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errs []string
	for i, b := range s.blobs {
		if err := b.Fill(ctx, rate, 2*time.Second); err != nil {
			if ctx.Err() != nil {
				break
			}
			errs = append(errs, fmt.Sprintf("layer %s: %v", filepath.Base(s.files[i]), err))
			s.logf("lazy: layer %s: %v (dm-verity refuses its changed blocks)", s.files[i], err)
		} else if err := s.keep(i); err != nil {
			errs = append(errs, fmt.Sprintf("layer %s: %v", filepath.Base(s.files[i]), err))
			s.logf("lazy: layer %s: %v", s.files[i], err)
		}
	}
	if s.cache != nil {
		unix.Sync() // the cache disk's layers survive a machine cut off now
	}
	close(stop)
	<-stopped // its last write is not after the one below
	if ctx.Err() != nil {
		return // taken down: the status file goes
	}
	s.mu.Lock()
	s.done, s.errs = true, errs
	s.mu.Unlock()
	st := s.writeStatus()
	if len(errs) == 0 {
		s.logf("lazy: all %d layers local at uptime %s, %.2fs after the server started: the registry is no longer needed (%s)",
			len(s.blobs), s.uptimeNow(), time.Since(s.start).Seconds(), st.Summary("in all"))
	}
}

// keep gives blob i, whole and checked, its name in the mode.cache
// directory (through the directory held open), if it has one there.
func (s *server) keep(i int) error {
	if s.finals[i] == "" {
		return nil
	}
	fd := int(s.cache.Fd())
	if err := unix.Renameat(fd, filepath.Base(s.files[i]), fd, filepath.Base(s.finals[i])); err != nil {
		return fmt.Errorf("mode.cache: naming it %s: %w", filepath.Base(s.finals[i]), err)
	}
	return nil
}

// writeStatus writes the status file in RunDir (through the directory
// held open: after switch_root /run is elsewhere in this process's view).
func (s *server) writeStatus() layers.LazyStatus {
	st := layers.LazyStatus{Whole: true}
	for i, b := range s.blobs {
		l := layers.LazyLayer{File: s.files[i], Size: b.Size(), Local: b.Local(), Fetched: b.Fetched()}
		st.Layers = append(st.Layers, l)
		st.Fetched += l.Fetched
		st.Size += l.Size
		st.Whole = st.Whole && l.Local == l.Size
	}
	s.mu.Lock()
	st.Done, st.Error = s.done, strings.Join(s.errs, "; ")
	s.mu.Unlock()
	data, _ := json.MarshalIndent(st, "", "  ")
	name := s.spec.statusName()
	tmp := "." + name + ".tmp"
	fd, err := unix.Openat(int(s.dir.Fd()), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return st
	}
	f := os.NewFile(uintptr(fd), name)
	_, err = f.Write(append(data, '\n'))
	f.Close()
	if err == nil {
		unix.Renameat(int(s.dir.Fd()), tmp, int(s.dir.Fd()), name)
	}
	return st
}

// uptimeNow reads the kernel's uptime through the file opened before
// switch_root.
func (s *server) uptimeNow() string {
	buf := make([]byte, 64)
	if s.uptime != nil {
		if n, _ := s.uptime.ReadAt(buf, 0); n > 0 {
			if f := strings.Fields(string(buf[:n])); len(f) > 0 {
				return f[0] + "s"
			}
		}
	}
	return "?"
}
