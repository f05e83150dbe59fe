// Package lazy is the lazy server: a process that maps registry blobs
// (layers with dm-verity data) to NBD devices whose reads fetch byte ranges
// on demand (HTTP Range), fills them in the background at a bounded rate and
// keeps its progress in a status file of the run directory
// (layers.LazyStatus). The init starts one for a lazy boot's chain
// (mode.lazy=on); mode activate starts one per module it activates lazily,
// which SIGUSR1 takes down (Spec.Stop). The server is a re-exec of the
// calling binary (Start): a binary that calls Start must call Main when
// Called says so (modeinit.Main does). See docs/boot.md, "Lazy boot".
package lazy
