package modeinit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
)

// The boot storm's size: machines booting at once, the random bytes of the
// chain's top layer (the chain is base, mid, top: about 1 MiB), and how long
// one storm may take before the benchmark fails.
const (
	stormMachines = 1000
	stormRandom   = 1 << 20
	stormBound    = 150 * time.Second
	stormToken    = "storm-push-token"
	// Each machine's report may take this long (mode.report.timeout; 3 s by
	// default). Here the 1,000 machines share the test's process and 2 CPUs
	// with the server: a machine's report waits its turn behind the others'
	// hashing, which no real machine does (storm's report-p99 shows it).
	stormReportTimeout = 30 * time.Second
)

// BenchmarkStorm is a boot storm (issue 20): stormMachines simulated
// machines boot together from one `mode serve` (bin/mode, a child process,
// on 127.0.0.1), each running the init's own code: the fetch step (pull:
// mode.ref parsed from a kernel command line, the chain pulled with its
// digests verified, into a directory of its own instead of /run/mode/layers)
// then the boot report (sendReport, with its machine token: a MAC of its
// own). Every machine must boot and the server must have stored every
// report. It reports p50/p99 of the time to a pulled and verified chain, the
// wall time, the bytes served, and the server's peak RSS and most open
// files; then the same storm from the CNCF distribution registry (the same
// blobs; ratios mode/distribution). BenchmarkStormCache runs it through a
// pull-through cache.
func BenchmarkStorm(b *testing.B) {
	src, modeSrv, ref := stormOrigin(b)
	before := childPIDs(b, "registry")
	dist := &stormServer{name: "distribution", addr: registrytest.Distribution(b)}
	dist.pid = newChild(b, "registry", before)
	if _, err := remote.Push(context.Background(), registrytest.Source(b, src, "top"), dist.addr+"/bench/chain"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m := storm(b, modeSrv, modeSrv, "mode.ref="+ref)
		d := storm(b, dist, nil, "mode.ref="+dist.addr+"/bench/chain:top")
		b.ReportMetric(float64(d.failed), "distribution-failed")
		b.ReportMetric(m.p(50).Seconds(), "mode-p50-s")
		b.ReportMetric(m.p(99).Seconds(), "mode-p99-s")
		b.ReportMetric(m.wall.Seconds(), "mode-wall-s")
		b.ReportMetric(float64(m.served)/1e6, "mode-served-MB")
		b.ReportMetric(float64(m.rss)/(1<<20), "mode-peak-rss-MiB")
		b.ReportMetric(float64(m.fds), "mode-peak-fds")
		b.ReportMetric(m.reportP99.Seconds(), "mode-report-p99-s")
		b.ReportMetric(d.p(50).Seconds(), "distribution-p50-s")
		b.ReportMetric(d.p(99).Seconds(), "distribution-p99-s")
		b.ReportMetric(d.wall.Seconds(), "distribution-wall-s")
		b.ReportMetric(float64(d.rss)/(1<<20), "distribution-peak-rss-MiB")
		b.ReportMetric(float64(d.fds), "distribution-peak-fds")
		b.ReportMetric(m.p(50).Seconds()/d.p(50).Seconds(), "p50-ratio")
		b.ReportMetric(m.p(99).Seconds()/d.p(99).Seconds(), "p99-ratio")
		b.ReportMetric(m.wall.Seconds()/d.wall.Seconds(), "wall-ratio")
	}
}

