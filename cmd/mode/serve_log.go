package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/urfave/cli/v3"
)

// serveLogger is mode serve's log: one key=value line per event on stderr,
// at level info (-v: debug, -q: errors only). Under systemd, when stderr is
// the journal (JOURNAL_STREAM names it), lines carry no time, which the
// journal adds, and start with their priority (<6> info, <4> warning, …:
// systemd's SyslogLevelPrefix), so journalctl -p warning finds the warnings.
func serveLogger(c *cli.Command, stderr *os.File) *slog.Logger {
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	if c.Bool("quiet") {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if !journalStream(os.Getenv("JOURNAL_STREAM"), stderr) {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	w := &prioWriter{w: stderr}
	return slog.New(&journalHandler{slog.NewTextHandler(w, opts), w})
}

// journalStream reports whether f is the stream JOURNAL_STREAM
// ("DEVICE:INODE") names.
func journalStream(env string, f *os.File) bool {
	var dev, ino uint64
	if _, err := fmt.Sscanf(env, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == dev && st.Ino == ino
}

// journalHandler writes each record with its syslog priority prefix.
type journalHandler struct {
	slog.Handler
	w *prioWriter
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.prio = priority(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{h.Handler.WithAttrs(as), h.w}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{h.Handler.WithGroup(name), h.w}
}

// prioWriter prefixes each write (a record's line) with prio.
type prioWriter struct {
	mu   sync.Mutex
	w    io.Writer
	prio int
}

func (p *prioWriter) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "<%d>%s", p.prio, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// priority is the syslog priority of a level.
func priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}
