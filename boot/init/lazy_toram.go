package modeinit

import (
	"fmt"
	"time"

	"github.com/mode-build/mode/layers"
)

// lazyWaitRAM is the lazy step of a lazy boot with mode.toram: the layers
// were mapped at once and mounted while the lazy server filled them into
// RAM (spec.Now); the boot waits here, before switch_root, for the fill to
// end with every file whole and its digest checked, so the booted system
// never needs the registry (toram's promise: the medium may go). A fill
// that fails, or makes no progress for mode.fetch.timeout, stops the boot.
func (b *boot) lazyWaitRAM(poll time.Duration) (string, error) {
	start := time.Now()
	var last int64 = -1
	progress := start
	for {
		st, err := layers.ReadLazy(runDir)
		if err == nil {
			if st.Error != "" {
				return "", fmt.Errorf("mode.toram: the layers' fill into RAM failed: %s", st.Error)
			}
			if st.Done {
				return fmt.Sprintf("mode.toram: every layer whole in RAM and checked after %s more: the registry is no longer needed; %s",
					seconds(time.Since(start)), st.Summary("before switch_root")), nil
			}
			if st.Fetched != last {
				last, progress = st.Fetched, time.Now()
			}
		}
		if since := time.Since(progress); since > b.p.fetchTimeout {
			return "", fmt.Errorf("mode.toram: the layers' fill into RAM made no progress for %s (mode.fetch.timeout=%s): %s of the chain fetched",
				since.Round(time.Second), b.p.fetchTimeout, layers.Size(max(last, 0)))
		}
		time.Sleep(poll)
	}
}
