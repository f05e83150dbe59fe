package modeinit

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
)

// stormServer is a registry process of the boot storm: `mode serve` or the
// CNCF distribution registry, measured through /proc.
type stormServer struct {
	name string
	addr string // host:port
	pid  int
}

// startModeServe runs bin/mode serve (built by make build) on the store dir
// as a child process, taking reports with token; stopped (SIGINT, then
// SIGKILL after 15 s) at the end of the benchmark.
func startModeServe(b *testing.B, dir, token string) *stormServer {
	b.Helper()
	addr, pid := registrytest.ModeServe(b, "../..", dir, "--push-token", token)
	return &stormServer{name: "mode", addr: addr, pid: pid}
}

// childPIDs are the PIDs of this process's children named comm.
func childPIDs(b *testing.B, comm string) map[int]bool {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		b.Fatal(err)
	}
	pids := map[int]bool{}
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(raw)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || s[open+1:closing] != comm {
			continue
		}
		f := strings.Fields(s[closing+2:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == os.Getpid() {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			pids[pid] = true
		}
	}
	return pids
}

// newChild is the one child named comm that is not in before.
func newChild(b *testing.B, comm string, before map[int]bool) int {
	b.Helper()
	var found []int
	for pid := range childPIDs(b, comm) {
		if !before[pid] {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		b.Fatalf("want one new child process %s, found %v", comm, found)
	}
	return found[0]
}

// peakRSS is the process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// fdSampler counts a process's open files every 20 ms and keeps the most.
type fdSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  int
}

func sampleFDs(pid int) *fdSampler {
	s := &fdSampler{stop: make(chan struct{})}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if fds, err := os.ReadDir(dir); err == nil && len(fds) > s.max {
				s.max = len(fds)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// done stops sampling and returns the most open files seen.
func (s *fdSampler) done() int {
	close(s.stop)
	s.wg.Wait()
	return s.max
}

// metric sums the values of a Prometheus counter of mode serve's /metrics
// whose series start with prefix (a name, with labels or not).
func metric(b *testing.B, addr, prefix string) float64 {
	b.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			b.Fatalf("/metrics line %q: %v", l, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return sum
}
