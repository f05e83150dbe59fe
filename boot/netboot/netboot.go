package netboot

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// File is a file made on first use (a kernel to fetch, an initramfs to
// build) and then served as it is.
type File struct {
	make func(context.Context) (string, error)
	once sync.Once
	path string
	err  error
}

// Lazy returns a File that make produces on first use.
func Lazy(make func(context.Context) (string, error)) *File { return &File{make: make} }

// Path returns the file's path, making it the first time.
func (f *File) Path(ctx context.Context) (string, error) {
	f.once.Do(func() { f.path, f.err = f.make(context.WithoutCancel(ctx)) })
	return f.path, f.err
}

// Config is what Handler serves.
type Config struct {
	Kernel *File
	Initrd *File
	Chain  string // the chain boot.ipxe boots when the request names none
	Repo   string // the repository part of mode.ref (default "mode")
	Append string // more kernel command line
	// Advertise is the HOST:PORT machines are told to fetch from (kernel,
	// initramfs, mode.ref); "" is the host the request reached.
	Advertise string
}

// chainName is what a chain (a tag) may be called in boot.ipxe?chain=.
var chainName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Handler serves /boot/vmlinuz, /boot/initrd.img and /boot/boot.ipxe.
func Handler(c Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boot/vmlinuz", serveFile(c.Kernel))
	mux.HandleFunc("GET /boot/initrd.img", serveFile(c.Initrd))
	mux.HandleFunc("GET /boot/boot.ipxe", func(w http.ResponseWriter, r *http.Request) {
		chain := r.URL.Query().Get("chain")
		if chain == "" {
			chain = c.Chain
		}
		if !chainName.MatchString(chain) {
			http.Error(w, fmt.Sprintf("boot.ipxe: no chain (give ?chain=NAME or serve --boot-chain); bad name %q", chain), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		host := c.Advertise
		if host == "" {
			host = r.Host
		}
		fmt.Fprint(w, Script(host, c.Repo, chain, c.Append))
	})
	return mux
}

// Script is the iPXE script that boots chain from the server at host
// (HOST:PORT, as the machine reached it).
func Script(host, repo, chain, extra string) string {
	if repo == "" {
		repo = "mode"
	}
	args := strings.TrimSpace(fmt.Sprintf("initrd=initrd.img console=tty0 console=ttyS0 mode.ref=%s/%s:%s mode.insecure %s", host, repo, chain, extra))
	return fmt.Sprintf("#!ipxe\n"+
		"dhcp\n"+
		"kernel http://%[1]s/boot/vmlinuz %[2]s\n"+
		"initrd --name initrd.img http://%[1]s/boot/initrd.img\n"+
		"boot\n", host, args)
}

func serveFile(f *File) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f == nil {
			http.NotFound(w, r)
			return
		}
		p, err := f.Path(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeFile(w, r, p)
	}
}
