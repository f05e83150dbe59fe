package layers

// DefaultArch is the architecture of a layer whose metadata names none, and
// the one whose chains keep their plain names and tags.
const DefaultArch = "amd64"

// ArchTag is the tag of name's chain built for arch: name for DefaultArch
// (and ""), NAME-ARCH for another ('-' is in no module name).
func ArchTag(name, arch string) string {
	if arch == "" || arch == DefaultArch {
		return name
	}
	return name + "-" + arch
}
