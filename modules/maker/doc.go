// Package maker makes layers for real: it implements modules.Maker by mounting
// a module's parent chain under an empty upper directory (mount), running the
// module's steps in it (chroot), cleaning the upper diff (clean) and squashing
// it (squashfs). As a modules.TreeMaker it hands the cleaned tree over
// before squashing it, for pipelined builds; a child then mounts that
// directory as an overlayfs lower.
package maker
