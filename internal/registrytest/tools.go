package registrytest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tool returns the path of an interop tool installed by `make tools`: in
// $MODE_TOOLS, else in .cache/bin at the repository root.
func Tool(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("MODE_TOOLS")
	if dir == "" {
		dir = filepath.Join(root(), ".cache", "bin")
	}
	p, err := filepath.Abs(filepath.Join(dir, name))
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found in %s (run make tools): %v", name, dir, err)
	return ""
}

// FreeAddr returns a 127.0.0.1 address with a port free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Distribution starts the CNCF distribution registry on 127.0.0.1 with a
// temporary storage directory, stopped at the end of the test. It returns
// host:port.
func Distribution(t testing.TB) string {
	t.Helper()
	addr, _ := startDistribution(t, "")
	return addr
}

// DistributionProxy starts the CNCF distribution registry as a pull-through
// cache (proxy mode) of the registry at upstream (host:port, plain HTTP),
// stopped at the end of the test. It returns host:port and kill, which stops
// it at once (SIGKILL) and waits for it to exit.
func DistributionProxy(t testing.TB, upstream string) (addr string, kill func()) {
	t.Helper()
	return startDistribution(t, "proxy:\n  remoteurl: http://"+upstream+"\n")
}

func startDistribution(t testing.TB, extra string) (string, func()) {
	t.Helper()
	bin := Tool(t, "registry")
	dir := t.TempDir()
	addr := FreeAddr(t)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
catalog:
  maxentries: 5000
http:
  addr: %s
%s`, filepath.Join(dir, "data"), addr, extra)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	kill := func() {
		cmd.Process.Kill()
		<-done
	}
	t.Cleanup(kill)
	WaitHTTP(t, "http://"+addr+"/v2/", done, &logs)
	return addr, kill
}

// WaitHTTP waits up to 20s for url to answer 200.
func WaitHTTP(t testing.TB, url string, exited <-chan struct{}, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("server for %s exited: %s", url, logs)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 20s: %s", url, logs)
}

// Run runs a tool and returns its stdout, failing the test on error.
func Run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// root is the repository's root directory (where go.mod is).
func root() string {
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}
