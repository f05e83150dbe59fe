// Package remote moves chains between a registry and this machine: Push
// writes any Source of a chain (a chain of the store, layer files) to a
// registry, Pull fetches one with parallel, resumable, verified downloads.
// Both are silent unless given a logger, and report progress as Events.
package remote