// BenchmarkStormCache is BenchmarkStorm's storm through the CNCF
// distribution registry as a pull-through cache in front of mode serve
// (mode.mirrors=the cache; the reports go to mode serve): a fresh cache,
// filled by one machine, then the storm. Machines may fall back to mode
// serve (failover): it counts them, and what mode serve served. (A storm on
// the cold cache took as long again and showed that the cache passes every
// concurrent miss through: docs/bench.md.)
func BenchmarkStormCache(b *testing.B) {
	_, modeSrv, ref := stormOrigin(b)
	for b.Loop() {
		before := childPIDs(b, "registry")
		cache := &stormServer{name: "cache"}
		// With --push-token, mode serve's /v2/ challenges clients without
		// credentials (docker and skopeo push only when challenged), and
		// distribution then refuses to proxy: it needs a login, any login
		// (reads need no token). Found by this benchmark: every machine
		// fell back to the origin.
		var kill func()
		cache.addr, kill = registrytest.DistributionProxyLogin(b, modeSrv.addr, "cache", "not-the-push-token")
		cache.pid = newChild(b, "registry", before)
		if _, _, err := remote.Pull(context.Background(), cache.addr+"/"+registrytest.Repo+":top", b.TempDir(), remote.WithInsecure(true)); err != nil {
			b.Fatalf("filling the cache: %v", err)
		}
		// mode.fetch.timeout=20s: a transfer the cache stalls for 20 s goes
		// on from mode serve (60 s made a storm through a stalling cache
		// last minutes).
		c := storm(b, cache, modeSrv, "mode.ref="+ref+" mode.mirrors="+cache.addr+" mode.debug mode.fetch.timeout=20s")
		kill()
		b.ReportMetric(c.p(50).Seconds(), "p50-s")
		b.ReportMetric(c.p(99).Seconds(), "p99-s")
		b.ReportMetric(c.wall.Seconds(), "wall-s")
		b.ReportMetric(float64(c.served)/1e6, "origin-served-MB")
		b.ReportMetric(float64(c.fallbacks), "fallbacks")
		b.ReportMetric(float64(c.rss)/(1<<20), "cache-peak-rss-MiB")
		b.ReportMetric(float64(c.fds), "cache-peak-fds")
	}
}

// stormOrigin stores the storm's chain and serves it with mode serve: the
// store, the server and the chain's reference.
func stormOrigin(b *testing.B) (*store.Store, *stormServer, string) {
	src, _ := registrytest.Store(b, []string{"base", "mid", "top"}, stormRandom)
	srv := startModeServe(b, src.Dir(), stormToken)
	return src, srv, srv.addr + "/" + registrytest.Repo + ":top"
}

// stormResult is what one storm measured.
type stormResult struct {
	times     []time.Duration // each machine's time to its pulled, verified chain, sorted
	wall      time.Duration   // from the start to the last report sent
	pulled    int64           // layer bytes the machines pulled
	served    int64           // response bytes mode serve counted (origin: the server taking reports)
	rss       int64           // srv's peak RSS
	fds       int             // srv's most open files
	fallbacks int             // machines that went from a mirror to the next registry (with mode.debug)
	failed    int             // machines that did not boot (distribution's storm only: mode's must all boot)
	// the time each machine's sendReport took (with origin: mode serve)
	reportP50, reportP99 time.Duration
}

// p is the q-th percentile of the times.
func (r stormResult) p(q int) time.Duration {
	return r.times[(len(r.times)-1)*q/100]
}

