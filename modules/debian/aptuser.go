package debian

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// aptUser returns the uid and gid of the _apt user in root's /etc/passwd;
// ok is false when the root has none.
func aptUser(root string) (uid, gid int, ok bool) {
	f, err := os.Open(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || fields[0] != "_apt" {
			continue
		}
		u, err1 := strconv.Atoi(fields[2])
		g, err2 := strconv.Atoi(fields[3])
		return u, g, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

// giveApt hands the download directories (the partial/ directories apt
// downloads into) to root's _apt user, mode 0700 as apt makes them itself,
// so that apt downloads sandboxed instead of warning "Download is performed
// unsandboxed as root".
func giveApt(root string, dirs ...string) error {
	uid, gid, ok := aptUser(root)
	if !ok {
		return nil
	}
	for _, d := range dirs {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("apt cache: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("apt cache: %w", err)
		}
	}
	return nil
}
