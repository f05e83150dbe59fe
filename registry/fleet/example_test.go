package fleet_test

import (
	"fmt"
	"strings"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
)

func ExampleRules_Match() {
	rs, err := fleet.Parse("site.yaml", []byte(`rules:
  - {name: default, chain: tiny:console}
  - {name: big, match: {facts: {memory: ">= 8GiB"}}, chain: tiny:extra}
  - {name: db1, match: {mac: "52:54:00:00:00:01"}, chain: tiny:extra, hostname: "db-{mac}"}
`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range []fleet.Machine{
		{MAC: "52:54:00:00:00:01", Facts: &report.Facts{MemoryBytes: 16 << 30}},
		{MAC: "52:54:00:00:00:02", Facts: &report.Facts{MemoryBytes: 16 << 30}},
		{MAC: "52:54:00:00:00:03"},
	} {
		r, why := rs.Match(m)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %s (%s) %s", m.MAC, r.Name, why, r.HostnameFor(m))))
	}
	// Output:
	// 52:54:00:00:00:01: db1 (mac rule: mac is 52:54:00:00:00:01) db-525400000001
	// 52:54:00:00:00:02: big (facts rule: memory 17179869184 matches >= 8GiB)
	// 52:54:00:00:00:03: default (default: no more specific rule matched)
}
