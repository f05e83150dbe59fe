package netboot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/kernel"
	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/registry/store"
)

// GrubFile is the GRUB network image an arm64 machine's firmware loads
// (UEFI HTTP boot, or PXE by TFTP): /boot/arm64/bootaa64.efi boots the
// server's chain (Config.Chain), /boot/arm64/REPO/REF/bootaa64.efi any.
const GrubFile = "bootaa64.efi"

// keepGrubs is how many GRUB images (one per chain and address, about
// 1 MiB each) a server keeps built; the oldest built goes first.
const keepGrubs = 16

// ArchBoot says how the server boots machines of another architecture than
// its own (arm64, whose firmware runs no iPXE of Debian's): GRUB's EFI
// build of that architecture, its configuration built in, fetches
// Debian's cloud kernel of it and an initramfs with Mode as its init, over
// plain HTTP from /boot/ARCH/; the init pulls the chain, taking its own
// architecture's entry of an index.
type ArchBoot struct {
	Arch      string // arm64
	Mode      string // mode built for Arch: the initramfs's init (make build-arm64)
	KernelDir string // where Debian's kernel and GRUB of Arch are fetched, once (kernel.FetchArch, kernel.FetchGrub)
}

// ArchFiles serves /boot/ARCH/ (Config.Arch): vmlinuz, initrd.img and the
// GRUB images, each made on first use.
type ArchFiles struct {
	ArchBoot
	kernel, initrd, grub *File
	dir                  string // the server's temporary directory: the GRUB images
	resolve              func(repo, ref string) error
	logger               *slog.Logger

	mu     sync.Mutex
	images map[string]*File // GRUB configuration's hash → its image
	order  []string
}

// newArchFiles is what New serves for the machines of a: prepare gives
// the initramfs options of kernel modules (the server's trusted keys and
// site CA), whose Mode and Busybox become a's.
func newArchFiles(a ArchBoot, st *store.Store, prepare func(string) (initramfs.Options, func(), error), tmp string, built func(*initramfs.Result), logger *slog.Logger) *ArchFiles {
	f := &ArchFiles{ArchBoot: a, dir: tmp, logger: logger, images: map[string]*File{},
		resolve: func(repo, ref string) error { _, err := st.Resolve(repo, ref); return err }}
	var once sync.Once
	var k *kernel.Kernel
	var kerr error
	fetch := func(ctx context.Context) (*kernel.Kernel, error) {
		once.Do(func() { k, kerr = kernel.FetchArch(ctx, a.KernelDir, a.Arch, runtime.GOARCH) })
		return k, kerr
	}
	f.kernel = Lazy(func(ctx context.Context) (string, error) {
		k, err := fetch(ctx)
		if err != nil {
			return "", err
		}
		return k.Vmlinuz, nil
	})
	f.initrd = Lazy(func(ctx context.Context) (string, error) {
		if _, err := os.Stat(a.Mode); err != nil || a.Mode == "" {
			return "", fmt.Errorf("mode for %s (%q) is missing: make build-%s puts it beside mode as mode-%s", a.Arch, a.Mode, a.Arch, a.Arch)
		}
		if tmp == "" {
			return "", errors.New("no temporary directory")
		}
		k, err := fetch(ctx)
		if err != nil {
			return "", err
		}
		if k.Busybox == "" {
			return "", fmt.Errorf("no busybox of %s beside its kernel in %s", a.Arch, a.KernelDir)
		}
		opts, done, err := prepare(k.Deb)
		if err != nil {
			return "", err
		}
		defer done()
		opts.Mode, opts.Busybox = a.Mode, k.Busybox
		out := filepath.Join(tmp, "initrd-"+a.Arch+".img")
		res, err := initramfs.BuildFile(ctx, opts, out)
		if err != nil {
			return "", err
		}
		if built != nil {
			built(res)
		}
		return out, nil
	})
	f.grub = Lazy(func(ctx context.Context) (string, error) { return kernel.FetchGrub(ctx, a.KernelDir, a.Arch) })
	return f
}

