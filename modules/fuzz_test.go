package modules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds mutated module files to Load: it must return a hierarchy or
// errors that each name the file and a line, never panic.
func FuzzLoad(f *testing.F) {
	seeds, err := filepath.Glob("../examples/*/*.yaml")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no example module files: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: m\nparent: base\nexclude: ['[', 'etc/x']\nfiles:\n  - {src: a, dst: /b, mode: '0644'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "m.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if err == nil {
			return
		}
		var errs []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		} else {
			errs = []error{err}
		}
		for _, e := range errs {
			var le *Error
			if !errors.As(e, &le) || le.Line < 1 || !strings.HasPrefix(le.File, dir) {
				t.Fatalf("error %q does not name the file and a line", e)
			}
		}
	})
}
