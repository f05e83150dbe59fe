package mount

import (
	"fmt"
	"strings"
)

// Mount is one mount as a value: what mount(2) gets. Values can be computed
// and compared without a syscall; Mount() performs them (mount_linux.go).
type Mount struct {
	Type   string
	Source string
	Target string
	Flags  uintptr
	Data   string // the option string: "lowerdir=…,upperdir=…"
}

func (m Mount) String() string {
	s := fmt.Sprintf("mount -t %s %s %s", m.Type, m.Source, m.Target)
	if m.Data != "" {
		s += " -o " + m.Data
	}
	return s
}

// Overlay is the overlayfs mount of lowers (top first, as overlayfs wants
// them) under upper, with work as its work directory. With no upper it is a
// read-only merge of the lowers. Redirects, metacopy and the index are off,
// so the upper holds whole files and plain whiteouts that any kernel mounts.
func Overlay(lowers []string, upper, work, target string) Mount {
	opts := []string{"lowerdir=" + strings.Join(escapeAll(lowers), ":")}
	if upper != "" {
		opts = append(opts, "upperdir="+escape(upper), "workdir="+escape(work))
	}
	opts = append(opts, "redirect_dir=off", "metacopy=off", "index=off", "xino=off")
	return Mount{Type: "overlay", Source: "overlay", Target: target, Data: strings.Join(opts, ",")}
}

// escape protects the characters overlayfs splits options on.
func escape(p string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`).Replace(p)
}

func escapeAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = escape(p)
	}
	return out
}
