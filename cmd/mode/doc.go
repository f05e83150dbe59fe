// Command mode is the CLI: one file per command, named for it, each thin:
// parse the flags, call the package that does the work, print results to
// stdout and progress to stderr. What a command needs more is in
// <command>_<aspect>.go (boot_console.go, serve_netboot.go); app.go holds
// newApp, the root command main and the tests run; flags.go the flags
// several commands share; output.go and output_progress.go the JSON
// outputs and the transfer progress; privilege.go root and mount namespaces.
package main
