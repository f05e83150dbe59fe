// Package activate adds a module to a running system booted by mode, and
// takes it away again, on overlayfs (mode activate / mode deactivate).
//
// overlayfs cannot change the layers of a mounted overlay, so each top-level
// directory a module touches (/usr, /etc, …) gets an overlay of its own over
// the root's: the module's directory above the booted layers' same
// directory, under the root's own upper directory's same subdirectory. What
// a path shows is then what a boot with the module would show (same layers,
// same upper), writes land where they would have landed, and deactivating
// unmounts that overlay (or re-merges it without the module), keeping the
// user's changes. The Debian package status is merged from each module's
// diff against its parent. See docs/activate.md.
package activate
