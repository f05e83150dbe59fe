package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mode-build/mode/boot/qemu"
)

// initFailed starts the line the init prints when a boot step fails, just
// before its rescue shell: "mode-init: FAILED at STEP: REASON".
const initFailed = "mode-init: FAILED"

// watchInitFailure makes w fail as soon as the init fails, rather than at
// its timeout, when it expects a text that is not itself part of what a
// failed init prints.
func watchInitFailure(w *qemu.Watch) {
	if w.Expect == "" || strings.Contains(w.Expect, "FAILED") || strings.Contains(w.Expect, "rescue") {
		return
	}
	w.Fail = append(w.Fail, initFailed)
}

// initFailure turns the error of a run that ended at the init's failure
// into that failure line; other errors are returned as they are.
func initFailure(res *qemu.Result, err error) error {
	if !errors.Is(err, qemu.ErrFailed) || res == nil || res.Matched != initFailed {
		return err
	}
	for _, l := range strings.Split(res.Console, "\n") {
		if i := strings.Index(l, initFailed); i >= 0 {
			return fmt.Errorf("boot: %s (after %.1fs)", strings.TrimSpace(l[i:]), res.Elapsed.Seconds())
		}
	}
	return err
}
