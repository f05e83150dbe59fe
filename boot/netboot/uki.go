package netboot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/registry/store"
)

// UKIFile is the file name of a chain's signed unified kernel image:
// /boot/uki/REPO/REF/mode.efi, and /boot/mode.efi for the server's chain
// (Config.Chain): the URL a DHCP server gives UEFI HTTP boot clients.
const UKIFile = "mode.efi"

// keepUKIs is how many signed UKIs a server keeps built (each is a kernel
// and an initramfs: tens of MB); the oldest built goes first.
const keepUKIs = 8

// UKIs builds and signs the unified kernel images of /boot/uki/: the
// chain's kernel, its initramfs and the command line that boots the chain,
// in one EFI binary signed with the site's Secure Boot key, so that firmware
// with Secure Boot on (the site's certificate in its db) verifies all three
// before running them. Each is built once per kernel, initramfs and command
// line, then served from Dir.
type UKIs struct {
	Signer uki.Signer
	Dir    string // where the signed UKIs are kept (the server's temp directory)

	mu    sync.Mutex
	built map[string]*ukiEntry
	order []string // keys of built, oldest first
}

type ukiEntry struct {
	once sync.Once
	path string
	err  error
}

// NewUKIs checks the signer (key and certificate a pair, not expired, for
// code signing) and the tools, and returns the UKIs kept in dir.
func NewUKIs(s uki.Signer, dir string) (*UKIs, error) {
	if err := s.Check(time.Now()); err != nil {
		return nil, fmt.Errorf("netboot: %w", err)
	}
	if _, err := os.Stat(uki.Stub); err != nil {
		return nil, fmt.Errorf("netboot: signed UKIs need systemd's EFI stub %s (install systemd-boot-efi)", uki.Stub)
	}
	return &UKIs{Signer: s, Dir: dir, built: map[string]*ukiEntry{}}, nil
}

// Path returns the signed UKI of kernel, initrd and cmdline, building and
// signing it on first use.
func (u *UKIs) Path(ctx context.Context, kernel, initrd, cmdline string) (string, error) {
	h := sha256.Sum256([]byte(kernel + "\x00" + initrd + "\x00" + cmdline))
	key := hex.EncodeToString(h[:12])
	u.mu.Lock()
	e, ok := u.built[key]
	if !ok {
		e = &ukiEntry{}
		u.built[key] = e
		u.order = append(u.order, key)
		if len(u.order) > keepUKIs { // an open file stays readable on Linux
			old := u.order[0]
			u.order = u.order[1:]
			if o := u.built[old]; o.path != "" {
				os.Remove(o.path)
			}
			delete(u.built, old)
		}
	}
	u.mu.Unlock()
	e.once.Do(func() {
		ctx := context.WithoutCancel(ctx)
		out := filepath.Join(u.Dir, "uki-"+key+".efi")
		unsigned := out + ".unsigned"
		defer os.Remove(unsigned)
		if e.err = uki.Build(ctx, uki.UKI{Kernel: kernel, Initrd: initrd, Cmdline: cmdline}, unsigned); e.err != nil {
			return
		}
		tmp := out + ".tmp"
		if e.err = uki.Sign(ctx, u.Signer, unsigned, tmp); e.err != nil {
			os.Remove(tmp)
			return
		}
		if e.err = os.Rename(tmp, out); e.err == nil {
			e.path = out
		}
	})
	if e.err != nil { // not cached: the next request tries again
		u.mu.Lock()
		if u.built[key] == e {
			delete(u.built, key)
		}
		u.mu.Unlock()
	}
	return e.path, e.err
}

// parseUKIPath splits what follows /boot/uki/ (REPO/REF/mode.efi) into the
// repository and the tag or digest, checked as /boot/chain/'s are.
func parseUKIPath(p string) (repo, ref string, err error) {
	rest, ok := strings.CutSuffix(p, "/"+UKIFile)
	if !ok {
		return "", "", fmt.Errorf("%q: want REPO/TAG-or-DIGEST/%s", p, UKIFile)
	}
	repo, ref, _, err = parseChainPath(rest + "/vmlinuz")
	return repo, ref, err
}

// serveUKI serves /boot/uki/REPO/REF/mode.efi, and /boot/mode.efi (the
// server's chain): the chain's kernel and initramfs (as /boot/chain/
// serves them) with the command line that boots it, signed.
func serveUKI(c Config) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		repo, ref := repoOr(c.Repo), c.Chain
		if p := r.PathValue("path"); p != "" || r.URL.Path != "/boot/"+UKIFile {
			var err error
			if repo, ref, err = parseUKIPath(p); err != nil {
				http.Error(w, "boot: "+err.Error(), http.StatusBadRequest)
				return
			}
		} else if !chainName.MatchString(ref) {
			http.Error(w, "boot: no chain for "+UKIFile+" (serve --boot-chain); ask for /boot/uki/REPO/TAG/"+UKIFile, http.StatusNotFound)
			return
		}
		kernel, initrd, err := chainFiles(r.Context(), c, repo, ref)
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, store.ErrNotFound) {
				code = http.StatusNotFound
			}
			http.Error(w, "boot: "+err.Error(), code)
			return
		}
		host := c.Advertise
		if host == "" {
			host = r.Host
		}
		reg, secure := c.Registry, c.Secure || c.Registry != ""
		if reg == "" {
			reg = host
		}
		p, err := c.UKI.Path(r.Context(), kernel, initrd, kernelArgs(reg, secure, repo, ref, c.Append))
		if err != nil {
			http.Error(w, "boot: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/efi")
		http.ServeFile(w, r, p)
	}
}

// chainFiles are the kernel and initramfs files the chain repo:ref boots
// with: its own (Config.Chains), else the server's.
func chainFiles(ctx context.Context, c Config, repo, ref string) (kernel, initrd string, err error) {
	if c.Chains == nil {
		if c.Kernel == nil || c.Initrd == nil {
			return "", "", errors.New("no kernel or initramfs to serve")
		}
		if kernel, err = c.Kernel.Path(ctx); err == nil {
			initrd, err = c.Initrd.Path(ctx)
		}
		return kernel, initrd, err
	}
	if kernel, err = c.Chains.Path(ctx, repo, ref, "vmlinuz"); err == nil {
		initrd, err = c.Chains.Path(ctx, repo, ref, "initrd.img")
	}
	return kernel, initrd, err
}
