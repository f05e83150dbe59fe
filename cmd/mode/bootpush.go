package main

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
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
