package layers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckParents(t *testing.T) {
	base := Meta{Name: "base", File: "base.sqfs", Digest: "sha256:b1"}
	ess := Meta{Name: "essential", File: "base-essential.sqfs", Digest: "sha256:e1"}
	ess2 := Meta{Name: "essential", File: "base-essential.sqfs", Digest: "sha256:e2"}
	other := Meta{Name: "other", File: "base-other.sqfs", Digest: "sha256:o1"}
	saved := Meta{Name: "mine", File: "base-essential-mine.sqfs", Digest: "sha256:m1",
		ParentDigests: []string{"sha256:b1", "sha256:e1"}}
	tests := []struct {
		name  string
		metas []Meta
		want  string // "" for no error, else a part of it
	}{
		{"its own parents", []Meta{base, ess, saved}, ""},
		{"no saved layer", []Meta{base, ess2}, ""},
		{"a parent rebuilt", []Meta{base, ess2, saved}, "parent 2 is base-essential.sqfs (digest sha256:e2)"},
		{"another parent", []Meta{base, other, saved}, "parent 2 is base-other.sqfs"},
		{"a parent missing", []Meta{base, saved}, "parent 2 of 2 (digest sha256:e1) is missing"},
		{"a layer too many", []Meta{base, ess, other, saved}, "base-other.sqfs (digest sha256:o1) is below it, but it was saved on 2 layers"},
		{"an extra layer below", []Meta{base, ess, saved, saved}, "base-essential-mine.sqfs (digest sha256:m1) is below it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckParents(tt.metas)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrParentMismatch)):
				t.Errorf("got %v, want ErrParentMismatch saying %q", err, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), "layer base-essential-mine.sqfs"):
				t.Errorf("got %v, want it to name the saved layer", err)
			}
		})
	}
}

func TestReadBooted(t *testing.T) {
	write := func(t *testing.T, content string) string {
		dir := t.TempDir()
		if content != "" {
			if err := os.WriteFile(filepath.Join(dir, "chain.json"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	dir := write(t, `{"name":"base-console","ref":"10.0.2.2:5000/tiny:console","digest":"sha256:aa",
		"layers":[{"name":"base","chain":["base"],"file":"base.sqfs","digest":"sha256:b"},
		{"name":"console","parent":"base","chain":["base","console"],"file":"base-console.sqfs","digest":"sha256:c"}]}`)
	b, err := ReadBooted(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Booted{Name: "base-console", Ref: "10.0.2.2:5000/tiny:console", Digest: "sha256:aa", Layers: []Meta{
		{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: "sha256:b"},
		{Name: "console", Parent: "base", Chain: []string{"base", "console"}, File: "base-console.sqfs", Digest: "sha256:c"}}}
	if d := cmp.Diff(want, b); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if b.ChainName() != "base-console" {
		t.Errorf("ChainName = %q", b.ChainName())
	}
	for name, tt := range map[string]struct{ content, want string }{
		"missing":   {"", "not a system booted by mode"},
		"no layers": {`{"name":"x","layers":[]}`, "no layers"},
		"bad json":  {`{"name":`, "chain.json"},
		"no file":   {`{"layers":[{"name":"base"}]}`, "layer 1 has no name or file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadBooted(write(t, tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
