package fleet

import (
	"fmt"
	"testing"

	"github.com/mode-build/mode/report"
)

// TestIndexSameAsScan: Match through the index picks the rule, and says
// why, exactly as trying every rule in order does, for machines known by
// MAC, UUID, serial (on the request or in the facts), host name, facts,
// and none of them.
func TestIndexSameAsScan(t *testing.T) {
	rs, err := Parse("site.yaml", []byte(`rules:
  - {name: default, chain: tiny:console}
  - {name: m1, match: {mac: "52:54:00:00:00:01"}, chain: tiny:extra}
  - {name: m1web, match: {mac: "52:54:00:00:00:01", hostname: "web-*"}, chain: tiny:extra}
  - {name: m2, match: {mac: "52:54:00:00:00:02"}, chain: tiny:extra}
  - {name: u1, match: {uuid: "0000000A-0000-4000-8000-000000000000"}, chain: tiny:extra}
  - {name: s1, match: {serial: "SN1"}, chain: tiny:extra}
  - {name: sglob, match: {serial: "LOT7-*", hostname: "db-*"}, chain: tiny:extra}
  - {name: web, match: {hostname: "web-*"}, chain: tiny:extra}
  - {name: big, match: {facts: {memory: ">= 8GiB"}}, chain: tiny:extra}
  - {name: bigweb, match: {facts: {memory: ">= 8GiB"}, hostname: "web-*"}, chain: tiny:extra}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs.index == nil {
		t.Fatal("Parse made no index")
	}
	scan := &Rules{Rules: rs.Rules}
	big := &report.Facts{MemoryBytes: 16 << 30}
	var ms []Machine
	for _, mac := range []string{"52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:09"} {
		for _, host := range []string{"", "web-3", "db-1"} {
			for _, id := range []Machine{{}, {UUID: "0000000a-0000-4000-8000-000000000000"}, {Serial: "SN1"}, {Serial: "LOT7-42"},
				{Facts: big}, {Facts: &report.Facts{UUID: "0000000a-0000-4000-8000-000000000000"}}, {Facts: &report.Facts{Serial: "SN1"}}} {
				id.MAC, id.Hostname = mac, host
				ms = append(ms, id)
			}
		}
	}
	for _, m := range ms {
		r1, why1 := rs.Match(m)
		r2, why2 := scan.Match(m)
		if r1 != r2 || why1 != why2 {
			t.Errorf("%s: index %s (%s), scan %s (%s)", fmt.Sprintf("%+v", m), r1.Name, why1, r2.Name, why2)
		}
	}
}
