package maker

import (
	"fmt"
	"time"

	"github.com/mode-build/mode/modules/debian"
)

// listsMaxAge is the apt lists' window of the build (AptListsMaxAge): 0 for
// an update in every run.
func (mk *Maker) listsMaxAge() time.Duration {
	switch {
	case mk.AptListsMaxAge < 0:
		return 0
	case mk.AptListsMaxAge == 0:
		return debian.DefaultListsMaxAge
	}
	return mk.AptListsMaxAge
}

// aptNote tells the build's output which apt lists the build uses.
func (mk *Maker) aptNote(line string) {
	mk.log().Info(line)
	if mk.Stderr != nil {
		fmt.Fprintln(mk.Stderr, line)
	}
}
