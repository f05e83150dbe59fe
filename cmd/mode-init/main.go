// Command mode-init is mode's init alone, for an initramfs that carries it
// apart from mode (mode initramfs --init). The mode binary is the init too:
// run as /init, it runs this (docs/boot.md).
package main

import modeinit "github.com/mode-build/mode/boot/init"

func main() { modeinit.Main() }
