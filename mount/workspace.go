package mount

import (
	"errors"
	"fmt"
	"os"
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

// OpenWorkspaceOf is OpenWorkspace over layers (WorkspaceOf).
func OpenWorkspaceOf(ls []Layer, scratch, prefix string) (*Stack, error) {
	if len(ls) == 0 {
		return nil, errors.New("workspace: no parent layers")
	}
	dir, err := os.MkdirTemp(scratch, prefix)
	if err != nil {
		return nil, err
	}
	s, err := Open(WorkspaceOf(ls, dir))
	if err != nil {
		os.RemoveAll(dir) // Open unmounted everything
		return nil, fmt.Errorf("workspace: %w", err)
	}
	return s, nil
}
