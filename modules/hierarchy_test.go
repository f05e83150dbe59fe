package modules

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(ms []*Module) []string {
	var ns []string
	for _, m := range ms {
		ns = append(ns, m.Name)
	}
	return ns
}

func TestHierarchy(t *testing.T) {
	h, _ := loadGood(t, map[string]string{"other.yaml": "name: other\nbootstrap: {suite: bookworm}\n"})
	chain, err := h.Chain("extra")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		got  any
		want any
	}{
		{"Chain(extra)", names(chain), []string{"base", "essential", "conf", "extra"}},
		{"ChainName(extra)", h.ChainName("extra"), "base-essential-conf-extra"},
		{"ChainName(base)", h.ChainName("base"), "base"},
		{"ChainName(nosuch)", h.ChainName("nosuch"), ""},
		{"FileName(console)", h.FileName("console"), "base-essential-console.sqfs"},
		{"FileName(nosuch)", h.FileName("nosuch"), ""},
		{"Children(essential)", h.Children("essential"), []string{"conf", "console"}},
		{"Children(console)", h.Children("console"), []string(nil)},
		{"Roots", h.Roots(), []string{"base", "other"}},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.what, diff)
		}
	}
	if _, err := h.Chain("nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("Chain(nosuch) = %v", err)
	}
}

func TestPlan(t *testing.T) {
	h, _ := loadGood(t, map[string]string{"other.yaml": "name: other\nbootstrap: {suite: bookworm}\n"})
	tests := []struct {
		names []string
		want  []string
	}{
		{nil, []string{"base", "essential", "conf", "console", "extra", "other"}},
		{[]string{"console"}, []string{"base", "essential", "console"}},
		{[]string{"extra", "console"}, []string{"base", "essential", "conf", "console", "extra"}},
		{[]string{"other", "essential", "base"}, []string{"base", "essential", "other"}},
		{[]string{"console", "console"}, []string{"base", "essential", "console"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			plan, err := h.Plan(tt.names...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(plan)); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
	_, err := h.Plan("console", "nosuch")
	if err == nil || !strings.Contains(err.Error(), `unknown module "nosuch" (modules: base, conf, console, essential, extra, other)`) {
		t.Errorf("Plan(nosuch) = %v, want an error listing the modules", err)
	}
}