// storm boots stormMachines machines with cmdline at once from srv, and
// checks that every one booted and, when origin (a mode serve) is given,
// that origin stored a report of each.
func storm(b *testing.B, srv, origin *stormServer, cmdline string) stormResult {
	b.Helper()
	// The machines' layers go to tmpfs, as the init's /run/mode/layers do:
	// /dev/shm (else the temporary directory).
	shm := "/dev/shm"
	if _, err := os.Stat(shm); err != nil {
		shm = ""
	}
	root, err := os.MkdirTemp(shm, "storm-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	var reports0, served0 float64
	if origin != nil {
		reports0 = metric(b, origin.addr, `mode_reports_total{kind="boot",result="ok"}`)
		served0 = metric(b, origin.addr, "mode_http_response_bytes_total")
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var res stormResult
	var failed, unsent []string
	var sent []time.Duration
	facts := report.Gather("/") // once: each real machine gathers its own on its own CPU
	for i := range stormMachines {
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff)
		p, err := parseParams("mode.insecure mode.fetch.timeout=60s mode.report.timeout=" + stormReportTimeout.String() + " " + cmdline + " mode.report=" + report.MachineToken(stormToken, mac))
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		m := &boot{out: &out, start: time.Now(), p: p, pullDir: filepath.Join(root, mac),
			machine: &report.Machine{MAC: mac, Hostname: fmt.Sprintf("storm-%d", i)}, facts: facts}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t := time.Now()
			fetch := m.pull
			if m.p.lazy { // BenchmarkStormLazy
				fetch = m.stormLazyFetch
			}
			_, err := m.do(step{name: "fetch", run: fetch})
			d := time.Since(t)
			t = time.Now()
			m.sendReport("", err)
			s := time.Since(t)
			os.RemoveAll(m.pullDir)
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, s)
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v\n%s", mac, err, out.String()))
				return
			}
			if bytes.Contains(out.Bytes(), []byte("boot report not sent")) {
				unsent = append(unsent, mac+": "+out.String())
			}
			if bytes.Contains(out.Bytes(), []byte("trying the next registry")) {
				if res.fallbacks == 0 {
					b.Logf("%s: the first machine that fell back from the mirror:\n%s", srv.name, out.String())
				}
				res.fallbacks++
			}
			res.times = append(res.times, d)
			res.pulled += m.dl.pulled
		}()
	}
	fds := sampleFDs(srv.pid)
	t := time.Now()
	close(start)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(stormBound):
		fds.done()
		b.Fatalf("%s: the storm of %d machines took more than %s", srv.name, stormMachines, stormBound)
	}
	res.wall = time.Since(t)
	res.fds = fds.done()
	res.failed = len(failed)
	if len(failed) > 0 && origin == nil { // the reference: counted, and the first failure logged
		b.Logf("%s: %d of %d machines failed to boot; the first:\n%s", srv.name, len(failed), stormMachines, failed[0])
	} else if len(failed) > 0 {
		b.Fatalf("%s: %d of %d machines failed to boot; the first:\n%s", srv.name, len(failed), stormMachines, failed[0])
	}
	if len(res.times) == 0 {
		b.Fatalf("%s: no machine booted", srv.name)
	}
	slices.Sort(res.times)
	slices.Sort(sent)
	res.reportP50, res.reportP99 = sent[len(sent)/2], sent[(len(sent)-1)*99/100]
	if res.rss, err = peakRSS(srv.pid); err != nil {
		b.Fatal(err)
	}
	if origin != nil {
		got := metric(b, origin.addr, `mode_reports_total{kind="boot",result="ok"}`) - reports0
		res.served = int64(metric(b, origin.addr, "mode_http_response_bytes_total") - served0)
		if int(got) != stormMachines {
			first := ""
			if len(unsent) > 0 {
				first = "; the first machine whose report was not sent:\n" + unsent[0]
			}
			b.Fatalf("%s: mode serve stored %d boot reports of %d machines (%d said theirs were not sent)%s", srv.name, int(got), stormMachines, len(unsent), first)
		}
	}
	b.Logf("%s: %d machines (%d failed) in %s, p50 %s, p99 %s, max %s; %.0f MB pulled, %.0f MB served by mode serve; peak RSS %d MiB, %d open files; sending the report: p50 %s, p99 %s; %d fell back from the mirror",
		srv.name, stormMachines, res.failed, res.wall.Round(time.Millisecond), res.p(50).Round(time.Millisecond), res.p(99).Round(time.Millisecond),
		res.times[len(res.times)-1].Round(time.Millisecond), float64(res.pulled)/1e6, float64(res.served)/1e6, res.rss>>20, res.fds, res.reportP50.Round(time.Millisecond), res.reportP99.Round(time.Millisecond), res.fallbacks)
	return res
}
