package squashfs

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Perm returns the Unix permission bits of e, setuid (04000), setgid (02000)
// and sticky (01000) included.
func (e Entry) Perm() uint32 {
	p := uint32(e.Mode.Perm())
	if e.Mode&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if e.Mode&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if e.Mode&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

var typeChars = map[EntryType]byte{TypeFile: '-', TypeDir: 'd', TypeSymlink: 'l',
	TypeChar: 'c', TypeBlock: 'b', TypeFifo: 'p', TypeSocket: 's'}

// ModeString is e's type and permissions the way ls -l writes them: "-rwsr-xr-x".
func (e Entry) ModeString() string {
	b := []byte("?rwxrwxrwx")
	if c, ok := typeChars[e.Type]; ok {
		b[0] = c
	}
	p := e.Perm()
	for i := 0; i < 9; i++ {
		if p&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(bit uint32, at int, set, unset byte) {
		if p&bit != 0 {
			if b[at] == '-' {
				b[at] = unset
			} else {
				b[at] = set
			}
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

// entryJSON is Entry as JSON: mode in octal ("04755"), and xattr values that
// are not UTF-8 text (security.capability) as "0x" and hex.
type entryJSON struct {
	plainEntry
	Mode   string            `json:"mode"`
	Xattrs map[string]string `json:"xattrs,omitempty"`
}

type plainEntry Entry

// MarshalJSON writes e with its mode in octal.
func (e Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{plainEntry: plainEntry(e), Mode: fmt.Sprintf("%04o", e.Perm())}
	for k, v := range e.Xattrs {
		if j.Xattrs == nil {
			j.Xattrs = map[string]string{}
		}
		j.Xattrs[k] = XattrText(v)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j entryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Entry(j.plainEntry)
	perm, err := strconv.ParseUint(j.Mode, 8, 32)
	if err != nil {
		return fmt.Errorf("entry %s: mode %q: %w", e.Path, j.Mode, err)
	}
	e.Mode = fs.FileMode(perm & 0o777)
	for bit, m := range map[uint64]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if perm&bit != 0 {
			e.Mode |= m
		}
	}
	e.Mode |= map[EntryType]fs.FileMode{TypeDir: fs.ModeDir, TypeSymlink: fs.ModeSymlink,
		TypeChar: fs.ModeDevice | fs.ModeCharDevice, TypeBlock: fs.ModeDevice,
		TypeFifo: fs.ModeNamedPipe, TypeSocket: fs.ModeSocket}[e.Type]
	e.Xattrs = nil
	for k, v := range j.Xattrs {
		if e.Xattrs == nil {
			e.Xattrs = map[string]string{}
		}
		if h, ok := strings.CutPrefix(v, "0x"); ok {
			if raw, err := hex.DecodeString(h); err == nil {
				v = string(raw)
			}
		}
		e.Xattrs[k] = v
	}
	return nil
}

// XattrText is an xattr value for people and JSON: itself when it is printable
// UTF-8 text, else "0x" and its bytes in hex.
func XattrText(v string) string {
	if utf8.ValidString(v) && !strings.HasPrefix(v, "0x") {
		printable := true
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				printable = false
				break
			}
		}
		if printable {
			return v
		}
	}
	return "0x" + hex.EncodeToString([]byte(v))
}
