package modules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes files (relative path → content) under dir. A path ending
// in "/" is a directory; content starting with "->" makes a symlink to the rest.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Remove(p)
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// good is a valid hierarchy:
//
//	base ─ essential ┬ conf (config-only) ─ extra
//	                 └ console
func good() map[string]string {
	return map[string]string{
		"rootfs/etc/hostname": "base\n",
		"files/motd":          "hello\n",
		"files/skel/.bashrc":  "PS1='$ '\n",
		"files/skel/link":     "->.bashrc",
		"base.yaml":           "name: base\nfrom: {dir: rootfs}\n",
		"essential.yaml":      "name: essential\nparent: base\npackages: [less]\n",
		"console.yaml": "name: console\nparent: essential\nfiles:\n" +
			"  - {src: files/motd, dst: /etc/motd, mode: \"0644\"}\nrun:\n  - echo hi\n",
		"conf.yaml":  "name: conf\nparent: essential\nfiles:\n  - {src: files/skel, dst: /etc/skel}\n",
		"extra.yml":  "name: extra\nparent: conf\nrun: [echo extra]\n",
		"README.txt": "not a module\n",
	}
}

// loadGood writes the good hierarchy plus edits into a temporary directory and loads it.
func loadGood(t *testing.T, edits map[string]string) (*Hierarchy, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, good())
	writeFiles(t, dir, edits)
	h, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return h, dir
}

// reload loads dir again after edits.
func reload(t *testing.T, dir string, edits map[string]string) *Hierarchy {
	t.Helper()
	writeFiles(t, dir, edits)
	h, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return h
}
