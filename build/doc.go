// Package build makes layers for real: it implements modules.Maker by mounting
// a module's parent chain under an empty upper directory (layers), running the
// module's steps in it (chroot) and squashing the upper diff (layers).
package build
