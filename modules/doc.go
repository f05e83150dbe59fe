// Package modules reads a hierarchy of module files (NAME.yaml) and turns it
// into chains, MoDe file names, cache keys and a build plan. Its Builder runs a
// plan through the small Maker interface (pipelined, with Jobs and a
// TreeMaker: each layer squashed while its children build). It is pure Go: it never mounts and
// never needs root, so it is tested with fakes.
package modules
