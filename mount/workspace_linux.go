package mount

import (
	"errors"
	"fmt"
	"os"
)

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
		if rerr := RemoveUnmounted(dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("workspace: %w", err)
	}
	return s, nil
}
