package remote_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// A store takes the chains mode build makes; mode serve publishes it; a pull
// brings a chain's layers back under their MoDe names.
func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "mode-example-")
	defer os.RemoveAll(tmp)

	// Two layer files (squashfs images in real life) and their metadata.
	var ls []store.Layer
	for _, name := range []string{"base", "console"} {
		file := strings.Join([]string{"base", "console"}[:len(ls)+1], "-") + ".sqfs"
		path := filepath.Join(tmp, file)
		os.WriteFile(path, []byte("layer "+name), 0o644)
		ls = append(ls, store.Layer{Path: path, Meta: layers.Meta{Name: name, File: file}})
	}
	s, err := store.Open(filepath.Join(tmp, "store"))
	if err != nil {
		fmt.Println(err)
		return
	}
	s.AddChain(ctx, "tiny", "base", ls[:1])
	if _, err := s.AddChain(ctx, "tiny", "console", ls); err != nil {
		fmt.Println(err)
		return
	}
	tags, _ := s.Tags("tiny")
	fmt.Println("tags:", tags)

	srv := httptest.NewServer(serve.New(s).Handler())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, _, err := remote.Pull(ctx, host+"/tiny:console", filepath.Join(tmp, "out"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range c.Layers {
		b, _ := os.ReadFile(filepath.Join(tmp, "out", l.File))
		fmt.Printf("%s: %q\n", l.File, b)
	}
	// Output:
	// tags: [base console]
	// base.sqfs: "layer base"
	// base-console.sqfs: "layer console"
}
