package modeinit

import "testing"

func TestPinned(t *testing.T) {
	const d = "sha256:0123"
	for _, tc := range []struct{ ref, want string }{
		{"10.0.2.2:5000/tiny:extra", "10.0.2.2:5000/tiny@" + d},
		{"10.0.2.2:5000/tiny", "10.0.2.2:5000/tiny@" + d},
		{"reg/a/b@sha256:ffff", "reg/a/b@" + d},
		{"reg:5000/a/b:v1", "reg:5000/a/b@" + d},
	} {
		if got := pinned(tc.ref, d); got != tc.want {
			t.Errorf("pinned(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}
