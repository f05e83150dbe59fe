// Package faultproxy is a TCP proxy for tests that misbehaves on purpose:
// it cuts each connection after a number of bytes drawn from a seeded
// source, stalls it, resets it, or refuses connections while "down". It
// listens on 127.0.0.1 only, so that tests can put a flaky link between a
// client and a loopback server.
package faultproxy
