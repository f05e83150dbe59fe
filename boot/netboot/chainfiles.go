package netboot

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mode-build/mode/registry/store"
	digest "github.com/opencontainers/go-digest"
)

// ChainPath is the path (without the leading "/", ending in "/") under
// which the kernel and initramfs of repo's chain ref (a tag or a digest)
// are served: boot/chain/REPO/REF/, followed by vmlinuz or initrd.img.
func ChainPath(repo, ref string) string {
	return "boot/chain/" + repo + "/" + ref + "/"
}

// parseChainPath splits what follows /boot/chain/ into the repository, the
// tag or digest and the file, each checked.
func parseChainPath(p string) (repo, ref, file string, err error) {
	i := strings.LastIndex(p, "/")
	j := strings.LastIndex(p[:max(i, 0)], "/")
	if i < 0 || j < 0 {
		return "", "", "", fmt.Errorf("%q: want REPO/TAG-or-DIGEST/vmlinuz or initrd.img", p)
	}
	repo, ref, file = p[:j], p[j+1:i], p[i+1:]
	switch {
	case file != "vmlinuz" && file != "initrd.img":
		return "", "", "", fmt.Errorf("file %q: want vmlinuz or initrd.img", file)
	case !store.ValidRepository(repo):
		return "", "", "", fmt.Errorf("repository %q: not a repository name", repo)
	case strings.Contains(ref, ":"):
		if err := store.CheckDigest(digest.Digest(ref)); err != nil {
			return "", "", "", fmt.Errorf("digest %q: %w", ref, err)
		}
	case !store.ValidTag(ref):
		return "", "", "", fmt.Errorf("tag %q: not a tag", ref)
	}
	return repo, ref, file, nil
}

// serveChainFile serves /boot/chain/REPO/REF/FILE: the chain's own kernel
// or initramfs (Config.Chains), else the server's.
func serveChainFile(c Config) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		repo, ref, file, err := parseChainPath(r.PathValue("path"))
		if err != nil {
			http.Error(w, "boot: "+err.Error(), http.StatusBadRequest)
			return
		}
		if c.Chains == nil {
			f := c.Kernel
			if file == "initrd.img" {
				f = c.Initrd
			}
			serveFile(f)(w, r)
			return
		}
		p, err := c.Chains.Path(r.Context(), repo, ref, file)
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, store.ErrNotFound) {
				code = http.StatusNotFound
			}
			http.Error(w, "boot: "+err.Error(), code)
			return
		}
		http.ServeFile(w, r, p)
	}
}
