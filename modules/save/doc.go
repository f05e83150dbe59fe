// Package save saves changes as a layer: a booted system's live upper
// directory (SaveChanges, without changing or copying it) or a shell
// workspace's (SaveWorkspace), cleaned as a build cleans and recorded with
// the digests of the chain below it, so it never mounts over another.
package save
