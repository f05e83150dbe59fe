package remote_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
)

// BenchmarkServe measures the servers rather than the clients: the chain
// of BenchmarkPull (three layers of 24 MiB) fetched by N concurrent light
// clients, each GETting the manifest, the config and the layers one after
// another and discarding the bytes (checking each reply's length against
// its descriptor), without hashing or writing anything. `mode serve` (as a
// process) and the CNCF distribution registry serve the same blobs; rounds
// alternate. It reports the median MB/s of each and their ratio.
func BenchmarkServe(b *testing.B) {
	srcDir, total, reg := benchChain(b)
	bases := map[string]string{
		"mode":         "http://" + modeServe(b, srcDir) + "/v2/" + registrytest.Repo,
		"distribution": "http://" + reg + "/v2/bench/chain",
	}
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
			defer hc.CloseIdleConnections()
			rates := map[string][]float64{}
			cpu := map[string]time.Duration{}
			var bytes float64
			for b.Loop() {
				for range 5 { // alternate to share the noise
					for _, who := range []string{"mode", "distribution"} {
						before, self := childCPU(b, serverComm[who]), selfCPU(b)
						r, err := getRound(hc, bases[who], clients, total)
						if err != nil {
							b.Fatalf("%s: %v", who, err)
						}
						cpu[who] += childCPU(b, serverComm[who]) - before
						cpu[who+"-client"] += selfCPU(b) - self
						rates[who] = append(rates[who], r)
					}
					bytes += float64(clients) * float64(total)
				}
			}
			reportServers(b, rates, cpu, bytes)
		})
	}
}

// serverComm names each server's process (its /proc comm).
var serverComm = map[string]string{"mode": "mode", "distribution": "registry"}

// reportServers reports the median MB/s of each server, their ratio, and
// the CPU seconds per GB served (bytes by each) of each server and of the
// clients (this process) while they fetched from it.
func reportServers(b *testing.B, rates map[string][]float64, cpu map[string]time.Duration, bytes float64) {
	mode, dist := median(rates["mode"]), median(rates["distribution"])
	b.ReportMetric(mode, "mode-MB/s")
	b.ReportMetric(dist, "distribution-MB/s")
	b.ReportMetric(mode/dist, "ratio")
	b.ReportMetric(cpu["mode"].Seconds()/(bytes/1e9), "mode-cpu-s/GB")
	b.ReportMetric(cpu["distribution"].Seconds()/(bytes/1e9), "distribution-cpu-s/GB")
	b.ReportMetric(cpu["mode-client"].Seconds()/(bytes/1e9), "clients-of-mode-cpu-s/GB")
	b.ReportMetric(cpu["distribution-client"].Seconds()/(bytes/1e9), "clients-of-distribution-cpu-s/GB")
	b.Logf("MB/s (sorted) mode %.0f, distribution %.0f; CPU: mode %v, its clients %v; distribution %v, its clients %v",
		rates["mode"], rates["distribution"], cpu["mode"], cpu["mode-client"], cpu["distribution"], cpu["distribution-client"])
}

// getRound has n light clients fetch the chain at base (…/v2/REPO) at once
// and returns the layer bytes all fetched per second, in MB/s.
func getRound(hc *http.Client, base string, n int, layerBytes int64) (float64, error) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := getChain(hc, base); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) * float64(layerBytes) / secs / 1e6, nil
}

// getChain GETs the manifest tagged top at base, then its config and
// layers, discarding the bytes but checking their number.
func getChain(hc *http.Client, base string) error {
	req, err := http.NewRequest(http.MethodGet, base+"/manifests/top", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", store.ManifestMediaType)
	buf := make([]byte, 1<<20)
	raw, err := get(hc, req, -1, buf)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		req, err := http.NewRequest(http.MethodGet, base+"/blobs/"+string(d.Digest), nil)
		if err != nil {
			return err
		}
		if _, err := get(hc, req, d.Size, buf); err != nil {
			return err
		}
	}
	return nil
}

// get sends req and reads its body: the whole body when want < 0 (the
// manifest), else into buf over and over, checking that it is want bytes.
func get(hc *http.Client, req *http.Request, want int64, buf []byte) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	if want < 0 {
		return io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	}
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", req.URL.Path, err)
		}
	}
	if n != want || resp.ContentLength != want {
		return nil, fmt.Errorf("GET %s: %d bytes (Content-Length %d), want %d", req.URL.Path, n, resp.ContentLength, want)
	}
	return nil, nil
}

// childCPU returns the CPU time (user and system) used so far by this
// process's children named comm ("mode" for `mode serve`, "registry" for
// distribution): what a server spent, as the kernel counts it.
func childCPU(b *testing.B, comm string) time.Duration {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
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
		f := strings.Fields(s[closing+2:]) // from field 3, state
		if len(f) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != os.Getpid() {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		k, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		ticks += u + k
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// selfCPU returns the CPU time (user and system) this process used so far:
// the clients'.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
