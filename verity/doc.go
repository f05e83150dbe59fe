// Package verity computes dm-verity hash trees in Go, in the format
// veritysetup writes (format 1, SHA-256, 4096-byte blocks, salted, no
// superblock), appends them to layer files, and opens a layer through a
// dm-verity device with device-mapper ioctls, so that every block read is
// checked against a root hash the signed chain config carries.
package verity
