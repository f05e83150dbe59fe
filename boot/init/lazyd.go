package modeinit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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

// runLazy is the lazy server (stageEnv=lazy, started by startLazy): it
// opens each layer's blob, probes the registry's Range support with the
// first chunk of each, attaches an NBD device served from the blob, answers
// on file descriptor 3, then fills the blobs in the background and serves
// for ever. It returns only on failure before it answered.
func runLazy() int {
	out := &boot{out: os.Stdout}
	ready := os.NewFile(3, "ready")
	answer := func(r lazyReady) {
		json.NewEncoder(ready).Encode(r)
		ready.Close()
	}
	var spec lazySpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		answer(lazyReady{Error: "read spec: " + err.Error()})
		return 1
	}
	st, err := serveLazy(out, spec)
	if err != nil {
		answer(lazyReady{Error: err.Error()})
		return 1
	}
	if st.noRange != "" {
		answer(lazyReady{NoRange: st.noRange})
		return 0
	}
	answer(lazyReady{Devices: st.devices, Fetched: st.fetched()})
	st.fill(out, spec.Rate, spec.Now)
	select {} // the devices' servers run for the machine's life
}

// lazyServer is the running lazy server's state.
type lazyServer struct {
	blobs   []*remote.Blob
	files   []string
	devices []string
	noRange string
	dir     *os.File // /run/mode, held across switch_root
	finals  []string // with mode.cache: each blob's name once whole (lazyLayer.Final)
	cache   *os.File // the mode.cache directory, held across switch_root
	start   time.Time
	uptime  *os.File

	mu   sync.Mutex
	done bool     // the fill ended (lazy.json's done)
	errs []string // what failed in it (lazy.json's error)
}

// serveLazy opens the blobs, probes them and attaches their devices.
func serveLazy(out *boot, spec lazySpec) (*lazyServer, error) {
	ctx := context.Background()
	dir, err := os.Open(runDir)
	if err != nil {
		return nil, err
	}
	s := &lazyServer{dir: dir, start: time.Now()}
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
				out.logf("lazy: %s failed (%v); retrying (waiting %s without progress so far)", r.What, r.Err, r.Stalled.Round(time.Second))
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
				for _, b := range s.blobs {
					b.Close()
				}
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
		kernel, server := os.NewFile(uintptr(fds[0]), "nbd-kernel"), os.NewFile(uintptr(fds[1]), "nbd-server")
		go func() {
			if err := nbd.Serve(server, b, b.Size(), 8); err != nil {
				out.logf("lazy: layer %s: %v", s.files[i], err)
			}
		}()
		d, err := nbd.Attach(kernel, b.Size())
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", s.files[i], err)
		}
		s.devices = append(s.devices, d.Path)
	}
	s.writeStatus()
	return s, nil
}

// waitNBD waits for the nbd module (loaded by the modules task) to make
// its devices.
func waitNBD() error {
	for i := 0; i < 600; i++ {
		if _, err := os.Stat("/sys/block/nbd0"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no /sys/block/nbd0 after 60 s: the initramfs lacks the nbd kernel module")
}

func (s *lazyServer) fetched() int64 {
	var n int64
	for _, b := range s.blobs {
		n += b.Fetched()
	}
	return n
}

// fill makes every blob whole, one after the other at rate, then says so on
// the console: from then on the machine needs no registry. It starts once
// the boot steps end, or at once when now (mode.toram).
func (s *lazyServer) fill(out *boot, rate int64, now bool) {
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
	for i := 0; i < 600 && !now; i++ {
		if err := unix.Fstatat(int(s.dir.Fd()), filepath.Base(chainFile), new(unix.Stat_t), 0); err == nil {
			s.writeStatus() // what the boot read, for the step after chain.json
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errs []string
	for i, b := range s.blobs {
		if err := b.Fill(context.Background(), rate, 2*time.Second); err != nil {
			errs = append(errs, fmt.Sprintf("layer %s: %v", filepath.Base(s.files[i]), err))
			out.logf("lazy: layer %s: %v (dm-verity refuses its changed blocks)", s.files[i], err)
		} else if err := s.keep(i); err != nil {
			errs = append(errs, fmt.Sprintf("layer %s: %v", filepath.Base(s.files[i]), err))
			out.logf("lazy: layer %s: %v", s.files[i], err)
		}
	}
	if s.cache != nil {
		unix.Sync() // the cache disk's layers survive a machine cut off now
	}
	close(stop)
	<-stopped // its last write is not after the one below
	s.mu.Lock()
	s.done, s.errs = true, errs
	s.mu.Unlock()
	st := s.writeStatus()
	if len(errs) == 0 {
		out.logf("lazy: all %d layers local at uptime %s, %s after the server started: the registry is no longer needed (%s)",
			len(s.blobs), s.uptimeNow(), seconds(time.Since(s.start)), st.Summary("in all"))
	}
}

// keep gives blob i, whole and checked, its name in the mode.cache
// directory (through the directory held open), if it has one there.
func (s *lazyServer) keep(i int) error {
	if s.finals[i] == "" {
		return nil
	}
	fd := int(s.cache.Fd())
	if err := unix.Renameat(fd, filepath.Base(s.files[i]), fd, filepath.Base(s.finals[i])); err != nil {
		return fmt.Errorf("mode.cache: naming it %s: %w", filepath.Base(s.finals[i]), err)
	}
	return nil
}

// writeStatus writes lazy.json in /run/mode (through the directory held
// open: after switch_root /run is elsewhere in this process's view).
func (s *lazyServer) writeStatus() layers.LazyStatus {
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
	fd, err := unix.Openat(int(s.dir.Fd()), ".lazy.json.tmp", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return st
	}
	f := os.NewFile(uintptr(fd), "lazy.json")
	_, err = f.Write(append(data, '\n'))
	f.Close()
	if err == nil {
		unix.Renameat(int(s.dir.Fd()), ".lazy.json.tmp", int(s.dir.Fd()), "lazy.json")
	}
	return st
}

// uptimeNow reads the kernel's uptime through the file opened before
// switch_root.
func (s *lazyServer) uptimeNow() string {
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
