// Package squashfs writes and reads mode's layer files. Writing goes through
// mksquashfs (Squash, SquashProgress, SquashFiltered for a save's upper
// directory without copying it, Pack, Recompress), always to a temporary name
// renamed when whole; the compression is layers.ParseCompression's
// NAME[:LEVEL]. Reading is pure Go (CalebQ42/squashfs and this package's own
// bounds checks): Inspect lists a layer's entries without mounting it or
// being root, and StripOverlayXattrs rewrites an image's xattr table and
// inodes in place to drop overlayfs' private xattrs, which mksquashfs 4.5
// cannot leave out itself. It imports layers, mount (Recompress reads a layer
// from its read-only mount) and internal/proc, nothing of mode above them.
package squashfs
