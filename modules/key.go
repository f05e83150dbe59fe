package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// keyVersion changes whenever what goes into a key changes, so old layers are
// rebuilt rather than wrongly reused.
const keyVersion = "mode-key-v1"

// Key returns name's cache key, "sha256:<hex>", over: the key version, salt
// (the Builder passes the compression), the module's canonical JSON, the
// bytes, modes and names of every file its files entries copy, a base's from
// tree or file and from.host files, and the keys of its ancestors. A config-only module
// (Module.ConfigOnly) leaves out its ancestors' keys: its layer does not
// depend on their content. Keys are memoized per Hierarchy and salt: edit the
// files, then Load again. Key is KeyFor DefaultArch.
func (h *Hierarchy) Key(name, salt string) (string, error) {
	return h.KeyFor(name, salt, DefaultArch)
}

// KeyFor is name's cache key for a build for arch. Another architecture
// than DefaultArch is recorded in the key (DefaultArch's keys are as they
// were before there were others). A base's from.host files count only for
// a build for the host's architecture, from.foreign only for another: the
// side a build does not use is left out of the definition hashed.
func (h *Hierarchy) KeyFor(name, salt, arch string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.key(name, salt, arch)
}

func (h *Hierarchy) key(name, salt, arch string) (string, error) {
	memo := salt + "\x00" + arch
	if k, ok := h.keys[memo][name]; ok {
		return k, nil
	}
	chain, err := h.Chain(name)
	if err != nil {
		return "", err
	}
	m := chain[len(chain)-1]
	d := sha256.New()
	record(d, "version", keyVersion)
	record(d, "salt", salt)
	if arch != DefaultArch {
		record(d, "arch", arch)
	}
	foreign := arch != HostArch()
	def, err := json.Marshal(forArch(m, foreign))
	if err != nil {
		return "", fmt.Errorf("module %s: %w", name, err)
	}
	record(d, "module", string(def))
	for i, f := range m.Files {
		record(d, "files", fmt.Sprint(i))
		if err := hashTree(d, resolve(m.Dir, f.Src), false); err != nil {
			return "", fmt.Errorf("module %s: files[%d] %s: %w", name, i, f.Src, err)
		}
	}
	if f := m.From; f != nil {
		record(d, "from", f.Dir+f.Tar+f.Squashfs)
		if err := hashTree(d, resolve(m.Dir, f.Dir+f.Tar+f.Squashfs), true); err != nil {
			return "", fmt.Errorf("module %s: from: %w", name, err)
		}
		for _, host := range forArch(m, foreign).From.Host {
			record(d, "host", host)
			if err := hashTree(d, host, true); err != nil { // copied as what the link names
				return "", fmt.Errorf("module %s: from host: %w", name, err)
			}
		}
	}
	if !m.ConfigOnly() {
		// Every ancestor, not only the parent: a config-only ancestor's key
		// does not carry the keys above it, but this layer depends on them.
		for _, a := range chain[:len(chain)-1] {
			k, err := h.key(a.Name, salt, arch)
			if err != nil {
				return "", err
			}
			record(d, "ancestor", a.Name+" "+k)
		}
	}
	k := "sha256:" + hex.EncodeToString(d.Sum(nil))
	if h.keys == nil {
		h.keys = map[string]map[string]string{}
	}
	if h.keys[memo] == nil {
		h.keys[memo] = map[string]string{}
	}
	h.keys[memo][name] = k
	return k, nil
}

// forArch is m as a build uses it: without from.foreign for the host's
// architecture, without from.host for another.
func forArch(m *Module, foreign bool) *Module {
	if m.From == nil {
		return m
	}
	c, f := *m, *m.From
	if foreign {
		f.Host = nil
	} else {
		f.Foreign = nil
	}
	c.From = &f
	return &c
}

// record writes a labelled, length-prefixed value, so no two sequences of
// records hash alike.
func record(w io.Writer, label, value string) {
	fmt.Fprintf(w, "%s %d %s\n", label, len(value), value)
}

// hashTree writes root to d: a file's mode and bytes, or for a directory
// every entry under it by relative path, type, mode, symlink target and
// content. Symlinks are hashed as links (as the files step copies them),
// except root itself when follow is set (as a from dir is read).
func hashTree(d hash.Hash, root string, follow bool) error {
	if follow {
		resolved, err := filepath.EvalSymlinks(root)
		if err != nil {
			return err
		}
		root = resolved
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return hashEntry(d, root, ".", fi)
	}
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return hashEntry(d, p, filepath.ToSlash(rel), info)
	})
}

// hashEntry writes one entry: path, type, permission bits, then a symlink's
// target or a regular file's bytes.
func hashEntry(d hash.Hash, p, rel string, fi fs.FileInfo) error {
	mode := fi.Mode()
	record(d, "path", rel)
	record(d, "type", mode.Type().String())
	record(d, "perm", fmt.Sprintf("%o", mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)))
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		record(d, "target", target)
	case mode.IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(d, "content %d\n", fi.Size())
		n, err := io.Copy(d, f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if n != fi.Size() {
			return fmt.Errorf("%s: changed while hashing", p)
		}
	}
	return nil
}
