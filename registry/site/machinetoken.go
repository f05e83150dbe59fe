package site

import "github.com/mode-build/mode/report"

// MachineToken is the report token of the machine of mac under the push
// token in force (report.MachineToken); "" without a push token. The fleet
// checks a machine's metadata requests with it.
func (s *Site) MachineToken(mac string) string {
	a := s.auth.Load()
	if a == nil || a.token == "" {
		return ""
	}
	return report.MachineToken(a.token, mac)
}
