package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/mode-build/mode/boot/activate"
	"github.com/mode-build/mode/layers"
)

// printLazy shows a lazy boot's progress (mode.lazy=on): each layer's bytes
// local, whether the registry is still needed, and how the background fill
// ended (done, every file's digest checked, or its error).
func printLazy(w io.Writer, run string) {
	st, err := layers.ReadLazy(run)
	if err != nil {
		return
	}
	for _, l := range st.Layers {
		fmt.Fprintf(w, "  lazy   %-40s %s of %s local, %s fetched\n", filepath.Base(l.File), layers.Size(l.Local), layers.Size(l.Size), layers.Size(l.Fetched))
	}
	fmt.Fprintf(w, "lazy boot: %s\n", lazyState(st))
}

// printLazyModule shows the progress of an activated module read lazily
// (its lazy server's status file).
func printLazyModule(w io.Writer, m activate.Module) {
	if m.Lazy == nil {
		return
	}
	st, err := layers.ReadLazyFile(m.Lazy.Status)
	if err != nil {
		fmt.Fprintf(w, "         lazy through %s over %s: no progress (%v)\n", m.Lazy.Device, m.Lazy.NBD, err)
		return
	}
	fmt.Fprintf(w, "         lazy through %s over %s: %s of %s local, %s fetched; %s\n", m.Lazy.Device, m.Lazy.NBD,
		layers.Size(lazyLocal(st)), layers.Size(st.Size), layers.Size(st.Fetched), lazyState(st))
}

// lazyState says where a lazy server's fill is.
func lazyState(st *layers.LazyStatus) string {
	switch {
	case st.Error != "":
		return "the fill failed: " + st.Error
	case st.Done:
		return "every layer local, checked (done): the registry is no longer needed"
	case st.Whole:
		return "every layer local, the registry is no longer needed (the fill checks their digests)"
	}
	return "still reading from the registry"
}

func lazyLocal(st *layers.LazyStatus) int64 {
	var n int64
	for _, l := range st.Layers {
		n += l.Local
	}
	return n
}
