package layers

import "testing"

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		5 << 20: "5.0 MiB", 3<<30 + 1<<29: "3.5 GiB", 2 << 40: "2.0 TiB", 3 << 50: "3072.0 TiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestShortDigest(t *testing.T) {
	for d, want := range map[string]string{"": "(none)", "sha256:abc": "sha256:abc",
		"sha256:0123456789abcdef0123": "sha256:0123456789ab"} {
		if got := ShortDigest(d); got != want {
			t.Errorf("ShortDigest(%q) = %q, want %q", d, got, want)
		}
	}
}
