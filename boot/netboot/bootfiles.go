package netboot

import "context"

// BootFiles returns the kernel and initramfs files chain repo:ref (a tag or
// a digest) boots with — the ones /boot/chain/REPO/REF/ serves: its own
// kernel and an initramfs of its modules when the chain carries a kernel,
// else the server's. mode serve's install images put these on the disk.
func (c Config) BootFiles(ctx context.Context, repo, ref string) (kernel, initrd string, err error) {
	return chainFiles(ctx, c, repo, ref)
}
