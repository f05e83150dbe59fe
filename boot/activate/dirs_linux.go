package activate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/mode-build/mode/mount"
)

// topDirs returns the top-level directories of the module mounted at mnt,
// refusing what a directory overlay cannot show as a boot would: a deleted
// top-level entry, a top-level file that differs from the root's, files
// under a mount point of the running system (/proc, /run…), or a directory
// with mount points below it that the overlay would hide.
func topDirs(mnt string, root Root, table []mount.Entry) ([]string, error) {
	entries, err := os.ReadDir(mnt)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		fi, err := os.Lstat(filepath.Join(mnt, name))
		if err != nil {
			return nil, err
		}
		rp := filepath.Join(root.Dir, name)
		rfi, rerr := os.Lstat(rp)
		switch {
		case isWhiteout(fi):
			return nil, fmt.Errorf("it deletes the top-level /%s: activate cannot hide a top-level entry (boot it with mode.load instead)", name)
		case !fi.IsDir():
			if rerr == nil && sameEntry(filepath.Join(mnt, name), fi, rp, rfi) {
				continue
			}
			return nil, fmt.Errorf("it adds or changes the top-level file /%s: activate covers top-level directories only (boot it with mode.load instead)", name)
		case rerr == nil && !rfi.IsDir():
			return nil, fmt.Errorf("it has a directory /%s where the running system has a %s", name, rfi.Mode().Type())
		case isMountPoint(table, rp) && !ours(table, root, rp):
			if empty(filepath.Join(mnt, name)) {
				continue // as at boot: the running system's mount hides it
			}
			return nil, fmt.Errorf("it has files under /%s, a mount point of the running system: they would stay hidden", name)
		}
		var below []string
		for _, p := range mountsUnder(table, rp) {
			if !ours(table, root, p) {
				below = append(below, p)
			}
		}
		if len(below) > 0 {
			return nil, fmt.Errorf("it changes /%s, which has mount points below it (%s) that an overlay on /%s would hide", name, strings.Join(below, ", "), name)
		}
		dirs = append(dirs, name)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("it changes nothing under a top-level directory")
	}
	sort.Strings(dirs)
	return dirs, nil
}

func sameEntry(a string, afi os.FileInfo, b string, bfi os.FileInfo) bool {
	if afi.Mode() != bfi.Mode() {
		return false
	}
	if afi.Mode()&os.ModeSymlink != 0 {
		ta, _ := os.Readlink(a)
		tb, _ := os.Readlink(b)
		return ta == tb
	}
	return false
}

func empty(dir string) bool {
	es, err := os.ReadDir(dir)
	return err == nil && len(es) == 0
}

// prepareUppers makes sure the root's upper directory has each top-level
// directory the module covers, through the root overlay (never behind its
// back): an existing one is copied up (a chown to its own owner does that,
// a directory's copy-up holds no file), a missing one is made with the
// module's owner and mode. It returns the directories it made.
func prepareUppers(root Root, m Module) ([]string, error) {
	var made []string
	for _, d := range m.Dirs {
		if _, err := os.Lstat(filepath.Join(root.Upper, d)); err == nil {
			continue
		}
		rp := filepath.Join(root.Dir, d)
		fi, err := os.Lstat(rp)
		if err != nil {
			mfi, err := os.Lstat(filepath.Join(m.Mount, d))
			if err != nil {
				return made, err
			}
			if err := os.Mkdir(rp, mfi.Mode().Perm()); err != nil {
				return made, err
			}
			made = append(made, d)
			fi = mfi
		}
		st := fi.Sys().(*syscall.Stat_t)
		if err := os.Lchown(rp, int(st.Uid), int(st.Gid)); err != nil {
			return made, fmt.Errorf("copy up /%s: %w", d, err)
		}
		if _, err := os.Lstat(filepath.Join(root.Upper, d)); err != nil {
			return made, fmt.Errorf("/%s is not in the upper directory %s after its copy-up: %w", d, root.Upper, err)
		}
	}
	return made, nil
}

// removeMade removes the top-level directories made for a module when
// they are empty again.
func removeMade(root Root, made []string) {
	for _, d := range made {
		os.Remove(filepath.Join(root.Dir, d)) // fails, as it should, when not empty
	}
}
