// Package flagfile sets a command's flags from a YAML file whose keys are the
// flag names (mode serve --config): any flag of the command is a key, with no
// code per flag, and what the command line set wins over the file.
package flagfile
