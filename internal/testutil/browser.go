package testutil

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Chromium returns the headless browser of the page tests (Debian's
// chromium; make deps installs it).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("this test loads pages in a browser: install chromium (make deps)")
	return ""
}

// chromium runs headless Chromium with args and url and returns its stdout,
// failing the test when it fails or when the page logged anything to the
// console (a script error, a resource that did not load, a refused style).
func chromium(t testing.TB, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--window-size=1280,1400"}, args...)
	cmd := exec.CommandContext(ctx, Chromium(t), append(all, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			t.Errorf("%s: console message: %s", url, l)
		}
	}
	return stdout.String()
}

// DumpDOM loads url in headless Chromium and returns the DOM it rendered.
func DumpDOM(t testing.TB, url string) string {
	t.Helper()
	return chromium(t, url, "--dump-dom")
}

// Screenshot loads url in headless Chromium and saves a PNG of it as file.
func Screenshot(t testing.TB, url, file string) {
	t.Helper()
	chromium(t, url, "--screenshot="+file, "--hide-scrollbars")
}
