package maker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/mount"
)

// The same work as Maker.Make for a non-base module, done the way one would
// by hand: a shell pipeline of mount, chroot, cp and mksquashfs. The
// benchmarks time it beside the Maker; the tests below check it does the same
// work and leaves nothing mounted.

// handScript returns the shell script that makes m's layer at dst from
// parents (base first), working in the empty directory work. Its EXIT trap
// unmounts all it mounted (the loop devices of mount -o loop autoclear), on
// success and on failure.
func handScript(m *modules.Module, parents []string, work, dst string) (string, error) {
	if m.Parent == "" || len(m.Remove) > 0 || len(m.Packages) > 0 {
		return "", fmt.Errorf("%s: by hand, only a non-base module of files and run steps", m.Path)
	}
	q := shellQuote
	var s strings.Builder
	s.WriteString("set -e\n")
	fmt.Fprintf(&s, "W=%s\n", q(work))
	// Unmount in reverse order of mounting; a target that is not mounted is
	// skipped. The trap keeps the script's exit status.
	var mounted []string
	s.WriteString("cleanup() {\n\trc=$?\n\tset +e\n")
	var lowers []string // top first
	for i := range parents {
		lowers = append([]string{"$W/l/" + strconv.Itoa(i)}, lowers...)
		mounted = append(mounted, "$W/l/"+strconv.Itoa(i))
	}
	mounted = append(mounted, "$W/merged", "$W/merged/proc", "$W/merged/dev")
	for i := len(mounted) - 1; i >= 0; i-- {
		fmt.Fprintf(&s, "\tmountpoint -q \"%s\" && umount \"%s\"\n", mounted[i], mounted[i])
	}
	s.WriteString("\texit $rc\n}\ntrap cleanup EXIT\n")
	s.WriteString("mkdir -p \"$W/upper\" \"$W/work\" \"$W/merged\"\n")
	for i, p := range parents {
		fmt.Fprintf(&s, "mkdir -p \"$W/l/%d\" && mount -o loop,ro %s \"$W/l/%d\"\n", i, q(p), i)
	}
	fmt.Fprintf(&s, "mount -t overlay overlay -o \"lowerdir=%s,upperdir=$W/upper,workdir=$W/work\" \"$W/merged\"\n",
		strings.Join(lowers, ":"))
	s.WriteString("if [ -d \"$W/merged/proc\" ]; then mount -t proc proc \"$W/merged/proc\"; fi\n")
	s.WriteString("if [ -d \"$W/merged/dev\" ]; then mount --bind /dev \"$W/merged/dev\"; fi\n")
	for _, f := range m.Files {
		dst := "$W/merged" + filepath.Clean(f.Dst)
		fmt.Fprintf(&s, "mkdir -p \"%s\" && cp -R %s \"%s\"\n", filepath.Dir(dst), q(filepath.Join(m.Dir, f.Src)), dst)
		if f.Mode != "" {
			fmt.Fprintf(&s, "chmod %s \"%s\"\n", q(f.Mode), dst)
		}
	}
	for _, step := range m.Run {
		fmt.Fprintf(&s, "chroot \"$W/merged\" /bin/sh -ec %s\n", q(step))
	}
	s.WriteString("umount \"$W/merged/dev\" 2>/dev/null || true\numount \"$W/merged/proc\" 2>/dev/null || true\n")
	s.WriteString("umount \"$W/merged\"\n")
	fmt.Fprintf(&s, "mksquashfs \"$W/upper\" %s -comp zstd -noappend -quiet -no-progress >/dev/null\n", q(dst))
	return s.String(), nil
}

// shellQuote quotes s for sh as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errLeftMounted is a hand script that did not unmount all it mounted.
var errLeftMounted = errors.New("the script left mounts behind")

