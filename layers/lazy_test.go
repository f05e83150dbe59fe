package layers

import (
	"errors"
	"os"
	"testing"
)

func TestReadLazy(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadLazy(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadLazy of a boot that was not lazy: %v, want ErrNotExist", err)
	}
	os.WriteFile(LazyFile(dir), []byte(`{"layers":[{"file":"a.sqfs","size":4096,"local":4096,"fetched":4096}],"whole":true,"fetched":1024,"size":4096}`), 0o644)
	st, err := ReadLazy(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Summary("before switch_root"), "lazy: 1.0 KiB of the chain's 4.0 KiB fetched before switch_root (25%), every layer local"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	os.WriteFile(LazyFile(dir), []byte("{"), 0o644)
	if _, err := ReadLazy(dir); err == nil {
		t.Error("ReadLazy of a broken file: no error")
	}
}
