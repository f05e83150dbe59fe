package main

import "errors"

// pull fetches the chain named by mode.ref from its registry.
func (b *boot) pull() (string, error) {
	return "", errors.New("mode.ref=" + b.p.ref + ": this init was built without the registry client")
}
