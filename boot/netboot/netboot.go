package netboot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
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

// Machine is who asks for boot.ipxe: what iPXE knows of the machine (its
// first NIC's MAC, the SMBIOS UUID and serial, the host name DHCP gave).
type Machine struct {
	MAC, UUID, Serial, Hostname string
}

// Choice is how one machine boots.
type Choice struct {
	Local bool   // from its own disk: iPXE exit
	Repo  string // the chain: repository...
	Ref   string // ...and tag or digest
	Args  string // more kernel command line
	// KernelRepo and KernelRef name the chain whose kernel and initramfs
	// boot; "": the chain's own (ChainPath).
	KernelRepo, KernelRef string
}

// Chooser picks each machine's boot (the fleet's rules and actions). It
// returns nil, nil to leave the machine to Config.Chain.
type Chooser func(Machine) (*Choice, error)

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
	// Registry, when set, is the HTTPS HOST:PORT of mode.ref (a TLS site):
	// the init verifies it with the CA its initramfs carries, and no
	// mode.insecure is set.
	Registry string
	// Files is the base URL of the kernel and initramfs in the script
	// (default http://ADVERTISE): on a TLS site, the plain-HTTP listener
	// (iPXE cannot check the site CA), or https:// for an iPXE that trusts it.
	Files string
	// Secure says the registry is HTTPS (a TLS site) even without Registry:
	// mode.ref is then the host the request reached, without mode.insecure.
	Secure bool
	// Choose picks each machine's boot; nil boots every machine the same.
	Choose Chooser
	// Token is the report token of machine mac (mode.report=); nil: none.
	Token func(mac string) string
	// NoCloud, when set, serves each machine's cloud-init NoCloud seed
	// under /boot/nocloud/MAC/TOKEN/ (the fleet's MachineHandler), and the
	// kernel line of a machine with a token names it: ds=nocloud-net;s=URL.
	NoCloud http.Handler
	// Chains serves each chain's own kernel and initramfs under
	// /boot/chain/; nil serves Kernel and Initrd there for every chain.
	Chains ChainFiles
	// UKI, when set, serves each chain's signed unified kernel image
	// under /boot/uki/ and /boot/mode.efi (uki.go): UEFI HTTP boot under
	// Secure Boot.
	UKI *UKIs
	// Arch, when set, serves machines of another architecture (arm64)
	// under /boot/ARCH/ (arch.go): GRUB's network image, kernel, initramfs.
	Arch *ArchFiles
}

// ChainFiles are the boot files of each chain.
type ChainFiles interface {
	// Path returns the file ("vmlinuz" or "initrd.img") that the chain
	// repo:ref (a tag or a digest) boots with.
	Path(ctx context.Context, repo, ref, file string) (string, error)
}

// chainName is what a chain (a tag) may be called in boot.ipxe?chain=.
var chainName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Identify is the second-stage URL's query: the first stage (no mac=)
// answers with a script that chains to boot.ipxe again with these iPXE
// settings filled in. The MAC and UUID go as iPXE formats them (hex with
// colons, 8-4-4-4-12): ":uristring" would write their raw bytes.
const Identify = "mac=${net0/mac}&uuid=${uuid}&serial=${serial:uristring}&hostname=${hostname:uristring}"

