package modules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// validName is what a module name may be: no '-', which joins chains in file names.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]*$`)

// validMode is an octal file mode: "0644", "644", "4755".
var validMode = regexp.MustCompile(`^[0-7]{3,4}$`)

// Tools are the bootstrappers a base module may name; the first is the default.
var Tools = []string{"mmdebstrap", "debootstrap"}

// check reports the faults of one module on its own.
func (p *parsed) check() []error {
	m := p.m
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, p.errorf(key, format, args...)) }

	switch {
	case m.Name == "":
		add("name", `missing "name" (this file must say name: %s)`, p.stem)
	case strings.Contains(m.Name, "-"):
		add("name", "name %q contains '-': MoDe file names join a chain's names with '-', so a '-' would make them ambiguous (use '_' or '.')", m.Name)
	case !validName.MatchString(m.Name):
		add("name", "name %q: want lower-case letters, digits, '_' and '.', starting with a letter or digit", m.Name)
	}
	if m.Name != "" && m.Name != p.stem {
		add("name", "name %q differs from the file name: %s must say name: %s",
			m.Name, filepath.Base(m.Path), p.stem)
	}

	base := m.Bootstrap != nil || m.From != nil
	switch {
	case m.Bootstrap != nil && m.From != nil:
		add("from", `both "bootstrap" and "from": a base module takes its root tree from one of them`)
	case base && m.Parent != "":
		add("parent", "parent %q: a base module (with bootstrap or from) has no parent", m.Parent)
	case !base && m.Parent == "":
		add("parent", `no "parent": a module needs a parent, or bootstrap or from to be a base`)
	}
	if m.Arch != "" {
		if err := CheckArch(m.Arch); err != nil {
			add("arch", "arch: %v", err)
		}
	}
	if b := m.Bootstrap; b != nil {
		if b.Architecture != "" && m.Arch != "" && b.Architecture != m.Arch {
			add("bootstrap.architecture", "bootstrap architecture %q differs from the module's arch %q", b.Architecture, m.Arch)
		}
		if b.Suite == "" {
			add("bootstrap", `bootstrap without "suite" (e.g. suite: bookworm)`)
		}
		if b.Tool != "" && b.Tool != Tools[0] && b.Tool != Tools[1] {
			add("bootstrap.tool", "bootstrap tool %q: want %s", b.Tool, strings.Join(Tools, " or "))
		}
	}
	if f := m.From; f != nil {
		errs = append(errs, p.checkFrom(f)...)
	}
	for i, f := range m.Files {
		errs = append(errs, p.checkFile(i, f)...)
	}
	for i, pat := range m.Exclude {
		at := fmt.Sprintf("exclude[%d]", i)
		if !strings.HasPrefix(pat, "/") {
			add(at, "exclude %q: want an absolute path pattern in the layer, like /var/log/*.log", pat)
		} else if _, err := path.Match(pat, pat); err != nil {
			add(at, "exclude %q: %v (path.Match syntax: *, ?, [a-z], \\ quotes)", pat, err)
		}
	}
	return errs
}

// checkFrom reports a from that names zero or several sources, or a missing one.
func (p *parsed) checkFrom(f *From) []error {
	var set []string
	for _, s := range [][2]string{{"dir", f.Dir}, {"tar", f.Tar}, {"squashfs", f.Squashfs}} {
		if s[1] != "" {
			set = append(set, s[0])
		}
	}
	if len(set) != 1 {
		return []error{p.errorf("from", "from names %d sources (%s): want exactly one of dir, tar, squashfs",
			len(set), strings.Join(set, ", "))}
	}
	key, src := "from."+set[0], f.Dir+f.Tar+f.Squashfs
	errs := p.checkHost(f.Host)
	if fo := f.Foreign; fo != nil && len(fo.Packages) == 0 {
		errs = append(errs, p.errorf("from.foreign", "from foreign names no packages (e.g. packages: [busybox-static])"))
	}
	fi, err := os.Stat(resolve(p.m.Dir, src))
	if !filepath.IsAbs(src) {
		if werr := within(p.m.Dir, src); werr != nil {
			err = werr
			if !errors.Is(werr, fs.ErrNotExist) {
				err = fmt.Errorf("%w; a source outside the hierarchy must be written as an absolute path", werr)
			}
		}
	}
	switch {
	case err != nil:
		errs = append(errs, p.errorf(key, "from %s %q: %v", set[0], src, unwrapPath(err)))
	case set[0] == "dir" && !fi.IsDir():
		errs = append(errs, p.errorf(key, "from dir %q is not a directory", src))
	case set[0] != "dir" && !fi.Mode().IsRegular():
		errs = append(errs, p.errorf(key, "from %s %q is not a regular file", set[0], src))
	}
	return errs
}

// checkHost reports from.host entries that are not absolute or do not exist on the build host.
func (p *parsed) checkHost(host []string) []error {
	var errs []error
	for i, h := range host {
		at := fmt.Sprintf("from.host[%d]", i)
		if !filepath.IsAbs(h) {
			errs = append(errs, p.errorf(at, "from host %q: want an absolute path on the build host", h))
		} else if _, err := os.Stat(h); err != nil {
			errs = append(errs, p.errorf(at, "from host %q: %v", h, unwrapPath(err)))
		}
	}
	return errs
}

// checkFile reports a files entry with a missing or escaping src, a relative
// dst or a mode that is not octal.
func (p *parsed) checkFile(i int, f File) []error {
	var errs []error
	at := fmt.Sprintf("files[%d]", i)
	switch {
	case f.Src == "":
		errs = append(errs, p.errorf(at, `%s: missing "src"`, at))
	case filepath.IsAbs(f.Src):
		errs = append(errs, p.errorf(at+".src", "%s: src %q: want a path relative to the hierarchy directory", at, f.Src))
	default:
		if err := within(p.m.Dir, f.Src); err != nil {
			errs = append(errs, p.errorf(at+".src", "%s: src %q: %v", at, f.Src, err))
		}
	}
	if !path.IsAbs(f.Dst) {
		errs = append(errs, p.errorf(at+".dst", "%s: dst %q: want an absolute path in the module's root, like /etc/motd", at, f.Dst))
	}
	if f.Mode != "" && !validMode.MatchString(f.Mode) {
		errs = append(errs, p.errorf(at+".mode", `%s: mode %q: want an octal string like "0644"`, at, f.Mode))
	}
	return errs
}

// resolve returns the host path of p, relative to the hierarchy directory
// dir unless absolute (only a from source may be: Load refuses the others).
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Source returns the host path of p, a files src or from source of m:
// relative to the hierarchy directory, or absolute (from only).
func (m *Module) Source(p string) string { return resolve(m.Dir, p) }

// within reports an error when src does not exist or, after cleaning and
// resolving symlinks, lies outside the hierarchy directory dir.
func within(dir, src string) error {
	resolved, err := filepath.EvalSymlinks(resolve(dir, src))
	if err != nil {
		return unwrapPath(err)
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if resolved, err = filepath.Abs(resolved); err != nil {
		return err
	}
	if root, err = filepath.Abs(root); err != nil {
		return err
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("escapes the hierarchy directory %s (resolves to %s)", dir, resolved)
	}
	return nil
}

// unwrapPath drops the path from an *os.PathError: the caller names it already.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
