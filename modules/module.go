package modules

import "fmt"

// Module is one module file, NAME.yaml: one squashfs layer over its parent.
// A base module has Bootstrap or From and no Parent; every other module has a
// Parent. Steps run in a fixed order: Files, Remove, Packages, Run.
type Module struct {
	Name      string     `yaml:"name" json:"name"`
	Parent    string     `yaml:"parent,omitempty" json:"parent,omitempty"`
	Arch      string     `yaml:"arch,omitempty" json:"arch,omitempty"` // pins the chain to an architecture (Arches)
	Bootstrap *Bootstrap `yaml:"bootstrap,omitempty" json:"bootstrap,omitempty"`
	From      *From      `yaml:"from,omitempty" json:"from,omitempty"`
	Files     []File     `yaml:"files,omitempty" json:"files,omitempty"`
	Remove    []string   `yaml:"remove,omitempty" json:"remove,omitempty"`
	Packages  []string   `yaml:"packages,omitempty" json:"packages,omitempty"`
	Run       []string   `yaml:"run,omitempty" json:"run,omitempty"`
	Exclude   []string   `yaml:"exclude,omitempty" json:"exclude,omitempty"`

	// Path is the module file this module was read from.
	Path string `yaml:"-" json:"-"`
	// Dir is the hierarchy directory; Files sources and From paths are relative to it.
	Dir string `yaml:"-" json:"-"`
	// Lines maps the keys and list items of the module file ("run[2]",
	// "packages", "files[0].dst") to their line, for errors at build time.
	Lines map[string]int `yaml:"-" json:"-"`
}

// At names where key is in the module file: "FILE:LINE", or FILE alone when
// the key is not there.
func (m *Module) At(key string) string {
	if n := m.Lines[key]; n > 0 {
		return fmt.Sprintf("%s:%d", m.Path, n)
	}
	return m.Path
}

// Bootstrap makes a base module's root tree with a bootstrapper.
type Bootstrap struct {
	Tool         string   `yaml:"tool,omitempty" json:"tool,omitempty"` // mmdebstrap (default) or debootstrap
	Suite        string   `yaml:"suite" json:"suite"`
	Variant      string   `yaml:"variant,omitempty" json:"variant,omitempty"` // minbase by default
	Include      []string `yaml:"include,omitempty" json:"include,omitempty"`
	Components   []string `yaml:"components,omitempty" json:"components,omitempty"`
	Architecture string   `yaml:"architecture,omitempty" json:"architecture,omitempty"`
	Mirror       string   `yaml:"mirror,omitempty" json:"mirror,omitempty"` // the host's apt sources by default
}

// From takes a base module's root tree from something that exists: exactly one
// of a directory, a tar archive or a squashfs image, relative to the hierarchy
// (and inside it), or, written so on purpose, an absolute path.
// Host lists absolute paths of build-host files copied into the tree at the
// same path, links followed (examples/tiny takes the host's busybox-static and
// mksquashfs with its libraries that way).
type From struct {
	Dir      string   `yaml:"dir,omitempty" json:"dir,omitempty"`
	Tar      string   `yaml:"tar,omitempty" json:"tar,omitempty"`
	Squashfs string   `yaml:"squashfs,omitempty" json:"squashfs,omitempty"`
	Host     []string `yaml:"host,omitempty" json:"host,omitempty"`
	// Foreign stands in for Host when the build is for another architecture
	// than the host's: Debian packages of that architecture, unpacked.
	Foreign *Foreign `yaml:"foreign,omitempty" json:"foreign,omitempty"`
}

// Foreign names Debian packages unpacked into a from tree (their files, no
// maintainer scripts: mmdebstrap's extract variant) when the build is for
// another architecture than the host's, where from.host files would be of
// the wrong one: examples/tiny takes busybox-static of arm64 so.
type Foreign struct {
	Suite    string   `yaml:"suite,omitempty" json:"suite,omitempty"` // the host's codename by default
	Packages []string `yaml:"packages" json:"packages"`
}

// File copies Src (a file or a directory, relative to the hierarchy) to Dst (an
// absolute path in the module's root). Mode, when set, is octal: "0644".
type File struct {
	Src  string `yaml:"src" json:"src"`
	Dst  string `yaml:"dst" json:"dst"`
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// ConfigOnly reports whether m's only steps are files: its layer does not depend
// on its parent's content, so its cache key omits the parent's key.
func (m *Module) ConfigOnly() bool {
	return m.Parent != "" && len(m.Files) > 0 &&
		len(m.Remove) == 0 && len(m.Packages) == 0 && len(m.Run) == 0
}
