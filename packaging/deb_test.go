package packaging

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules/debian"
	"github.com/mode-build/mode/registry/store"
)

// debianRoot returns a Debian bookworm root (minbase, systemd, adduser, procps)
// unpacked in a new temporary directory. The root is made once with
// mmdebstrap from the host's apt sources (a minute or two) and kept as a tar
// in .cache/debroot.
func debianRoot(t *testing.T) string {
	t.Helper()
	cache := filepath.Join(testutil.RepoRoot(t), ".cache", "debroot")
	tarball := filepath.Join(cache, "bookworm-minbase-systemd-procps.tar")
	if _, err := os.Stat(tarball); err != nil {
		testutil.RequiresTools(t, "mmdebstrap")
		host, err := debian.ReadSources("/etc/apt")
		if err != nil {
			t.Fatal(err)
		}
		sources, err := debian.ForSuite(host, debian.HostCodename(), "bookworm", nil)
		if err != nil {
			t.Skipf("no Debian mirror for bookworm among the host's apt sources: %v", err)
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(t.TempDir(), "bookworm.sources")
		os.WriteFile(src, debian.Deb822(sources), 0o644)
		tmp := tarball + ".tmp-" + strconv.Itoa(os.Getpid())
		defer os.Remove(tmp)
		cmd := exec.Command("mmdebstrap", "--mode=root", "--format=tar", "--variant=minbase", "--include=systemd,adduser,procps", "bookworm", tmp, src)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mmdebstrap: %v\n%s", err, out)
		}
		if err := os.Rename(tmp, tarball); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	if out, err := exec.Command("tar", "-xf", tarball, "-C", root).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return root
}

// inRoot runs a command chrooted into root and returns its output.
func inRoot(t *testing.T, root string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in the Debian root: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebianPackage builds the package (deb.sh, as make deb does), installs
// it with dpkg into a fresh Debian root, checks what it installed (the user
// mode, the conffile, man page, completions) and that systemd-analyze verify
// accepts its unit there, then runs mode serve in the root as the service
// would (its user, the default /etc/mode/serve.yaml) and pulls a chain from it.
func TestDebianPackage(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "dpkg-deb", "systemd-analyze")
	bin := filepath.Join(testutil.Binaries(t), "mode")
	out, err := exec.Command("./deb.sh", bin, t.TempDir(), "1.0~test").CombinedOutput()
	if err != nil {
		t.Fatalf("deb.sh: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(string(out))
	root := debianRoot(t)

	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "tmp", "mode.deb"), data, 0o644)
	inRoot(t, root, "dpkg", "-i", "/tmp/mode.deb")

	if got := inRoot(t, root, "getent", "passwd", "mode"); !strings.HasPrefix(got, "mode:x:") {
		t.Errorf("no system user mode: %q", got)
	}
	if got := inRoot(t, root, "dpkg-query", "-W", "-f=${Conffiles}", "mode"); !strings.Contains(got, "/etc/mode/serve.yaml") {
		t.Errorf("conffiles: %q, want /etc/mode/serve.yaml", got)
	}
	for _, f := range []string{"usr/bin/mode", "lib/systemd/system/mode-serve.service", "usr/share/man/man1/mode.1.gz",
		"usr/share/bash-completion/completions/mode", "usr/share/zsh/vendor-completions/_mode",
		"usr/share/fish/vendor_completions.d/mode.fish", "usr/share/doc/mode/service.md"} {
		if fi, err := os.Stat(filepath.Join(root, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (installed empty or not at all)", f, err)
		}
	}

	t.Run("systemd-analyze verify", func(t *testing.T) {
		cmd := exec.Command("systemd-analyze", "verify", "--root="+root, "--man=no", "/lib/systemd/system/mode-serve.service")
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "mode-serve") {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	t.Run("serve from the configuration file", func(t *testing.T) {
		// What the unit's StateDirectory= makes: /var/lib/mode, the user's.
		uid, gid := ids(t, root)
		stateDir := filepath.Join(root, "var", "lib", "mode")
		s, err := store.Open(filepath.Join(stateDir, "store"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.AddChain(context.Background(), "site", "top", registrytest.Chain(t, []string{"base", "top"}, 0))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "-R", uid+":"+gid, stateDir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
		u, _ := strconv.Atoi(uid)
		g, _ := strconv.Atoi(gid)
		// The file's addr is 0.0.0.0:5000: the command line wins.
		srv := exec.Command("/usr/bin/mode", "serve", "--config", "/etc/mode/serve.yaml", "--addr", "127.0.0.1:0")
		srv.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uint32(u), Gid: uint32(g)}}
		srv.Dir, srv.Env = "/", []string{"PATH=/usr/bin:/bin"}
		stdout, _ := srv.StdoutPipe()
		var stderr strings.Builder
		srv.Stderr = &stderr
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- srv.Wait() }()
		defer srv.Process.Kill()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("mode serve printed no URL: %v\n%s", err, stderr.String())
		}
		host, ok := strings.CutPrefix(strings.TrimSpace(line), "https://")
		if !ok {
			t.Fatalf("mode serve printed %q, want https (tls: auto in serve.yaml)", line)
		}
		ca := filepath.Join(stateDir, "store", "tls", "ca.crt")
		pull := exec.Command(bin, "pull", "--store", t.TempDir(), "--ca", ca, host+"/site:top")
		got, err := pull.Output()
		if err != nil || strings.TrimSpace(string(got)) != string(d) {
			t.Errorf("pull: %q, %v, want %s\n%s", got, err, d, stderr.String())
		}
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("mode serve after SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Error("mode serve still running 60s after SIGTERM")
		}
	})
}

// ids are the uid and gid of the user mode in root.
func ids(t *testing.T, root string) (uid, gid string) {
	t.Helper()
	f := strings.Split(strings.TrimSpace(inRoot(t, root, "getent", "passwd", "mode")), ":")
	if len(f) < 4 {
		t.Fatalf("getent passwd mode: %q", f)
	}
	return f[2], f[3]
}
