package netboot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/kernel"
	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
)

// Options say what a Server serves under /boot/ (mode serve's flags).
type Options struct {
	// Kernel is the kernel file served as /boot/vmlinuz; "" fetches
	// Debian's cloud kernel into KernelDir on first use.
	Kernel    string
	KernelDir string
	// KernelModules (a linux-image .deb or a modules directory) match
	// Kernel, for the initramfs built; "" with no Kernel: the fetched ones.
	KernelModules string
	// Initrd is the initramfs file served as /boot/initrd.img; "" builds
	// mode's on first use.
	Initrd string
	// Trust are public key files the built initramfs trusts: it then boots
	// only chains they signed. Checked by New, used on first use.
	Trust []string
	// Chain ([REPO:]TAG of the store) is what boot.ipxe boots when the
	// request names none.
	Chain string
	// Advertise is the HOST[:PORT] machines are told (Advertise); "" is
	// the default route's interface address and the listening port.
	Advertise string
	// PushToken is the server's push token: when set, each machine reports
	// its boots with its own token (report.MachineToken).
	PushToken string
	// SiteCA is the CA certificate file the built initramfs carries (a TLS
	// site: the init verifies the site's HTTPS with it, no mode.insecure).
	SiteCA string
	// Secure says the server is HTTPS; Choose picks each machine's boot
	// (the fleet's rules and actions; nil boots every machine the same).
	Secure bool
	Choose Chooser
	// NoCloud serves the machines' NoCloud seeds (Config.NoCloud); it is
	// named on kernel lines only with PushToken (the seed's path holds the
	// machine's token).
	NoCloud http.Handler
	// Mirrors (HOST[:PORT], checked) are put on the kernel line as
	// mode.mirrors: registries the init tries before the server.
	Mirrors []string
	// Compress is the built initramfs's compressor (initramfs.Compressions;
	// "" is the first).
	Compress string
	// KeepKernels is how many chains' kernels (and their initramfs) the
	// store keeps under CacheDir; 0 is DefaultKeepKernels.
	KeepKernels int
	// SecureBoot, when set, is the site's Secure Boot key: /boot/uki/
	// serves each chain's unified kernel image signed with it (uki.go).
	SecureBoot *uki.Signer
	// Arch, when set, serves machines of another architecture than the
	// server's under /boot/ARCH/ (arch.go).
	Arch *ArchBoot
	// Built is told of each initramfs built on first use; may be nil.
	Built func(*initramfs.Result)
	// Logger is told what cannot be done as asked; nil is silent.
	Logger *slog.Logger
}

// Server is the /boot/ handler of mode serve: the kernel and initramfs are
// fetched and built on the first request, not before.
type Server struct {
	http.Handler
	// Config is what it serves: the chain and repository of mode.ref, the
	// address machines are told.
	Config Config
	tmp    string
}

// Close removes the initramfs the server built.
func (s *Server) Close() error {
	if s.tmp == "" {
		return nil
	}
	return os.RemoveAll(s.tmp)
}