// Handler serves /boot/vmlinuz, /boot/initrd.img and /boot/boot.ipxe.
func Handler(c Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boot/vmlinuz", serveFile(c.Kernel))
	mux.HandleFunc("GET /boot/initrd.img", serveFile(c.Initrd))
	if c.NoCloud != nil {
		mux.Handle("GET "+noCloudPath, c.NoCloud)
	}
	mux.HandleFunc("GET /boot/chain/{path...}", serveChainFile(c)) // chainfiles.go
	if c.UKI != nil {
		mux.HandleFunc("GET /boot/uki/{path...}", serveUKI(c)) // uki.go
		mux.HandleFunc("GET /boot/"+UKIFile, serveUKI(c))
	}
	if c.Arch != nil {
		mux.HandleFunc("GET /boot/"+c.Arch.Arch+"/{path...}", serveArch(c)) // arch.go
	}
	mux.HandleFunc("GET /boot/boot.ipxe", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		chain := q.Get("chain")
		if chain != "" && !chainName.MatchString(chain) {
			http.Error(w, fmt.Sprintf("boot.ipxe: bad chain name %q", chain), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		host := c.Advertise
		if host == "" {
			host = r.Host
		}
		if !q.Has("mac") { // first stage: say who you are
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			next := scheme + "://" + r.Host + "/boot/boot.ipxe?" + Identify
			if chain != "" {
				next += "&chain=" + url.QueryEscape(chain)
			}
			fmt.Fprintf(w, "#!ipxe\ndhcp\nchain %s\n", next)
			return
		}
		m, err := machineOf(q)
		if err != nil {
			http.Error(w, "boot.ipxe: "+err.Error(), http.StatusBadRequest)
			return
		}
		choice := &Choice{Repo: c.Repo, Ref: c.Chain}
		if chain != "" {
			choice.Ref = chain
		} else if c.Choose != nil {
			ch, err := c.Choose(m)
			if err != nil {
				http.Error(w, "boot.ipxe: "+err.Error(), http.StatusNotFound)
				return
			}
			if ch != nil {
				choice = ch
			}
		}
		if choice.Local {
			fmt.Fprintf(w, "#!ipxe\necho mode: %s boots from its local disk\nexit\n", m.MAC)
			return
		}
		if !chainName.MatchString(choice.Ref) && !strings.Contains(choice.Ref, ":") {
			http.Error(w, fmt.Sprintf("boot.ipxe: no chain (give ?chain=NAME, serve --boot-chain or a site file); bad name %q", choice.Ref), http.StatusBadRequest)
			return
		}
		extra := strings.TrimSpace(c.Append + " " + choice.Args)
		files := c.Files
		if files == "" && r.TLS != nil {
			files = "https://" + host
		} else if files == "" {
			files = "http://" + host
		}
		if c.Token != nil {
			if t := c.Token(m.MAC); t != "" {
				extra = strings.TrimSpace("mode.report=" + t + " " + noCloudArg(c, files, m.MAC, t) + extra)
			}
		}
		reg, secure := c.Registry, c.Secure || c.Registry != ""
		if reg == "" {
			reg = host
		}
		kernel := ChainPath(repoOr(choice.Repo), choice.Ref)
		if choice.KernelRef != "" { // another chain's kernel and initramfs
			kernel = ChainPath(repoOr(choice.KernelRepo), choice.KernelRef)
		}
		fmt.Fprint(w, script(files, reg, secure, choice.Repo, choice.Ref, kernel, extra))
	})
	return mux
}

// machineOf reads and checks the second stage's query.
func machineOf(q url.Values) (Machine, error) {
	hw, err := net.ParseMAC(q.Get("mac"))
	if err != nil || len(hw) != 6 {
		return Machine{}, fmt.Errorf("mac %q: want six hex bytes", q.Get("mac"))
	}
	m := Machine{MAC: hw.String(), UUID: strings.ToLower(q.Get("uuid")), Serial: q.Get("serial"), Hostname: q.Get("hostname")}
	if m.UUID != "" && !uuidRE.MatchString(m.UUID) {
		return m, fmt.Errorf("uuid %q: want 8-4-4-4-12 hex digits", m.UUID)
	}
	for _, v := range []struct{ name, v string }{{"serial", m.Serial}, {"hostname", m.Hostname}} {
		if err := printable(v.v); err != nil {
			return m, fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return m, nil
}

func printable(s string) error {
	if len(s) > 128 || !utf8.ValidString(s) {
		return errors.New("at most 128 bytes of UTF-8")
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return errors.New("control character")
		}
	}
	return nil
}

// Script is the iPXE script that boots chain from the server at host
// (HOST:PORT, as the machine reached it), over plain HTTP.
func Script(host, repo, chain, extra string) string {
	return MachineScript("http://"+host, host, false, repo, chain, extra)
}

// MachineScript is the iPXE script that boots repo's chain ref (a tag or a
// digest) of the registry at HOST:PORT: the kernel and initramfs from the
// base URL files, the chain over HTTPS when secure, else over plain HTTP
// (mode.insecure). The kernel and initramfs are the chain's (ChainPath).
func MachineScript(files, registry string, secure bool, repo, ref, extra string) string {
	return script(files, registry, secure, repo, ref, ChainPath(repoOr(repo), ref), extra)
}

// script is MachineScript with the kernel and initramfs from files/kernel
// (a ChainPath: the chain's own, or the one a rule's kernel: names).
func script(files, registry string, secure bool, repo, ref, kernel, extra string) string {
	args := "initrd=initrd.img " + kernelArgs(registry, secure, repo, ref, extra)
	return fmt.Sprintf("#!ipxe\n"+
		"dhcp\n"+
		"kernel %[1]s/%[3]svmlinuz %[2]s\n"+
		"initrd --name initrd.img %[1]s/%[3]sinitrd.img\n"+
		"boot\n", files, args, kernel)
}

// kernelArgs is the kernel command line that boots repo's chain ref from
// the registry at HOST:PORT (over HTTPS when secure), with extra.
func kernelArgs(registry string, secure bool, repo, ref, extra string) string {
	repo = repoOr(repo)
	sep := ":"
	if strings.Contains(ref, ":") { // a digest
		sep = "@"
	}
	insecure := " mode.insecure"
	if secure {
		insecure = ""
	}
	return strings.TrimSpace(fmt.Sprintf("console=tty0 console=ttyS0 mode.ref=%s/%s%s%s%s %s", registry, repo, sep, ref, insecure, extra))
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

// repoOr is repo, or the default repository "mode".
func repoOr(repo string) string {
	if repo == "" {
		return "mode"
	}
	return repo
}
