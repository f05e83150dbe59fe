package fleet_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
	"golang.org/x/sys/unix"
)

// benchCalls is how many boot.ipxe answers and reports each size times
// (make bench runs a benchmark once: the loop is inside).
const benchCalls = 3000

// siteFile writes a site file of n rules: a default rule, and n-1 rules of
// the kinds a site has, most by MAC (one per machine), some by UUID and
// serial, a few by host name and facts.
func siteFile(b *testing.B, n int) string {
	var sb strings.Builder
	sb.WriteString("rules:\n  - {name: default, chain: tiny:console}\n")
	for i := 1; i < n; i++ {
		switch {
		case i%100 == 1:
			fmt.Fprintf(&sb, "  - {name: r%d, match: {uuid: \"%08x-0000-4000-8000-000000000000\"}, chain: tiny:extra}\n", i, i)
		case i%100 == 2:
			fmt.Fprintf(&sb, "  - {name: r%d, match: {serial: \"SN%d\"}, chain: tiny:extra}\n", i, i)
		case i == 3:
			fmt.Fprintf(&sb, "  - {name: r%d, match: {hostname: \"web-*\"}, chain: tiny:extra}\n", i)
		case i == 4:
			fmt.Fprintf(&sb, "  - {name: r%d, match: {facts: {memory: \">= 64GiB\"}}, chain: tiny:extra}\n", i)
		default:
			fmt.Fprintf(&sb, "  - {name: r%d, match: {mac: \"%s\"}, chain: tiny:extra, hostname: \"node-{mac}\"}\n", i, benchMAC(i))
		}
	}
	f := filepath.Join(b.TempDir(), "site.yaml")
	if err := os.WriteFile(f, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return f
}

func benchMAC(i int) string {
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", i>>24&0xff, i>>16&0xff, i>>8&0xff, i&0xff)
}

// benchFleet is a fleet of rules rules that knows machines machines (each
// asked for boot.ipxe and reported once, with facts), with its state file,
// as mode serve keeps it; load is how long reading the site file took.
func benchFleet(b *testing.B, rules, machines int) (fl *fleet.Fleet, load time.Duration) {
	file := siteFile(b, rules)
	t := time.Now()
	fl, err := fleet.New(fleet.WithSiteFile(file, nil), fleet.WithState(filepath.Join(b.TempDir(), "fleet.json")))
	if err != nil {
		b.Fatal(err)
	}
	load = time.Since(t)
	for i := range machines {
		mac := benchMAC(rules - 1 - i%(rules-1)) // the machines of the last MAC rules: the far end
		if _, err := fl.BootIPXE(fleet.Machine{MAC: mac}); err != nil {
			b.Fatal(err)
		}
		fl.Reported(benchReport(mac))
	}
	b.Cleanup(fl.Flush)
	return fl, load
}

var benchFacts = &report.Facts{Vendor: "QEMU", Product: "Standard PC", CPUs: 4, MemoryBytes: 8 << 30,
	Disks: []report.Disk{{Name: "vda", SizeBytes: 100e9, Model: "disk", Serial: "d1"}}, NICs: []report.NIC{{MAC: "52:54:00:00:00:01", Driver: "virtio_net", Link: true}}}

func benchReport(mac string) *report.Report {
	return &report.Report{ID: 1, Kind: report.KindBoot, Machine: report.Machine{MAC: mac}, Ref: "10.0.2.2:5000/tiny:extra", OK: true,
		Received: time.Now(), Facts: benchFacts}
}

// perCall times f over benchCalls calls of the given MACs in turn: the
// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID, the goroutine
// locked to it), which the load of a shared machine does not inflate as it
// does wall time.
func perCall(macs []string, f func(mac string)) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := func() time.Duration {
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
		return time.Duration(ts.Nano())
	}
	t := cpu()
	for i := range benchCalls {
		f(macs[i%len(macs)])
	}
	return (cpu() - t) / benchCalls
}

// BenchmarkFleet times boot.ipxe's decision (Fleet.BootIPXE: the machine's
// record, its pending action, its rule, the state kept) and report ingest
// (Fleet.Reported; medians of 5 rounds of benchCalls) for a site of 10 rules knowing 10 machines and one of
// 10,000 rules knowing 1,000 machines, and reports large/small ratios
// (issue 19: they should not grow with the fleet). The machines asked are
// known ones whose MAC rules come last in the file, and unknown ones (which
// fall to the default rule after every other rule is tried).
func BenchmarkFleet(b *testing.B) {
	for b.Loop() {
		type size struct{ rules, machines int }
		res := map[size][3]time.Duration{}
		for _, s := range []size{{10, 10}, {10000, 1000}} {
			fl, load := benchFleet(b, s.rules, s.machines)
			var known, unknown []string
			for i := range s.machines {
				known = append(known, benchMAC(s.rules-1-i%(s.rules-1)))
				unknown = append(unknown, fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff))
			}
			boot := func(mac string) {
				if _, err := fl.BootIPXE(fleet.Machine{MAC: mac, UUID: "ffffffff-0000-4000-8000-000000000000", Serial: "none"}); err != nil {
					b.Fatal(err)
				}
			}
			var rounds [3][]time.Duration // the median of 5 rounds, after one not counted
			for round := range 6 {
				for i, d := range []time.Duration{perCall(known, boot), perCall(unknown, boot),
					perCall(known, func(mac string) { fl.Reported(benchReport(mac)) })} {
					if round > 0 {
						rounds[i] = append(rounds[i], d)
					}
				}
			}
			var r [3]time.Duration
			for i := range r {
				slices.Sort(rounds[i])
				r[i] = rounds[i][2]
			}
			res[s] = r
			tag := fmt.Sprintf("rules=%d,machines=%d", s.rules, s.machines)
			b.ReportMetric(float64(r[0].Nanoseconds()), "ns/ipxe-known-"+tag)
			b.ReportMetric(float64(r[1].Nanoseconds()), "ns/ipxe-unknown-"+tag)
			b.ReportMetric(float64(r[2].Nanoseconds()), "ns/report-"+tag)
			b.ReportMetric(load.Seconds(), "s/load-"+tag)
		}
		small, large := res[size{10, 10}], res[size{10000, 1000}]
		for i, what := range []string{"ipxe-known", "ipxe-unknown", "report"} {
			b.ReportMetric(float64(large[i])/float64(small[i]), "ratio-"+what)
		}
	}
}
