package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
)

// signedMark returns the mode tree note of a module whose chain the store
// at dir holds signed: "signed (N)", N signatures of its current manifest
// (mode verify CHAIN --key says by whom).
func signedMark(dir string) func(string) string {
	none := func(string) string { return "" }
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return none // no store: mode tree creates none
	}
	s, err := store.Open(dir)
	if err != nil {
		return none
	}
	return func(module string) string {
		_, _, sigs, err := trust.ChainSignatures(s, module)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNotChain): // no chain of that name
			return ""
		case err != nil:
			return "signature unreadable: " + err.Error()
		case len(sigs) == 0:
			return ""
		}
		return fmt.Sprintf("signed (%d)", len(sigs))
	}
}
