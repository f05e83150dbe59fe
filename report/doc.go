// Package report is a boot report: the JSON document a machine's init (or
// mode save --push) sends to the mode serve it booted from, how the server
// checks it, the boot token that authorizes it, and the client that sends it
// without ever holding up a boot. It has no server code, so the init links
// little of it.
package report
