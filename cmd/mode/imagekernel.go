package main

import (
	"context"

	"github.com/mode-build/mode/media"
)

// chainKernelFiles is a kernel found in a chain, unpacked into a temporary
// directory: the image and the modules directory.
type chainKernelFiles struct {
	Vmlinuz string
	Modules string
}

// chainKernel finds the kernel of the chain of im: /boot/vmlinuz-* with its
// /lib/modules/VERSION. It returns nil when the chain has none.
func chainKernel(ctx context.Context, im *media.Image, tmp string) (*chainKernelFiles, error) {
	return nil, nil
}
