package main

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
)

// The install to disk (docs/fleet.md): GET report.InstallPath?ref=HOST:PORT/REPO:TAG[&mac=MAC][&insecure=1]
// answers the gzip-compressed image of `mode image --format disk` of that
// chain, booting mode.ref=REF with mode.cache on its data partition; its
// size once decompressed in report.DiskSizeHeader (the init refuses a
// smaller disk before writing a byte).

// maxInstallImages is how many built images the server keeps (the newest).
const maxInstallImages = 4

// installRefRE is what the ref of an install may be: it goes on the
// installed disk's kernel line (grub.cfg).
var installRefRE = regexp.MustCompile(`^[A-Za-z0-9.\[\]:-]+/[a-z0-9._/-]+([:@][A-Za-z0-9._:-]+)$`)

// installImages builds and keeps the disk images of installs.
type installImages struct {
	store     *store.Store
	boot      *swapHandler // the /boot/ in force: the chain's kernel and initramfs it serves go on the disk
	pushToken string
	mu        sync.Mutex // one build at a time
	dir       string
	built     []string // keys, oldest first
}

func (ii *installImages) close() {
	if ii.dir != "" {
		os.RemoveAll(ii.dir)
	}
}

func (ii *installImages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != report.InstallPath || r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	ref := q.Get("ref")
	if !installRefRE.MatchString(ref) || len(ref) > report.MaxRef {
		http.Error(w, fmt.Sprintf("install: ref %q: want HOST:PORT/REPO:TAG", ref), http.StatusBadRequest)
		return
	}
	var mac string
	if m := q.Get("mac"); m != "" {
		var err error
		if mac, err = fleet.NormalMAC(m); err != nil {
			http.Error(w, "install: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	file, size, err := ii.image(r.Context(), ref, mac, q.Get("insecure") == "1")
	var be buildError
	switch {
	case errors.As(err, &be): // its paths are the server's: the log has them, the reply not
		slog.Error("install image", "ref", ref, "err", err)
		http.Error(w, "install: building the disk image failed (the server's log says why)", http.StatusInternalServerError)
		return
	case err != nil:
		http.Error(w, "install: "+err.Error(), http.StatusNotFound)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		http.Error(w, "install: image gone, ask again", http.StatusServiceUnavailable)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set(report.DiskSizeHeader, strconv.FormatInt(size, 10))
	http.ServeContent(w, r, "disk.img.gz", time.Time{}, f)
}

// image returns the gzip file of the disk image for ref (built on first
// use) and the image's size.
func (ii *installImages) image(ctx context.Context, ref, mac string, insecure bool) (string, int64, error) {
	slash := strings.Index(ref, "/")
	chain := ref[slash+1:]
	repo, tagOrDigest, err := ii.store.Find(chain)
	if err != nil {
		return "", 0, fmt.Errorf("chain %s: %w", chain, err)
	}
	ch, _, digest, err := ii.store.Chain(repo, tagOrDigest)
	if err != nil {
		return "", 0, fmt.Errorf("chain %s: %w", chain, err)
	}
	h := ii.boot.p.Load()
	if h == nil {
		return "", 0, buildError{errors.New("no /boot/ kernel")}
	}
	nb, ok := (*h).(*netboot.Server)
	if !ok {
		return "", 0, buildError{errors.New("no /boot/ kernel")}
	}
	// The chain's own kernel and its initramfs when it carries one (as
	// mode image --format disk takes it), else the server's: the files the
	// machine netbooted the install with.
	kernel, initrd, err := nb.Config.BootFiles(ctx, repo, tagOrDigest)
	if err != nil {
		return "", 0, buildError{fmt.Errorf("kernel and initramfs: %w", err)}
	}
	// The installed machine waits a minute, not five, for a registry that
	// does not answer before it boots the disk's layers.
	appendLine := "mode.fetch.timeout=60s"
	if insecure {
		appendLine += " mode.insecure"
	}
	if mac != "" && ii.pushToken != "" {
		appendLine += " mode.report=" + report.MachineToken(ii.pushToken, mac)
	}
	sum := sha256.New()
	fmt.Fprintln(sum, ref, digest, appendLine, kernel, initrd)
	key := hex.EncodeToString(sum.Sum(nil))[:16]

	ii.mu.Lock()
	defer ii.mu.Unlock()
	file, size, err := ii.build(ctx, key, ref, repo, tagOrDigest, digest.String(), ch, kernel, initrd, appendLine)
	if err != nil {
		return "", 0, buildError{err}
	}
	return file, size, nil
}

// buildError is a failure to build the image (not the request's fault).
type buildError struct{ error }

func (e buildError) Unwrap() error { return e.error }

// build makes the image of key (ii.mu held), or finds it made.
func (ii *installImages) build(ctx context.Context, key, ref, repo, tagOrDigest, digest string, ch *store.Chain, kernel, initrd, appendLine string) (string, int64, error) {
	var err error
	if ii.dir == "" {
		if ii.dir, err = os.MkdirTemp("", "mode-install-*"); err != nil {
			return "", 0, err
		}
	}
	gz := filepath.Join(ii.dir, key+".img.gz")
	if data, err := os.ReadFile(gz + ".size"); err == nil {
		n, _ := strconv.ParseInt(string(data), 10, 64)
		return gz, n, nil
	}
	im, err := media.FromStore(ii.store, repo+map[bool]string{true: "@", false: ":"}[strings.HasPrefix(tagOrDigest, "sha256:")]+tagOrDigest)
	if err != nil {
		return "", 0, err
	}
	im.Kernel, im.Initrd, im.Append, im.Pull = kernel, initrd, appendLine, ref
	last, err := lastBootFile(ii.dir, key, ref, digest, ch)
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(last)
	im.Files = map[string]string{"last-boot.json": last}
	raw := filepath.Join(ii.dir, key+".img")
	defer os.Remove(raw)
	if err := media.Write(ctx, "disk", im, raw); err != nil {
		return "", 0, err
	}
	size, err := gzipFile(raw, gz)
	if err != nil {
		os.Remove(gz)
		return "", 0, err
	}
	if err := os.WriteFile(gz+".size", []byte(strconv.FormatInt(size, 10)), 0o644); err != nil {
		return "", 0, err
	}
	ii.built = append(ii.built, key)
	if len(ii.built) > maxInstallImages {
		old := filepath.Join(ii.dir, ii.built[0]+".img.gz")
		os.Remove(old + ".size")
		os.Remove(old) // a download still reading it keeps its open file
		ii.built = ii.built[1:]
	}
	slog.Info("install image built", "ref", ref, "digest", digest, "bytes", size)
	return gz, size, nil
}

// lastBootFile writes the mode.cache record of the chain (the init's
// last-boot.json: ref, manifest digest, name, layers) that lets the
// installed disk boot its layers before it ever reached the registry.
func lastBootFile(dir, key, ref, digest string, ch *store.Chain) (string, error) {
	if len(ch.Layers) == 0 {
		return "", errors.New("chain without layers")
	}
	rec := struct {
		Ref    string `json:"ref"`
		Digest string `json:"digest"`
		Name   string `json:"name"`
		Layers any    `json:"layers"`
	}{ref, digest, ch.Name, ch.Layers}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, key+".last-boot.json")
	return file, os.WriteFile(file, data, 0o644)
}

// gzipFile compresses src (mostly zeros: the room for changes) into dst and
// returns src's size.
func gzipFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	n, err := io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
