package squashfs

import "io"

// InspectAt is Inspect of the image r of size bytes (a file, or a blob
// read by ranges): it reads the superblock and every metadata table a walk
// of all directories needs, and no file's data.
func InspectAt(r io.ReaderAt, size int64) ([]Entry, error) {
	return inspect(r, size)
}
