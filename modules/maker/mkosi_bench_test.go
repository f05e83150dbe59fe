package maker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/debian"
)

// BenchmarkMkosi measures a cold `mode build` of examples/debian up to
// console against mkosi 14 (Debian's package) installing the same packages
// (essential's and console's) on a Debian bookworm minbase, once as a plain
// directory and once as a zstd squashfs; and mode's incremental build (one
// package added to console) against it. Each round runs, alternating: mkosi
// directory, mode pipelined (the default --jobs), mkosi squashfs, mode one
// module after the other (Jobs 0), mode incremental. The package caches are
// warm (a first round not counted): mode's shared apt cache, and mkosi's
// package cache in mkosiCache. mode squashes at its default compression
// (zstd:9), mkosi at mksquashfs's default zstd level (15). The mirror is the host's (its apt sources). It
// reports medians of the rounds (s) and of their ratios:
//
//	cold/mkosi-dir     mode cold / mkosi directory (goal ≤ 1.0)
//	cold/mkosi-sqfs    mode cold / mkosi squashfs (goal ≤ 0.8)
//	seq/mkosi-sqfs     mode without pipelining / mkosi squashfs
//	piped/seq          mode cold pipelined / without pipelining
//	incr/mkosi-dir     mode incremental / mkosi directory (mkosi rebuilds all for a package more)
//
// Needs root, mkosi and the Debian archive.
func BenchmarkMkosi(b *testing.B) {
	testutil.RequiresRoot(b)
	if _, err := exec.LookPath("mkosi"); err != nil {
		b.Fatalf("mkosi not found (make bench installs Debian's mkosi package): %v", err)
	}
	ctx := context.Background()
	h, err := modules.Load(filepath.Join("..", "..", "examples", "debian"))
	if err != nil {
		b.Fatal(err)
	}
	pkgs := slices.Concat(h.Modules["essential"].Packages, h.Modules["console"].Packages)
	mirror := hostMirror(b)
	dirConf := mkosiConf(b, "directory", mirror, pkgs)
	sqfsConf := mkosiConf(b, "plain_squashfs\nCompressFs=zstd", mirror, pkgs)

	// console with one package more, in a copy of the hierarchy.
	edited := editedConsole(b, "packages: [openssh-server,", "packages: [tree, openssh-server,")
	he, err := modules.Load(edited)
	if err != nil {
		b.Fatal(err)
	}
	if !slices.Contains(he.Modules["console"].Packages, "tree") {
		b.Fatal("the edited console does not add tree")
	}

	var log bytes.Buffer
	build := func(h *modules.Hierarchy, out string, jobs int) ([]modules.Result, float64) {
		log.Reset()
		bl := &modules.Builder{Hierarchy: h, Out: out, Jobs: jobs, Maker: &Maker{Scratch: b.TempDir(), Stdout: &log, Stderr: &log}}
		start := time.Now()
		rs, err := bl.Build(ctx, "console")
		if err != nil {
			b.Fatalf("build: %v\n%s", err, tail(log.String(), 30))
		}
		return rs, time.Since(start).Seconds()
	}
	mkosi := func(conf string) float64 {
		cmd := exec.CommandContext(ctx, "mkosi", "-f", "--nspawn-keep-unit", "build")
		cmd.Dir = conf
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("mkosi in %s: %v\n%s", conf, err, tail(out.String(), 30))
		}
		d := time.Since(start).Seconds()
		os.RemoveAll(filepath.Join(conf, "image"))
		return d
	}
	rounds := benchRounds(b, 3) // $MODE_BENCH_ROUNDS
	var mdir, msq, cold, seq, incr []float64
	var r1, r2, r3, r4, r5 []float64
	for i := 0; i < b.N*rounds+1; i++ {
		md := mkosi(dirConf)
		out := b.TempDir()
		rs, c := build(h, out, defaultJobs)
		ms := mkosi(sqfsConf)
		_, s := build(h, b.TempDir(), 0)
		ers, inc := build(he, out, defaultJobs)
		for _, r := range ers {
			if r.Module.Name != "console" && !r.Cached {
				b.Errorf("adding a package to console rebuilt %s", r.Module.Name)
			}
		}
		var size int64
		for _, r := range rs {
			size += r.Meta.Size
		}
		fmt.Printf("mkosi bench round %d%s: mkosi dir %.1fs, mode cold %.1fs (%.2f), mkosi sqfs %.1fs (mode %.2f), mode seq %.1fs (%.2f of sqfs, piped/seq %.2f), mode incremental %.1fs (%.2f of mkosi dir); layers %d B\n",
			i, map[bool]string{true: " (warm-up, not counted)"}[i == 0], md, c, c/md, ms, c/ms, s, s/ms, c/s, inc, inc/md, size)
		if i == 0 {
			continue
		}
		mdir, msq, cold, seq, incr = append(mdir, md), append(msq, ms), append(cold, c), append(seq, s), append(incr, inc)
		r1, r2, r3, r4, r5 = append(r1, c/md), append(r2, c/ms), append(r3, s/ms), append(r4, c/s), append(r5, inc/md)
	}
	for _, m := range []struct {
		v    []float64
		unit string
	}{{mdir, "mkosi-dir-s"}, {msq, "mkosi-sqfs-s"}, {cold, "cold-s"}, {seq, "cold-seq-s"}, {incr, "incr-s"},
		{r1, "cold/mkosi-dir"}, {r2, "cold/mkosi-sqfs"}, {r3, "seq/mkosi-sqfs"}, {r4, "piped/seq"}, {r5, "incr/mkosi-dir"}} {
		b.ReportMetric(medianOf(m.v), m.unit)
	}
}

// defaultJobs is what `mode build` uses by default (cmd/mode
// defaultBuildJobs): one per core, at most 4.
var defaultJobs = max(1, min(runtime.NumCPU(), 4))

// mkosiCache is mkosi's package cache for the bench, kept between runs
// like mode's apt cache.
const mkosiCache = "/var/cache/mode/mkosi"

// mkosiConf writes an mkosi 14 configuration for a Debian bookworm image of
// format with pkgs from mirror into a new directory and returns it.
func mkosiConf(b *testing.B, format, mirror string, pkgs []string) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.MkdirAll(mkosiCache, 0o755); err != nil {
		b.Fatal(err)
	}
	conf := fmt.Sprintf("[Distribution]\nDistribution=debian\nRelease=bookworm\nMirror=%s\n\n[Output]\nFormat=%s\nOutput=image\n\n"+
		"[Content]\nPackages=%s\nCache=%s\n", mirror, format, strings.Join(pkgs, ","), mkosiCache)
	if err := os.WriteFile(filepath.Join(dir, "mkosi.conf"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// hostBookworm returns the host's apt sources for bookworm (no mirror name
// is ever written in the repository).
func hostBookworm(b *testing.B) []debian.Source {
	b.Helper()
	host, err := debian.ReadSources(debian.HostApt)
	if err != nil {
		b.Fatal(err)
	}
	sources, err := debian.ForSuite(host, debian.HostCodename(), "bookworm", nil)
	if err != nil {
		b.Fatal(err)
	}
	return sources
}

// hostMirror returns the URI of the host's apt source for bookworm.
func hostMirror(b *testing.B) string {
	b.Helper()
	sources := hostBookworm(b)
	for _, s := range sources {
		if slices.Contains(s.Suites, "bookworm") && len(s.URIs) > 0 {
			return s.URIs[0]
		}
	}
	b.Fatalf("no apt source for bookworm on the host: %+v", sources)
	return ""
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
