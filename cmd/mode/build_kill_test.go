package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/squashfs"
)

// killRounds is how many builds TestBuildKilled kills.
const killRounds = 12

// TestBuildKilled is issue 12's fault injection: builds of examples/tiny
// killed with SIGKILL or SIGINT at random points, some while a workspace is
// mounted and some while mksquashfs writes, then a normal build. After it:
// no mount, no loop device, no process of those builds, no file but the
// layers and their metadata, no temporary file in the store, and every
// layer verifies.
func TestBuildKilled(t *testing.T) {
	testutil.RequiresRoot(t)
	base := t.TempDir()
	out, scratch, storeDir := filepath.Join(base, "out"), filepath.Join(base, "scratch"), filepath.Join(base, "store")
	for _, d := range []string{out, scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := func(extra ...string) *exec.Cmd {
		args := append([]string{"build", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch, "--store", storeDir}, extra...)
		return modeCmd(args...)
	}
	// A whole build first: how long one takes bounds the random kill times.
	start := time.Now()
	if msg, err := build("--force").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	whole := time.Since(start)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	for round := range killRounds {
		sig, how := syscall.SIGKILL, "at random"
		if round%3 == 2 {
			sig = syscall.SIGINT
		}
		cmd := build("--force")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// until waits for cond while the build runs; false: it ended first.
		until := func(cond func() bool) bool {
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
				select {
				case <-exited:
					return false
				default:
				}
				if cond() {
					return true
				}
			}
			return false
		}
		reached := true
		switch round % 4 {
		case 0: // once a workspace is mounted
			how = "with a workspace mounted"
			reached = until(func() bool { m, _ := filepath.Glob(filepath.Join(scratch, "ws-*", "root")); return len(m) > 0 })
		case 1: // while mksquashfs writes into out
			how = "while mksquashfs runs"
			reached = until(func() bool { return len(processesWith(out, "mksquashfs")) > 0 })
		default:
			time.Sleep(time.Duration(rng.Int64N(int64(whole))))
		}
		if !reached {
			how += " (not reached: the build ended first)"
		}
		cmd.Process.Signal(sig)
		<-exited
		t.Logf("round %d: %v %s: %s", round, sig, how, lastLine(logs.String()))
		// Everything of that build goes away by itself: nothing to reap.
		waitFor(t, 60*time.Second, func() bool { return len(processesWith(base, "")) == 0 })
	}
	waitFor(t, 60*time.Second, func() bool { return len(testutil.LoopsOf(t, base)) == 0 })
	testutil.NoLeaks(t, base)

	if msg, err := build().CombinedOutput(); err != nil {
		t.Fatalf("build after the kills: %v\n%s", err, msg)
	}
	testutil.NoLeaks(t, base)
	if p := processesWith(base, ""); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	if left, _ := os.ReadDir(scratch); len(left) > 0 {
		t.Errorf("scratch left: %v", names(left))
	}
	if left, _ := os.ReadDir(filepath.Join(storeDir, ".tmp")); len(left) > 0 {
		t.Errorf("store temporary files left: %v", names(left))
	}
	entries, _ := os.ReadDir(out)
	layersSeen := 0
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasSuffix(n, ".sqfs"):
			layersSeen++
			verifyLayer(t, filepath.Join(out, n))
		case strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, "."):
		default:
			t.Errorf("stray file in out: %s", n)
		}
	}
	if layersSeen != 4 {
		t.Errorf("%d layers in out, want examples/tiny's 4: %v", layersSeen, names(entries))
	}
}

// verifyLayer checks a layer against its metadata and reads it whole.
func verifyLayer(t *testing.T, sqfs string) {
	t.Helper()
	data, err := os.ReadFile(strings.TrimSuffix(sqfs, ".sqfs") + ".json")
	if err != nil {
		t.Errorf("%s: no metadata: %v", sqfs, err)
		return
	}
	var m layers.Meta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("%s: %v", sqfs, err)
		return
	}
	if d, n, err := layers.FileDigest(sqfs); err != nil || d != m.Digest || n != m.Size {
		t.Errorf("%s: digest %s (%d bytes), metadata says %s (%d): %v", sqfs, d, n, m.Digest, m.Size, err)
	}
	if _, err := squashfs.Inspect(sqfs); err != nil {
		t.Errorf("%s: %v", sqfs, err)
	}
}

// processesWith lists the processes (pid and command line) whose command
// line or environment mentions s (and whose command line holds name, when
// given): the builds of a test, their tools and their steps' chroots.
func processesWith(s, name string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); bytes.Contains(stat, []byte(") Z ")) {
			continue // a zombie its parent reaps
		}
		if !bytes.Contains(cmdline, []byte(s)) && !bytes.Contains(environ, []byte(s)) {
			continue
		}
		if name != "" && !bytes.Contains(cmdline, []byte(name)) {
			continue
		}
		out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return out
}

// waitFor polls cond until it holds; it fails t after timeout (a generous
// outer bound: the signal is cond, not the time).
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v", timeout)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func names(es []os.DirEntry) []string {
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}
