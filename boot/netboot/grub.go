package netboot

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// GRUB's side of netboot under UEFI Secure Boot: shim (signed by
// Microsoft) loads Debian's signed network GRUB by TFTP, whose
// configuration (mode netboot's grub/grub.cfg) sources /boot/grub.cfg from
// mode serve: the same choice as boot.ipxe, as GRUB commands. GRUB hands
// the kernel to shim, which verifies it against Debian's CA; iPXE is not
// signed, so a Secure Boot machine cannot run it.

// grubConfig serves /boot/grub.cfg?chain=CHAIN&mac=MAC: GRUB's $net_default_mac
// identifies the machine to Config.Choose (GRUB knows no SMBIOS UUID or
// serial to send).
func (c Config) grubConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	chain := q.Get("chain")
	if chain != "" && !chainName.MatchString(chain) {
		http.Error(w, fmt.Sprintf("grub.cfg: bad chain name %q", chain), http.StatusBadRequest)
		return
	}
	m, err := machineOf(q)
	if err != nil {
		http.Error(w, "grub.cfg: "+err.Error(), http.StatusBadRequest)
		return
	}
	host := c.Advertise
	if host == "" {
		host = r.Host
	}
	choice := &Choice{Repo: c.Repo, Ref: c.Chain}
	if chain != "" {
		choice.Ref = chain
	} else if c.Choose != nil {
		ch, err := c.Choose(m)
		if err != nil {
			http.Error(w, "grub.cfg: "+err.Error(), http.StatusNotFound)
			return
		}
		if ch != nil {
			choice = ch
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if choice.Local {
		fmt.Fprintf(w, "echo 'mode: %s boots from its local disk'\nexit\n", m.MAC)
		return
	}
	if !chainName.MatchString(choice.Ref) && !strings.Contains(choice.Ref, ":") {
		http.Error(w, fmt.Sprintf("grub.cfg: no chain (give ?chain=NAME, serve --boot-chain or a site file); bad name %q", choice.Ref), http.StatusBadRequest)
		return
	}
	extra := strings.TrimSpace(c.Append + " " + choice.Args)
	if c.Token != nil {
		if t := c.Token(m.MAC); t != "" {
			extra = strings.TrimSpace("mode.report=" + t + " " + extra)
		}
	}
	// GRUB speaks plain HTTP only: the kernel and initramfs from the
	// plain-HTTP files URL (a TLS site's --boot-addr), the chain as boot.ipxe's.
	files := c.Files
	if files == "" {
		files = "http://" + host
	}
	dev, ok := strings.CutPrefix(files, "http://")
	if !ok || strings.ContainsAny(dev, "/,()") {
		http.Error(w, fmt.Sprintf("grub.cfg: GRUB fetches over plain HTTP from a HOST:PORT; the files are at %q", files), http.StatusBadRequest)
		return
	}
	reg, secure := c.Registry, c.Secure || c.Registry != ""
	if reg == "" {
		reg = host
	}
	args := kernelArgs(reg, secure, choice.Repo, choice.Ref, extra)
	fmt.Fprint(w, GrubScript("(http,"+dev+")", args))
}

// GrubScript is the GRUB commands that boot the kernel and initramfs under
// /boot of the GRUB device dev ((http,HOST:PORT)) with the kernel
// command line args.
func GrubScript(dev, args string) string {
	return fmt.Sprintf("echo 'mode: loading the kernel from %[1]s'\nlinux %[1]s/boot/vmlinuz %[2]s\ninitrd %[1]s/boot/initrd.img\nboot\n",
		dev, grubQuote(args))
}

// grubWord is a kernel parameter GRUB's parser takes as it is.
var grubWord = regexp.MustCompile(`^[A-Za-z0-9._:/=,@+%-]+$`)

// grubQuote quotes each word of args that GRUB's shell-like parser would
// change ($, quotes, ;, spaces) in single quotes; a quote inside closes
// them, comes escaped by a backslash, and opens them again.
func grubQuote(args string) string {
	words := strings.Fields(args)
	for i, w := range words {
		if !grubWord.MatchString(w) {
			words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

// kernelArgs is the kernel command line of a netboot of repo's chain ref (a
// tag or a digest) from the registry at HOST:PORT: over HTTPS when secure,
// else plain HTTP (mode.insecure).
func kernelArgs(registry string, secure bool, repo, ref, extra string) string {
	if repo == "" {
		repo = "mode"
	}
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
