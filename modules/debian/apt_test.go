package debian

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeRun records the apt-get subcommands run and fails the calls whose
// joined argv contains a key of fail, as many times as its value says.
type fakeRun struct {
	calls []string
	fail  map[string]int
}

func (f *fakeRun) run(_ context.Context, argv ...string) error {
	var words []string
	for i := 1; i < len(argv); i++ {
		if argv[i] == "-o" {
			i++
			continue
		}
		words = append(words, argv[i])
	}
	call := strings.Join(words, " ")
	f.calls = append(f.calls, call)
	for k, n := range f.fail {
		if strings.Contains(call, k) && n > 0 {
			f.fail[k] = n - 1
			if strings.Contains(call, "nosuch") && !strings.Contains(call, "update") {
				return errors.New("exit status 100: Unable to locate package nosuch")
			}
			return errors.New("exit status 100: Failed to fetch http://m.example.org/debian/x.deb  Could not connect")
		}
	}
	return nil
}

func testRoot(t *testing.T) string {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/apt"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte("deb http://mirror.example.org/debian bookworm main\n"), 0o644)
	return root
}

func TestAptRun(t *testing.T) {
	cache := t.TempDir()
	a := &Apt{Cache: cache, Retry: Retry{Attempts: 3, Backoff: time.Millisecond}}
	root := testRoot(t)
	f := &fakeRun{fail: map[string]int{"install": 1, "update": 1}}
	ctx := context.Background()
	if err := a.Run(ctx, root, []string{"e2fsprogs"}, []string{"less", "openssh-server"}, f.run); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx, root, nil, []string{"htop"}, f.run); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx, root, nil, nil, f.run); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"-q update", "-q update", // one retry, then no update again in this run
		// a transient failure of the download, retried
		"-q -y install --no-install-recommends --download-only -- less openssh-server",
		"-q -y install --no-install-recommends --download-only -- less openssh-server",
		// the removal on its own: in the install's run (PKG-) the layer
		// differs (bench.md)
		"-q -y purge -- e2fsprogs",
		"-q -y install --no-install-recommends --no-download -- less openssh-server",
		"-q -y install --no-install-recommends --download-only -- htop",
		"-q -y install --no-install-recommends --no-download -- htop",
	}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("apt-get calls (-want +got):\n%s", diff)
	}
	key, _ := SourcesKey(root)
	for _, d := range []string{"archives/partial", "lists/" + key + "/partial"} {
		if fi, err := os.Stat(filepath.Join(cache, d)); err != nil || !fi.IsDir() {
			t.Errorf("cache lacks %s: %v", d, err)
		}
	}
}

func TestAptRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     map[string]int
		packages string
		calls    int
		want     string
	}{
		{"unknown package: no retry", map[string]int{"install": 9}, "nosuch", 2, "packages nosuch: exit status 100: Unable to locate package nosuch"},
		{"fetch keeps failing: bounded", map[string]int{"install": 9}, "flaky", 4, "packages flaky: exit status 100: Failed to fetch http://m.example.org/debian/x.deb  Could not connect"},
		{"update keeps failing", map[string]int{"update": 9}, "flaky", 3, "apt-get update: exit status 100: Failed to fetch http://m.example.org/debian/x.deb  Could not connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Apt{Cache: t.TempDir(), Retry: Retry{Attempts: 3, Backoff: time.Millisecond}}
			f := &fakeRun{fail: tc.fail}
			err := a.Run(context.Background(), testRoot(t), nil, []string{tc.packages}, f.run)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if len(f.calls) != tc.calls {
				t.Errorf("%d calls, want %d: %q", len(f.calls), tc.calls, f.calls)
			}
		})
	}
}

func TestAptOptions(t *testing.T) {
	argv := strings.Join(AptGet("k", "update"), " ")
	for _, want := range []string{
		"Dir::Cache::Archives=" + ChrootCache + "/archives/",
		"Dir::State::Lists=" + ChrootCache + "/lists/k/",
		"Keep-Downloaded-Packages=true",
		"Dir::Log::Terminal=/dev/null",
		"--log=/dev/null",
	} {
		if !strings.Contains(argv, want) {
			t.Errorf("apt-get argv lacks %q: %s", want, argv)
		}
	}
	if !strings.HasSuffix(argv, " update") || !strings.HasPrefix(argv, "apt-get -q ") {
		t.Errorf("argv %s", argv)
	}
}

