// Package layers is the data every part of mode shares about layers: a
// layer's metadata (Meta, written beside it by WriteMeta, digested by
// FileDigest), the chain a system booted (Booted) and the /run/mode paths
// where it lives, the parent check of saved layers (CheckParents, SavedMeta).
// It does no mounting and builds on any GOOS; mounting is package mount,
// reading and writing squashfs images package squashfs.
package layers
