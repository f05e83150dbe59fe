package modeinit

import (
	"os"
	"path/filepath"

	"github.com/mode-build/mode/boot/lazy"
)

// Called reports whether this process is to be mode's init: the kernel ran it
// as /init (the mode binary is the init: one multi-call binary in the
// initramfs, /init a link to /bin/mode), or it is the init's boot-steps child,
// or a lazy server (boot/lazy: of the init's, or of mode activate).
// cmd/mode and cmd/mode-init call Main when it does.
func Called() bool {
	return filepath.Base(os.Args[0]) == "init" || os.Getenv(stageEnv) != "" || lazy.Called()
}
