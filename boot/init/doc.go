// Package modeinit is PID 1 of mode's initramfs: the mode binary run as /init
// (cmd/mode calls Main when Called says so; cmd/mode-init is the init alone).
// It mounts the kernel's file systems, loads the kernel modules it needs,
// brings the network up, fetches a chain of squashfs layers (from a registry,
// a cache disk or local media), stacks them as an overlay under a tmpfs upper
// directory and switches root to the chain's init. The network drivers load
// first; the other kernel modules and DHCP then run in the background, beside
// the steps that do not need them. Every step is logged to the console with
// its duration; any failure prints the failing step and its cause and starts
// a rescue shell.
//
// Boot parameters are documented in docs/boot.md.
package modeinit
