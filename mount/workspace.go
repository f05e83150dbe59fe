package mount

import (
	"path/filepath"
	"strconv"
)

// WorkspaceOf is Workspace over layers as they come: a layer with a File
// and no Target is mounted at dir/l/N, a Mounted one (a directory, such as
// a parent's finished tree) is used where it is.
func WorkspaceOf(ls []Layer, dir string) Plan {
	p := Workspace(nil, dir)
	for i, l := range ls {
		if !l.Mounted && l.Target == "" {
			l.Target = filepath.Join(dir, "l", strconv.Itoa(i))
		}
		p.Layers = append(p.Layers, l)
	}
	p.Lower = lowerOf(p.Layers, filepath.Join(dir, "lower"))
	return p
}
