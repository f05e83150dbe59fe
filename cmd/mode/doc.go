// Command mode is the CLI: one file per command, each thin: parse the flags,
// call the package that does the work, print results to stdout and progress
// to stderr.
package main
