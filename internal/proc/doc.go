// Package proc starts the tools mode runs (mksquashfs, unsquashfs, cp, tar,
// mmdebstrap) so that they die with mode: each gets SIGKILL when mode dies,
// however it dies, and a killed build leaves no child writing on.
package proc