// makeByHand runs m's hand script in a new directory below scratch and
// removes it after. Whatever the script left mounted below it (it should
// leave nothing) is unmounted and reported as an error.
func makeByHand(ctx context.Context, m *modules.Module, parents []string, scratch, dst string) (err error) {
	work, err := os.MkdirTemp(scratch, "hand-")
	if err != nil {
		return err
	}
	defer func() {
		if left := mountsBelow(work); len(left) > 0 {
			for i := len(left) - 1; i >= 0; i-- {
				mount.Unmount(left[i])
			}
			err = errors.Join(err, fmt.Errorf("by hand %s: %w: %v", m.Name, errLeftMounted, left))
		}
		if rerr := os.RemoveAll(work); rerr != nil && err == nil {
			err = rerr
		}
	}()
	script, err := handScript(m, parents, work, dst)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("by hand %s: %w: %s", m.Name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// mountsBelow lists the mount points at or below dir, in mount order.
func mountsBelow(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var found []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			found = append(found, f[4])
		}
	}
	return found
}

// tinyLayer is one non-base module of examples/tiny with its parents' files
// in an output directory where the whole hierarchy is built.
type tinyLayer struct {
	m       *modules.Module
	parents []string
}

// tinyLayers returns the non-base modules of the hierarchy at dir, in build
// order, with their parents' layer files in out.
func tinyLayers(h *modules.Hierarchy, out string) ([]tinyLayer, error) {
	plan, err := h.Plan()
	if err != nil {
		return nil, err
	}
	var ls []tinyLayer
	for _, m := range plan {
		if m.Parent == "" {
			continue
		}
		chain, err := h.Chain(m.Name)
		if err != nil {
			return nil, err
		}
		l := tinyLayer{m: m}
		for _, a := range chain[:len(chain)-1] {
			l.parents = append(l.parents, filepath.Join(out, h.ChainName(a.Name)+".sqfs"))
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// sqfsPaths lists the paths in the squashfs image file.
func sqfsPaths(t testing.TB, file string) []string {
	t.Helper()
	out, err := exec.Command("unsquashfs", "-lc", "-d", "", file).CombinedOutput()
	if err != nil {
		t.Fatalf("unsquashfs -lc %s: %v: %s", file, err, out)
	}
	var ps []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			ps = append(ps, l)
		}
	}
	slices.Sort(ps)
	return ps
}

// TestByHandDoesTheSameWork checks the by-hand pipeline the benchmarks time
// against: for each non-base layer of examples/tiny it makes a layer holding
// every entry of ours (it lacks only our cleaning: it may hold more), and it
// leaves no mount or loop device behind.
func TestByHandDoesTheSameWork(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	buildTiny(t, tinyDir, out)
	h, err := modules.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := tinyLayers(h, out)
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	for _, l := range ls {
		t.Run(l.m.Name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "hand.sqfs")
			if err := makeByHand(context.Background(), l.m, l.parents, scratch, dst); err != nil {
				t.Fatal(err)
			}
			testutil.NoLeaks(t, scratch)
			ours := filepath.Join(out, h.ChainName(l.m.Name)+".sqfs")
			hand := sqfsPaths(t, dst)
			for _, p := range sqfsPaths(t, ours) {
				if _, found := slices.BinarySearch(hand, p); !found {
					t.Errorf("%s: in our layer, not in the one made by hand", p)
				}
			}
		})
	}
}

// TestByHandCleansUpOnFailure checks that a failing step leaves no mount or
// loop device behind, and that the failure is reported.
func TestByHandCleansUpOnFailure(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	buildTiny(t, tinyDir, out)
	h, err := modules.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := tinyLayers(h, out)
	if err != nil {
		t.Fatal(err)
	}
	l := ls[len(ls)-1] // the longest chain: the most mounts
	m := *l.m
	m.Files = nil
	m.Run = []string{"echo one > /etc/one", "exit 3", "echo never > /etc/never"}
	scratch := t.TempDir()
	dst := filepath.Join(t.TempDir(), "hand.sqfs")
	err = makeByHand(context.Background(), &m, l.parents, scratch, dst)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("makeByHand with a failing step: %v, want exit status 3", err)
	}
	if errors.Is(err, errLeftMounted) {
		t.Errorf("the script's EXIT trap did not unmount all: %v", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("%s written by a failed pipeline", dst)
	}
	testutil.NoLeaks(t, scratch)
	if ents, _ := os.ReadDir(scratch); len(ents) > 0 {
		t.Errorf("scratch holds %d entries after a failed pipeline", len(ents))
	}
}
