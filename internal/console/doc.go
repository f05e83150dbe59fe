// Package console gives a guest's serial console to the user's terminal:
// mode, not QEMU, owns the terminal. It puts the terminal in raw mode, hands
// what the user types to QEMU over a pipe (Ctrl-a x leaves instead), and puts
// the terminal's modes back when the console ends, so QEMU never touches the
// terminal and job control never stops it (docs/boot.md, "The console").
package console