func TestSourcesKey(t *testing.T) {
	a, b := testRoot(t), testRoot(t)
	ka, _ := SourcesKey(a)
	kb, _ := SourcesKey(b)
	if ka != kb || len(ka) != 16 {
		t.Errorf("same sources, keys %q and %q", ka, kb)
	}
	os.MkdirAll(filepath.Join(b, "etc/apt/sources.list.d"), 0o755)
	os.WriteFile(filepath.Join(b, "etc/apt/sources.list.d/x.list"), []byte("deb http://x.example.org/ x main\n"), 0o644)
	if kb, _ = SourcesKey(b); kb == ka {
		t.Errorf("different sources, same key %q", ka)
	}
}

// TestStepEnv passes mode's SOURCE_DATE_EPOCH on to the steps, and only
// when it is set.
func TestStepEnv(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if diff := cmp.Diff(append(append([]string{}, Env...), "SOURCE_DATE_EPOCH=1700000000"), StepEnv()); diff != "" {
		t.Errorf("StepEnv with SOURCE_DATE_EPOCH (-want +got):\n%s", diff)
	}
	os.Unsetenv("SOURCE_DATE_EPOCH")
	if diff := cmp.Diff(Env, StepEnv()); diff != "" {
		t.Errorf("StepEnv without SOURCE_DATE_EPOCH (-want +got):\n%s", diff)
	}
}

// TestAptRunInstallsSideBySide: two sibling modules of one build (one Apt)
// fetch one after the other (the cache lock) but install at once: each install below
// waits until the other has started, which it never would if the cache lock
// were held through dpkg (the outer timeout is generous; the test fails,
// never hangs, when they do not overlap). dpkg runs with apt's own locks
// off and, with UnsafeIO, with --force-unsafe-io; the download keeps both.
func TestAptRunInstallsSideBySide(t *testing.T) {
	cache := t.TempDir()
	var mu sync.Mutex
	both := make(chan struct{})
	installs := 0
	var argvs [][]string
	run := func(ctx context.Context, argv ...string) error {
		mu.Lock()
		argvs = append(argvs, argv)
		mu.Unlock()
		if !slices.Contains(argv, "--no-download") {
			return nil
		}
		mu.Lock()
		if installs++; installs == 2 {
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
			return nil
		case <-time.After(2 * time.Minute):
			return errors.New("the other install never started while this one ran")
		}
	}
	errs := make(chan error, 2)
	a := &Apt{Cache: cache, Retry: Retry{Attempts: 1}, UnsafeIO: true}
	for _, pkg := range []string{"less", "htop"} {
		go func() {
			errs <- a.Run(context.Background(), testRoot(t), nil, []string{pkg}, run)
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, argv := range argvs {
		joined := strings.Join(argv, " ")
		install := slices.Contains(argv, "--no-download")
		if got := strings.Contains(joined, "Debug::NoLocking=true"); got != install {
			t.Errorf("Debug::NoLocking %v in %s", got, joined)
		}
		if got := strings.Contains(joined, "--force-unsafe-io"); got != install {
			t.Errorf("--force-unsafe-io %v in %s", got, joined)
		}
	}
}

// TestLockLists: shared holds coexist; an exclusive one waits for them.
func TestLockLists(t *testing.T) {
	cache := t.TempDir()
	ctx := context.Background()
	u1, err := LockLists(ctx, cache, false)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := LockLists(ctx, cache, false)
	if err != nil {
		t.Fatalf("a second shared hold: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := LockLists(short, cache, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("exclusive while shared holds: %v, want it to wait until the deadline", err)
	}
	u1()
	u2()
	u3, err := LockLists(ctx, cache, true)
	if err != nil {
		t.Fatalf("exclusive after release: %v", err)
	}
	u3()
}
