package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"
)

// TestServePXEBadInterface: --pxe on an interface that does not exist stops
// mode serve before it serves, naming the interface.
func TestServePXEBadInterface(t *testing.T) {
	var out bytes.Buffer
	app := &cli.Command{Name: "mode", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{serveCommand()}}
	err := app.Run(context.Background(), []string{"mode", "serve", "--store", filepath.Join(t.TempDir(), "store"),
		"--addr", "127.0.0.1:0", "--pxe", "nosuch0"})
	if err == nil || !strings.Contains(err.Error(), "serve --pxe") || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("got %v, want an error naming serve --pxe and nosuch0", err)
	}
}

// TestServePXEKnownAlone: --pxe-known without --pxe is refused before
// anything is served.
func TestServePXEKnownAlone(t *testing.T) {
	var out bytes.Buffer
	app := &cli.Command{Name: "mode", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{serveCommand()}}
	err := app.Run(context.Background(), []string{"mode", "serve", "--store", filepath.Join(t.TempDir(), "store"),
		"--addr", "127.0.0.1:0", "--pxe-known"})
	if err == nil || !strings.Contains(err.Error(), "--pxe-known: only with --pxe") {
		t.Errorf("got %v, want --pxe-known refused without --pxe", err)
	}
}
