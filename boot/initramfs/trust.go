package initramfs

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/registry/trust"
)

// TrustDir is where the init looks for the public keys it trusts
// (docs/trust.md); AllowWeaker, an empty file there, lets mode.verify=warn
// and off weaken the check when keys are present.
const (
	TrustDir    = "etc/mode/trust"
	AllowWeaker = TrustDir + "/allow-weaker"
)

// TrustFiles returns the files that make the init refuse chains not signed
// by one of the public keys: each key, checked to be one, as
// etc/mode/trust/N-NAME.pub; and with allowWeaker the file that lets the
// kernel command line weaken the check.
func TrustFiles(keys []string, allowWeaker bool) ([]File, error) {
	var files []File
	for i, k := range keys {
		if _, err := trust.LoadPublicKeys(k); err != nil {
			return nil, fmt.Errorf("--trust: %w", err)
		}
		base := strings.TrimSuffix(filepath.Base(k), ".pub")
		base = strings.Map(func(r rune) rune {
			if r == '/' || r < ' ' {
				return '_'
			}
			return r
		}, base)
		files = append(files, File{Source: k, Name: fmt.Sprintf("%s/%d-%s.pub", TrustDir, i, base), Mode: 0o644})
	}
	if allowWeaker {
		files = append(files, File{Source: "/dev/null", Name: AllowWeaker, Mode: 0o644}) // empty
	}
	return files, nil
}
