// Package layers handles squashfs layers: mounts as values, loop and overlay
// mounting of a chain, squashing an overlay upper directory with mksquashfs
// (whiteouts and opaque directories kept, no-op copy-ups pruned), and reading
// layers without mounting. Meta is the metadata that travels beside a layer.
package layers
