//go:build !linux

package store

import (
	"errors"
	"os"
)

// reflink is Linux's FICLONE; elsewhere the caller copies.
func reflink(out, in *os.File) error { return errors.ErrUnsupported }