// image returns the GRUB image with cfg built in, building it on first use.
func (f *ArchFiles) image(ctx context.Context, cfg string) (string, error) {
	h := sha256.Sum256([]byte(cfg))
	key := hex.EncodeToString(h[:12])
	f.mu.Lock()
	img, ok := f.images[key]
	if !ok {
		out := f.imagePath(key)
		img = Lazy(func(ctx context.Context) (string, error) {
			mods, err := f.grub.Path(ctx)
			if err != nil {
				return "", err
			}
			tmp := out + ".tmp"
			defer os.Remove(tmp)
			if err := media.GrubNetImage(ctx, mods, kernel.GrubFormat(f.Arch), cfg, tmp); err != nil {
				return "", err
			}
			return out, os.Rename(tmp, out)
		})
		f.images[key] = img
		f.order = append(f.order, key)
		if len(f.order) > keepGrubs { // an open file stays readable on Linux
			old := f.order[0]
			f.order = f.order[1:]
			os.Remove(f.imagePath(old))
			delete(f.images, old)
		}
	}
	f.mu.Unlock()
	p, err := img.Path(ctx)
	if err != nil { // not kept: the next request tries again
		f.mu.Lock()
		if f.images[key] == img {
			delete(f.images, key)
		}
		f.mu.Unlock()
	}
	return p, err
}

// prepare fetches the kernel and builds the initramfs in the background,
// once, while the machine loads GRUB and GRUB the kernel: GRUB waits 30 s
// at most for a reply, and the first initramfs takes longer than that on a
// busy server. What fails is told to the request for that file.
func (f *ArchFiles) prepare(ctx context.Context) {
	if _, err := os.Stat(f.Mode); err != nil { // no initramfs to build: initrd.img says why
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		if _, err := f.kernel.Path(ctx); err == nil {
			_, _ = f.initrd.Path(ctx)
		}
	}()
}

// imagePath is where the GRUB image of key is kept.
func (f *ArchFiles) imagePath(key string) string {
	return filepath.Join(f.dir, "grub-"+f.Arch+"-"+key+".efi")
}

// GrubConfigFile is the configuration a GRUB image of GrubFile reads
// from the server: /boot/arm64/REPO/REF/grub.cfg.
const GrubConfigFile = "grub.cfg"

// grubEarly is the configuration built into the GRUB image of the chain at
// chainDir (/boot/ARCH/REPO/REF/ on the server base, http://HOST:PORT):
// take an address by DHCP (after UEFI HTTP boot GRUB has none of the
// firmware's) and read the chain's grub.cfg (grubConfig) from the server.
// It runs before GRUB's normal mode: plain commands, no scripting;
// configfile enters normal mode.
func grubEarly(base *url.URL, chainDir string) string {
	return "net_bootp\nconfigfile (http," + base.Host + ")" + strings.TrimSuffix(base.Path, "/") + chainDir + GrubConfigFile + "\n"
}

// grubConfig is the chain's grub.cfg: the kernel, then the initramfs,
// from /boot/ARCH/ of base, the kernel line args. GRUB gives up on a reply
// after 30 s, and the server's first kernel and initramfs take longer
// than that to make: each is asked for again until it comes.
func (f *ArchFiles) grubConfig(base *url.URL, name, args string) string {
	dev := "(http," + base.Host + ")" + strings.TrimSuffix(base.Path, "/") + "/boot/" + f.Arch + "/"
	return fmt.Sprintf("echo 'mode: %[1]s from %[2]s'\n"+
		"for try in 1 2 3 4 5 6 7 8; do\n"+
		"\tif linux %[3]svmlinuz %[4]s; then break; fi\n"+
		"\techo 'mode: no kernel yet (the server fetches it): asking again'\n"+
		"done\n"+
		"for try in 1 2 3 4 5 6 7 8; do\n"+
		"\tif initrd %[3]sinitrd.img; then boot; fi\n"+
		"\techo 'mode: no initramfs yet (the server builds it): asking again'\n"+
		"done\n"+
		"echo 'mode: no kernel and initramfs from %[2]s'\n", name, base.Host, dev, args)
}

// grubAskMAC is the first grub.cfg of a server whose machines report: it
// asks again with the MAC of the card GRUB booted from, where GRUB keeps it:
// net_default_mac follows net_default_interface, which net_bootp does not
// always set; net_bootp's interface on the first card is efinet0:dhcp, whose
// MAC GRUB keeps in net_efinet0_dhcp_mac (':' made '_').
const grubAskMAC = `set mac="${net_default_mac}"
if [ -z "$mac" ]; then set mac="${net_efinet0_dhcp_mac}"; fi
if [ -z "$mac" ]; then set mac="${net_efinet0_mac}"; fi
echo "mode: this machine is ${mac}"
configfile "(http,%s)%s?mac=${mac}"
`

