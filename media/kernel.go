package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// KernelVersion reads the version (uname -r) of an x86 bzImage from its
// setup header, without running or unpacking it.
func KernelVersion(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return "", fmt.Errorf("kernel %s: not a bzImage: %w", file, err)
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("kernel %s: not an x86 bzImage (no HdrS setup header)", file)
	}
	off := int64(binary.LittleEndian.Uint16(hdr[0x20e:])) + 0x200
	buf := make([]byte, 256)
	n, _ := f.ReadAt(buf, off)
	s := buf[:n]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	v, _, _ := strings.Cut(string(s), " ")
	if v == "" {
		return "", fmt.Errorf("kernel %s: no version string", file)
	}
	return v, nil
}
