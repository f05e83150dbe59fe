package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/activate"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
)

// TestActivationReport: the reports of an activation done and refused are
// ones the server takes, the refusal with its message.
func TestActivationReport(t *testing.T) {
	b := &layers.Booted{Name: "base-essential-console", Ref: "10.0.2.2:5000/tiny:console", Digest: "sha256:" + strings.Repeat("0", 64)}
	done := &activate.Activated{Module: activate.Module{Meta: layers.Meta{Name: "extra", Digest: "sha256:" + strings.Repeat("1", 64)}, Dirs: []string{"etc", "usr"}}}
	for _, tc := range []struct {
		a    *activate.Activated
		err  error
		want string
	}{
		{done, nil, "extra sha256:1111"},
		{nil, errors.New("module extra: built on another chain"), "base-essential-console-extra.sqfs: module extra: built on another chain"},
	} {
		r := activationReport(b, "base-essential-console-extra.sqfs", tc.a, tc.err, 1500*time.Millisecond)
		data, _ := json.Marshal(r)
		got, err := report.Decode(strings.NewReader(string(data)))
		if err != nil {
			t.Fatalf("the server would refuse it: %v", err)
		}
		text := got.Steps[0].Summary
		if got.Failed != nil {
			text = got.Failed.Message
		}
		if got.Kind != "activate" || got.OK != (tc.err == nil) || got.Steps[0].MS != 1500 || !strings.Contains(text, tc.want) {
			t.Errorf("activation report %+v", got)
		}
	}
}
