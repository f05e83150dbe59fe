// Package pty opens pseudo-terminals: mode runs mmdebstrap on one to read
// its bars back, and the tests run mode itself on one to see what a user at
// a terminal sees.
package pty
