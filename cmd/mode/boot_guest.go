package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/mode-build/mode/boot/qemu"
)

// registryRef reports whether arg is a registry reference
// (HOST[:PORT]/REPO…, HOST holding a dot or a port, or localhost) rather
// than a chain of the local store.
func registryRef(arg string) bool {
	host, _, hasSlash := strings.Cut(arg, "/")
	return hasSlash && (strings.ContainsAny(host, ".:") || host == "localhost")
}

// newPushToken is the push token of one mode boot: the store it serves
// accepts pushes presenting it, and the guest gets it as mode.token (the init
// keeps it in /run/mode/token for mode save --push).
func newPushToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// changesDisk adds the ext4 image file (made when missing) to m as the next
// virtio disk and returns its mode.changes parameter.
func changesDisk(ctx context.Context, m *qemu.Machine, file string) (string, error) {
	dev, err := m.AddDisk(ctx, file, 1024)
	if err != nil {
		return "", err
	}
	return "mode.changes=" + dev, nil
}
