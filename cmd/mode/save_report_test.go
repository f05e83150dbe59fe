package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
	"github.com/opencontainers/go-digest"
)

// TestSaveReport: the report of mode save --push is one the server takes.
func TestSaveReport(t *testing.T) {
	d := digest.FromString("manifest")
	r := saveReport("10.0.2.2:5000/tiny:mine", d, layers.Meta{File: "base-mine.sqfs", Size: 4096, Seconds: 1.5}, 2*time.Second)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := report.Decode(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("the server would refuse it: %v", err)
	}
	if got.Kind != "save" || got.Chain != "base-mine" || got.Digest != d.String() || len(got.Steps) != 2 || got.Steps[0].MS != 1500 || got.Steps[1].MS != 2000 {
		t.Errorf("save report %+v", got)
	}
}
