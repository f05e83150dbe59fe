// Package layers handles squashfs layers: mounts as values, loop and overlay
// mounting of a chain, squashing an overlay upper directory with mksquashfs
// (whiteouts and opaque directories kept, no-op copy-ups pruned), saving a
// running system's live upper without changing or copying it (PlanClean,
// SquashPlan, SaveChanges), and reading layers without mounting. Meta is the
// metadata that travels beside a layer; Booted is what a booted system runs.
package layers