// New returns the /boot/ server over the chains of st, for a server
// listening at listen.
func New(st *store.Store, listen net.Addr, o Options) (*Server, error) {
	trusted, err := initramfs.TrustFiles(o.Trust, false) // checked now, used on first use
	if err != nil {
		return nil, err
	}
	if o.Initrd != "" && len(trusted) > 0 {
		return nil, errors.New("netboot: trusted keys go into the initramfs built; give them to the initramfs given (mode initramfs --trust)")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := Config{Chain: o.Chain}
	if cfg.Advertise, err = Advertise(o.Advertise, listen); err != nil {
		logger.Warn("machines get the address they reached the server at", "err", err)
	}
	if t := o.PushToken; t != "" { // each machine reports its boots with its own token (docs/site.md)
		cfg.Token = func(mac string) string { return report.MachineToken(t, mac) }
	}
	cfg.Secure, cfg.Choose, cfg.NoCloud = o.Secure, o.Choose, o.NoCloud
	if len(o.Mirrors) > 0 {
		cfg.Append = strings.TrimSpace(cfg.Append + " mode.mirrors=" + strings.Join(o.Mirrors, ","))
	}
	// The repository of mode.ref: Chain's, else the store's only one.
	if cfg.Chain != "" {
		repo, tag, err := st.Find(cfg.Chain)
		if err != nil {
			return nil, fmt.Errorf("netboot: chain: %w", err)
		}
		cfg.Repo, cfg.Chain = repo, tag
	} else if repos, err := st.Repositories(); err == nil && len(repos) == 1 {
		cfg.Repo = repos[0]
	}
	s := &Server{}
	tmp, tmpErr := makeTemp()
	if tmpErr == nil {
		s.tmp = tmp
	}
	if o.SecureBoot != nil {
		if tmpErr != nil {
			return nil, tmpErr
		}
		if cfg.UKI, err = NewUKIs(*o.SecureBoot, tmp); err != nil {
			s.Close()
			return nil, err
		}
	}
	// Debian's kernel, fetched once for both files when none is given.
	var once sync.Once
	var fetched *kernel.Kernel
	var fetchErr error
	fetch := func(ctx context.Context) (*kernel.Kernel, error) {
		once.Do(func() { fetched, fetchErr = kernel.Fetch(ctx, o.KernelDir, "") })
		return fetched, fetchErr
	}
	cfg.Kernel = Lazy(func(ctx context.Context) (string, error) {
		if o.Kernel != "" {
			return o.Kernel, nil
		}
		k, err := fetch(ctx)
		if err != nil {
			return "", err
		}
		return k.Vmlinuz, nil
	})
	// The options of mode's initramfs with the kernel modules kmods.
	prepare := func(kmods string) (initramfs.Options, func(), error) {
		opts, err := initramfs.Defaults()
		if err != nil {
			return opts, nil, err
		}
		opts.KernelModules, opts.Compress, opts.ZstdLevel = kmods, o.Compress, ZstdLevel
		opts.Files = append(opts.Files, trusted...)
		if o.SiteCA == "" {
			return opts, func() {}, nil
		}
		done, err := initramfs.AddCA(&opts, o.SiteCA)
		return opts, done, err
	}
	cfg.Initrd = Lazy(func(ctx context.Context) (string, error) {
		if o.Initrd != "" {
			return o.Initrd, nil
		}
		mods := o.KernelModules
		if mods == "" {
			if o.Kernel != "" {
				return "", errors.New("netboot: a kernel given needs its kernel modules or an initramfs")
			}
			k, err := fetch(ctx)
			if err != nil {
				return "", err
			}
			mods = k.Deb
		}
		opts, done, err := prepare(mods)
		if err != nil {
			return "", err
		}
		defer done()
		if tmpErr != nil {
			return "", tmpErr
		}
		out := filepath.Join(tmp, "initrd.img")
		res, err := initramfs.BuildFile(ctx, opts, out)
		if err != nil {
			return "", err
		}
		if o.Built != nil {
			o.Built(res)
		}
		return out, nil
	})
	if o.Arch != nil { // arch.go
		cfg.Arch = newArchFiles(*o.Arch, st, prepare, tmp, o.Built, logger)
	}
	// Each chain's own kernel, with an initramfs of its modules (chainkernel.go).
	if ck, err := newChainKernels(st, cfg, o, prepare, logger); err != nil {
		logger.Warn("every chain boots the server's kernel", "err", err)
	} else {
		cfg.Chains = ck
	}
	s.Config, s.Handler = cfg, Handler(cfg)
	return s, nil
}

// Unreachable reports whether a server listening at listen (loopback only)
// cannot be reached at adv, the address machines are told: a QEMU guest's
// 10.0.2.2 reaches the host's loopback.
func Unreachable(listen net.Addr, adv string) bool {
	tcp, ok := listen.(*net.TCPAddr)
	host, _, _ := net.SplitHostPort(adv)
	ip := net.ParseIP(host)
	return ok && tcp.IP.IsLoopback() && (ip == nil || !ip.IsLoopback()) && host != "10.0.2.2"
}
