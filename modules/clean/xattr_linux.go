package clean

import (
	"bytes"
	"errors"
	"maps"
	"strings"

	"golang.org/x/sys/unix"
)

// listXattrs lists the extended attribute names of p (not following links).
func listXattrs(p string) ([]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range bytes.Split(buf[:size], []byte{0}) {
		if len(n) > 0 {
			names = append(names, string(n))
		}
	}
	return names, nil
}

// getXattr returns the value of p's attribute name, "" when it has none.
func getXattr(p, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}

// xattrs returns p's attributes but overlayfs' own.
func xattrs(p string) (map[string]string, error) {
	names, err := listXattrs(p)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, n := range names {
		if strings.HasPrefix(n, "trusted.overlay.") {
			continue
		}
		v, err := getXattr(p, n)
		if err != nil {
			return nil, err
		}
		m[n] = v
	}
	return m, nil
}

func sameXattrs(a, b string) (bool, error) {
	xa, err := xattrs(a)
	if err != nil {
		return false, err
	}
	xb, err := xattrs(b)
	if err != nil {
		return false, err
	}
	return maps.Equal(xa, xb), nil
}
