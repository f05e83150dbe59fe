package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/urfave/cli/v3"
)

// TestServeLoggerJournal: when stderr is the stream JOURNAL_STREAM names,
// each event is one line with its syslog priority and no time (the journal
// has its own); otherwise lines carry their time.
func TestServeLoggerJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	st := fi.Sys().(*syscall.Stat_t)
	c := &cli.Command{Name: "serve"}
	c.Run(context.Background(), []string{"serve"})

	t.Setenv("JOURNAL_STREAM", "1:1")
	serveLogger(c, f).Info("serving", "url", "http://127.0.0.1:5000")
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	l := serveLogger(c, f)
	l.Info("reloaded", "changed", []string{"push-token"})
	l.With("addr", "x").Warn("changed, but taking effect only at the next restart")
	l.Error("reload refused", "err", "serve.yaml:3: unknown key")

	b, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{
		"time=",
		`<6>level=INFO msg=reloaded changed=[push-token]`,
		`<4>level=WARN msg="changed, but taking effect only at the next restart" addr=x`,
		`<3>level=ERROR msg="reload refused" err="serve.yaml:3: unknown key"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", b)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || (i > 0 && lines[i] != w) {
			t.Errorf("line %d: %q, want %q", i+1, lines[i], w)
		}
	}
}