// serveArch serves /boot/ARCH/: vmlinuz, initrd.img, and GRUB images with
// the configuration that boots the server's chain (GrubFile) or REPO/REF
// (REPO/REF/GrubFile). What goes wrong on the server's side is logged, not
// told: the replies name no path.
func serveArch(c Config) http.HandlerFunc {
	a := c.Arch
	fail := func(w http.ResponseWriter, what string, err error) {
		a.logger.Error("boot: "+a.Arch+" "+what, "err", err)
		http.Error(w, "boot: "+a.Arch+" "+what+" could not be made (the server's log says why)", http.StatusInternalServerError)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		if f := map[string]*File{"vmlinuz": a.kernel, "initrd.img": a.initrd}[p]; f != nil {
			path, err := f.Path(r.Context())
			if err != nil {
				fail(w, p, err)
				return
			}
			http.ServeFile(w, r, path)
			return
		}
		repo, ref := repoOr(c.Repo), c.Chain
		file := GrubFile
		if p == GrubConfigFile {
			file = p
		}
		if p != file {
			rest, ok := strings.CutSuffix(p, "/"+GrubFile)
			if !ok {
				rest, ok = strings.CutSuffix(p, "/"+GrubConfigFile)
				file = GrubConfigFile
			}
			var err error
			if repo, ref, _, err = parseChainPath(rest + "/vmlinuz"); err != nil || !ok {
				http.Error(w, fmt.Sprintf("boot: %q: want vmlinuz, initrd.img, [REPO/TAG-or-DIGEST/]%s or %s", p, GrubFile, GrubConfigFile), http.StatusBadRequest)
				return
			}
		} else if !chainName.MatchString(ref) {
			http.Error(w, "boot: no chain for "+GrubFile+" (serve --boot-chain); ask for /boot/"+a.Arch+"/REPO/TAG/"+GrubFile, http.StatusNotFound)
			return
		}
		if err := a.resolve(repo, ref); errors.Is(err, store.ErrNotFound) {
			http.Error(w, fmt.Sprintf("boot: chain %s:%s: not found", repo, ref), http.StatusNotFound)
			return
		} else if err != nil {
			fail(w, "chain "+repo+":"+ref, err)
			return
		}
		host := c.Advertise
		if host == "" {
			host = r.Host
		}
		files := c.Files
		if files == "" {
			files = "http://" + host
		}
		base, err := url.Parse(files)
		if err != nil || base.Scheme != "http" || base.Host == "" {
			http.Error(w, "boot: GRUB fetches the kernel over plain HTTP only: ask the plain-HTTP listener (serve --boot-addr)", http.StatusNotImplemented)
			return
		}
		reg, secure := c.Registry, c.Secure || c.Registry != ""
		if reg == "" {
			reg = host
		}
		// The serial console of arm64 machines is a PL011 (ttyAMA0).
		args := strings.Replace(kernelArgs(reg, secure, repo, ref, c.Append), "console=ttyS0", "console=ttyAMA0", 1)
		if file == GrubConfigFile {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if c.Token != nil {
				// Reports need the machine's own token: the first grub.cfg asks
				// again with GRUB's MAC (after net_bootp), as boot.ipxe's first
				// stage does with iPXE's.
				q := r.URL.Query()
				if !q.Has("mac") {
					fmt.Fprintf(w, grubAskMAC, base.Host, strings.TrimSuffix(base.Path, "/")+r.URL.Path)
					return
				}
				if m, err := machineOf(q); err == nil {
					if t := c.Token(m.MAC); t != "" {
						args = "mode.report=" + t + " " + args
					}
				}
			}
			fmt.Fprint(w, a.grubConfig(base, repo+":"+ref, args))
			return
		}
		a.prepare(r.Context())
		img, err := a.image(r.Context(), grubEarly(base, "/boot/"+a.Arch+"/"+repo+"/"+ref+"/"))
		if err != nil {
			fail(w, GrubFile, err)
			return
		}
		w.Header().Set("Content-Type", "application/efi")
		http.ServeFile(w, r, img)
	}
}
