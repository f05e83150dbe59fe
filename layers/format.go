package layers

import "fmt"

// ShortDigest abbreviates a digest for people: "sha256:0123456789ab" (the
// algorithm and 12 hex digits); "(none)" for "".
func ShortDigest(d string) string {
	if d == "" {
		return "(none)"
	}
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// Size formats n bytes for people in binary units, the one convention of
// mode's output: "512 B", "40.0 KiB", "1.2 MiB", "3.4 GiB".
func Size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f, unit = f/1024, u
		if f < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}
