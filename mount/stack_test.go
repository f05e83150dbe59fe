package mount

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPlans checks each stack build, save and the init use as data: which
// layer is mounted where and the overlay options, in mount order.
func TestPlans(t *testing.T) {
	const opts = "redirect_dir=off,metacopy=off,index=off,xino=off"
	tests := []struct {
		name string
		plan Plan
		want []string
	}{
		{"workspace of one layer", Workspace([]string{"/o/base.sqfs"}, "/s/ws-1"), []string{
			"mount -t squashfs /o/base.sqfs /s/ws-1/l/0",
			"mount -t overlay overlay /s/ws-1/root -o lowerdir=/s/ws-1/l/0,upperdir=/s/ws-1/upper,workdir=/s/ws-1/work," + opts,
		}},
		{"workspace of three layers", Workspace([]string{"/o/a.sqfs", "/o/a-b.sqfs", "/o/a-b-c.sqfs"}, "/s/w"), []string{
			"mount -t squashfs /o/a.sqfs /s/w/l/0",
			"mount -t squashfs /o/a-b.sqfs /s/w/l/1",
			"mount -t squashfs /o/a-b-c.sqfs /s/w/l/2",
			"mount -t overlay overlay /s/w/lower -o lowerdir=/s/w/l/2:/s/w/l/1:/s/w/l/0," + opts,
			"mount -t overlay overlay /s/w/root -o lowerdir=/s/w/l/2:/s/w/l/1:/s/w/l/0,upperdir=/s/w/upper,workdir=/s/w/work," + opts,
		}},
		{"save over a booted chain, one layer not mounted", Merged([]Layer{
			{Target: "/run/mode/layers/base", Mounted: true},
			{File: "/run/mode/layers/base-x.sqfs", Target: "/run/mode/.save-1/l/1"},
		}, "/run/mode/.save-1/lower"), []string{
			"mount -t squashfs /run/mode/layers/base-x.sqfs /run/mode/.save-1/l/1",
			"mount -t overlay overlay /run/mode/.save-1/lower -o lowerdir=/run/mode/.save-1/l/1:/run/mode/layers/base," + opts,
		}},
		{"save over one mounted layer mounts nothing", Merged([]Layer{{Target: "/run/mode/layers/base", Mounted: true}}, "/x/lower"), nil},
		{"init root", Root([]Layer{{File: "/m/a.sqfs", Target: "/run/mode/layers/a"}, {File: "/m/a-b.sqfs", Target: "/run/mode/layers/a-b"}},
			"/run/mode/changes", "/run/mode/.work", "/newroot"), []string{
			"mount -t squashfs /m/a.sqfs /run/mode/layers/a",
			"mount -t squashfs /m/a-b.sqfs /run/mode/layers/a-b",
			"mount -t overlay overlay /newroot -o lowerdir=/run/mode/layers/a-b:/run/mode/layers/a,upperdir=/run/mode/changes,workdir=/run/mode/.work," + opts,
		}},
		{"paths with separators are escaped", Workspace([]string{"/o/a.sqfs", "/o/b.sqfs"}, "/s/a,b:c"), []string{
			"mount -t squashfs /o/a.sqfs /s/a,b:c/l/0",
			"mount -t squashfs /o/b.sqfs /s/a,b:c/l/1",
			`mount -t overlay overlay /s/a,b:c/lower -o lowerdir=/s/a\,b\:c/l/1:/s/a\,b\:c/l/0,` + opts,
			`mount -t overlay overlay /s/a,b:c/root -o lowerdir=/s/a\,b\:c/l/1:/s/a\,b\:c/l/0,upperdir=/s/a\,b\:c/upper,workdir=/s/a\,b\:c/work,` + opts,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.plan.Check(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range tt.plan.Mounts() {
				got = append(got, m.String())
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("mounts (-want +got):\n%s", d)
			}
		})
	}
}

// TestPlanLower: the lower a build compares its upper with.
func TestPlanLower(t *testing.T) {
	if got := Workspace([]string{"/a.sqfs"}, "/w").Lower; got != "/w/l/0" {
		t.Errorf("one layer: lower %s, want its own mount /w/l/0", got)
	}
	if got := Workspace([]string{"/a.sqfs", "/b.sqfs"}, "/w").Lower; got != "/w/lower" {
		t.Errorf("two layers: lower %s, want /w/lower", got)
	}
}

func TestPlanCheck(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
		want string
	}{
		{"no layers", Workspace(nil, "/w"), "no layers"},
		{"layer without a file", Merged([]Layer{{Target: "/t"}}, "/l"), "layer 1 has no file"},
		{"upper without work", Root([]Layer{{File: "/a", Target: "/t"}}, "/u", "", "/r"), "needs a work directory"},
		{"nothing to mount", Plan{Layers: []Layer{{File: "/a", Target: "/t"}}}, "neither a lower nor a root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.plan.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
