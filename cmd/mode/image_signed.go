package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
)

// imageSigned puts the signed chain file on the medium of mode image when
// the store holds signatures of the chain (mode sign CHAIN), so that an
// initramfs trusting the key boots it from the medium.
func imageSigned(dir, chain string, im *media.Image, tmp string) error {
	s, err := store.Open(dir)
	if err != nil {
		return err
	}
	repo, d, sigs, err := trust.ChainSignatures(s, chain)
	if err != nil || len(sigs) == 0 {
		if err != nil {
			err = fmt.Errorf("image: %w", err)
		}
		return err
	}
	file, err := trust.WriteSigned(s, repo, string(d), tmp)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	if im.Files == nil {
		im.Files = map[string]string{}
	}
	im.Files[filepath.Base(file)] = file
	fmt.Fprintf(os.Stderr, "image: with the chain's signatures (%s)\n", filepath.Base(file))
	return nil
}
