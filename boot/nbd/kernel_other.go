//go:build !linux

package nbd

import (
	"errors"
	"os"
	"time"
)

// BlockSize is the device's logical block size: dm-verity's.
const BlockSize = 4096

// Device is a /dev/nbdN attached to a server (Linux only).
type Device struct{ Path string }

// Attach is Linux only.
func Attach(sock *os.File, size int64) (*Device, error) {
	return nil, errors.New("nbd: Linux only")
}

// Wait is Linux only.
func (d *Device) Wait() error { return nil }

// Disconnect is Linux only.
func (d *Device) Disconnect(timeout time.Duration) error { return nil }
