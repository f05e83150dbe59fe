package qemu

// Arches of a Machine, their QEMU, machine type and serial console.
var archQEMU = map[string]struct {
	binary  string
	machine []string
	console string
}{
	"amd64": {"qemu-system-x86_64", nil, "ttyS0"},
	// virt boots an arm64 Linux Image (gzipped, as Debian ships it) from
	// -kernel itself, no firmware; its serial port is a PL011.
	"arm64": {"qemu-system-aarch64", []string{"-M", "virt", "-cpu", "max"}, "ttyAMA0"},
}

// arch is m.Arch, amd64 when empty.
func (m Machine) arch() string {
	if m.Arch == "" {
		return "amd64"
	}
	return m.Arch
}

// QEMU is the QEMU program m runs: Binary, else its architecture's.
func (m Machine) QEMU() string { return m.binary() }

// binary is m's QEMU: Binary, else its architecture's.
func (m Machine) binary() string {
	if m.Binary != "" {
		return m.Binary
	}
	if a, ok := archQEMU[m.arch()]; ok {
		return a.binary
	}
	return "qemu-system-x86_64"
}

// serialConsole is the kernel's console= device of m's architecture.
func (m Machine) serialConsole() string {
	if a, ok := archQEMU[m.arch()]; ok {
		return a.console
	}
	return "ttyS0"
}

// machineArgs are the -M and -cpu arguments of m's architecture.
func (m Machine) machineArgs() []string { return archQEMU[m.arch()].machine }
