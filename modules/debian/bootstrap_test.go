package debian

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mode-build/mode/internal/testutil"
)

var testHost = []Source{
	{Types: []string{"deb"}, URIs: []string{"http://mirror.example.org/debian"}, Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"}},
	{Types: []string{"deb"}, URIs: []string{"http://security.example.org/debian-security"}, Suites: []string{"bookworm-security"}, Components: []string{"main"}},
}

func TestPlan(t *testing.T) {
	hooks := []string{"--skip=essential/unlink",
		`--setup-hook=mkdir -p "$1"/var/cache/apt/archives && mount --bind '/c' "$1"/var/cache/apt/archives`,
		`--customize-hook=umount "$1"/var/cache/apt/archives`,
		`--customize-hook=rm -f "$1"/etc/resolv.conf "$1"/etc/hostname`}
	mm := func(extra ...string) []string {
		return append([]string{"--mode=root", "--format=directory"}, extra...)
	}
	for _, tc := range []struct {
		name    string
		b       Bootstrap
		tool    string
		args    []string
		sources string // first line of the sources file; "" for none
	}{
		{"defaults: mmdebstrap, minbase, host mirror", Bootstrap{Suite: "bookworm"}, "mmdebstrap",
			append(append(mm("--variant=minbase"), hooks...), "bookworm", "/t", "/s/sources.sources"),
			"Types: deb"},
		{"include, architecture", Bootstrap{Suite: "trixie", Include: []string{"ca-certificates", "less"}, Architecture: "arm64"}, "mmdebstrap",
			append(append(mm("--variant=minbase", "--include=ca-certificates,less", "--architectures=arm64"), hooks...), "trixie", "/t", "/s/sources.sources"),
			"Types: deb"},
		{"explicit mirror and components", Bootstrap{Suite: "bookworm", Variant: "apt", Components: []string{"main", "contrib"}, Mirror: "http://m.example.org/debian"}, "mmdebstrap",
			append(append(mm("--variant=apt", "--components=main,contrib"), hooks...), "bookworm", "/t", "http://m.example.org/debian"),
			""},
		{"extract: the shared cache kept through its cleanup", Bootstrap{Suite: "bookworm", Variant: "extract", Include: []string{"busybox"}}, "mmdebstrap",
			append(append(mm("--variant=extract", "--include=busybox", "--skip=essential/unlink", "--skip=cleanup/apt/cache"), hooks[1:]...), "bookworm", "/t", "/s/sources.sources"),
			"Types: deb"},
		{"debootstrap, host mirror", Bootstrap{Tool: "debootstrap", Suite: "bookworm", Include: []string{"less"}}, "debootstrap",
			[]string{"--variant=minbase", "--cache-dir=/c", "--include=less", "--components=main", "bookworm", "/t", "http://mirror.example.org/debian"},
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Plan(tc.b, "/t", "/c", "/s", testHost, "bookworm")
			if err != nil {
				t.Fatal(err)
			}
			if c.Tool != tc.tool {
				t.Errorf("tool %s, want %s", c.Tool, tc.tool)
			}
			if diff := cmp.Diff(tc.args, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			first, _, _ := strings.Cut(string(c.Sources), "\n")
			if first != tc.sources {
				t.Errorf("sources start %q, want %q", first, tc.sources)
			}
			if tc.sources != "" && !strings.Contains(string(c.Sources), "Suites: "+tc.b.Suite+"-security") {
				t.Errorf("sources lack %s-security:\n%s", tc.b.Suite, c.Sources)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Bootstrap
		host []Source
		want string
	}{
		{"no suite", Bootstrap{}, testHost, "bootstrap: no suite"},
		{"unknown tool", Bootstrap{Tool: "cdebootstrap", Suite: "bookworm"}, testHost, `bootstrap: unknown tool "cdebootstrap" (want mmdebstrap or debootstrap)`},
		{"debootstrap variant", Bootstrap{Tool: "debootstrap", Suite: "bookworm", Variant: "apt"}, testHost, `debootstrap has no variant "apt"`},
		{"host without Debian sources", Bootstrap{Suite: "bookworm"}, nil, "bootstrap: no Debian apt source for the host's release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(tc.b, "/t", "/c", "/s", tc.host, "bookworm")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunnerMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := &Runner{Retry: Retry{Attempts: 1}}
	err := r.Run(context.Background(), &Command{Tool: "mmdebstrap", Suite: "bookworm"}, t.TempDir())
	if err == nil || err.Error() != "bootstrap: mmdebstrap not found (install it: apt-get install mmdebstrap)" {
		t.Errorf("error %v", err)
	}
}

// TestRunnerRetries runs a fake tool that fails: transiently (retried, up to
// the bound) or not (once), and checks that the target is emptied each time.
func TestRunnerRetries(t *testing.T) {
	testutil.RequiresRoot(t) // the runner gives the tool a mount namespace of its own
	for _, tc := range []struct {
		name, out string
		runs      int
		want      string
	}{
		{"transient", "E: Failed to fetch http://m.example.org/debian/dists/x/InRelease  Could not connect", 3,
			"bootstrap bookworm with faketool: exit status 1: Failed to fetch"},
		{"permanent", "E: The repository 'http://m.example.org/debian nosuchsuite Release' does not have a Release file.", 1,
			"does not have a Release file."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			count := filepath.Join(t.TempDir(), "count")
			script := "#!/bin/sh\necho x >> " + count + "\nfor last; do :; done\ntouch \"$last\"/junk\necho \"" + tc.out + "\" >&2\nexit 1\n"
			os.WriteFile(filepath.Join(bin, "faketool"), []byte(script), 0o755)
			t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			target := t.TempDir()
			r := &Runner{Retry: Retry{Attempts: 3, Backoff: time.Millisecond}}
			err := r.Run(context.Background(), &Command{Tool: "faketool", Suite: "bookworm", Args: []string{target}}, target)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			data, _ := os.ReadFile(count)
			if n := strings.Count(string(data), "x"); n != tc.runs {
				t.Errorf("ran %d times, want %d", n, tc.runs)
			}
			if entries, _ := os.ReadDir(target); len(entries) != 0 {
				t.Errorf("target not emptied: %v", entries)
			}
		})
	}
}

func TestRetryStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Retry{Attempts: 5, Backoff: time.Hour}.Do(ctx, func() (bool, error) {
		n++
		cancel()
		return true, errors.New("x")
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("Do = %v after %d calls, want context.Canceled after 1", err, n)
	}
}

func TestCause(t *testing.T) {
	for _, tc := range []struct{ name, out, want string }{
		{"E lines", "I: x\nE: one\nW: w\nE: two\n", "one; two"},
		{"last lines", "a\nb\nc\nd\n", "b; c; d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cause(tc.out); got != tc.want {
				t.Errorf("Cause = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTransient(t *testing.T) {
	for out, want := range map[string]bool{
		"E: Failed to fetch http://x/InRelease  Temporary failure resolving 'x'":  true,
		"Err:1 http://x bookworm InRelease\n  Could not connect to x:80":          true,
		"E: Some index files failed to download.":                                 true,
		"E: The repository 'x nosuchsuite Release' does not have a Release file.": false,
		"E: Unable to locate package nosuchpackage":                               false,
	} {
		if got := Transient(out); got != want {
			t.Errorf("Transient(%q) = %v, want %v", out, got, want)
		}
	}
}

// TestRunnerNoSync runs a fake tool that fsyncs /dev/null (EINVAL from the
// kernel, 0 under internal/nosync's filter) and writes its argv into the
// target: with NoSync the flush is a no-op and the tool gets its arguments.
func TestRunnerNoSync(t *testing.T) {
	testutil.RequiresRoot(t) // the runner gives the tool a mount namespace of its own
	bin := t.TempDir()
	script := "#!/bin/sh\nfor last; do :; done\necho \"$@\" > \"$last\"/args\nsync /dev/null\n"
	os.WriteFile(filepath.Join(bin, "faketool"), []byte(script), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	for _, noSync := range []bool{false, true} {
		target := t.TempDir()
		r := &Runner{Retry: Retry{Attempts: 1}, NoSync: noSync}
		err := r.Run(context.Background(), &Command{Tool: "faketool", Suite: "bookworm", Args: []string{"--x=a b", target}}, target)
		if noSync && err != nil {
			t.Fatalf("NoSync: %v", err)
		}
		if !noSync && (err == nil || !strings.Contains(err.Error(), "Invalid argument")) {
			t.Fatalf("without NoSync: %v, want sync's EINVAL", err)
		}
		if noSync {
			if data, _ := os.ReadFile(filepath.Join(target, "args")); string(data) != "--x=a b "+target+"\n" {
				t.Errorf("the tool got %q", data)
			}
		}
	}
}
