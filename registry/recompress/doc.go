// Package recompress makes a chain of the store again with another squashfs
// compression (xz or zstd:19 for what a large fleet downloads): each layer
// squashed anew from its mount, its verity tree appended again, and the
// chain's metadata rewritten to the new digests, stored under a tag of its own.
package recompress
