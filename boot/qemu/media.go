package qemu

import (
	"strings"
)

// OVMF is Debian's UEFI firmware for QEMU (package ovmf).
const OVMF = "/usr/share/ovmf/OVMF.fd"

// Medium is a bootable image the firmware boots from (mode image's ISO or
// disk), attached as As says.
type Medium struct {
	File string
	As   string // "cdrom" (IDE CD-ROM, /dev/sr0), "disk" (IDE disk, /dev/sda), "usb" (USB stick on xHCI) or "virtio" (a virtio disk: q35, SecureBootVars, has no IDE)
	// Writable lets the guest write to it (a disk keeping changes); else its
	// writes are discarded.
	Writable bool
}

// PXE boots from a TFTP root through the NIC's PXE ROM: QEMU's user network
// serves Dir by TFTP and names File as the DHCP boot file.
type PXE struct {
	Dir, File string
}

func (p *PXE) netdev() string {
	return ",tftp=" + qemuEscape(p.Dir) + ",bootfile=" + qemuEscape(p.File)
}

func (m Machine) firmwareBoot() bool {
	return m.Medium != nil || m.PXE != nil || m.HTTPBoot || (m.Tap != "" && m.Kernel == "")
}

// firmwareArgs are the arguments of a boot through the firmware: SeaBIOS or
// OVMF, and the medium with the first boot index.
func (m Machine) firmwareArgs() []string {
	args := m.uefiArgs()
	if m.HTTPBoot && m.Tap != "" && m.Medium == nil { // the NIC first (bootindex), HTTP boot only
		return append(args, "-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n",
			"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n")
	}
	if m.HTTPBoot && m.Medium == nil { // the boot entry's BootNext, no boot order
		return args
	}
	if m.PXE != nil || m.Medium == nil {
		return append(args, "-boot", "n")
	}
	md := m.Medium
	// With a BootURL the NIC's iPXE boots first and the medium after it:
	// a netbooted machine with a local disk, whose script's exit boots the disk.
	idx := "0"
	if m.BootURL != "" {
		idx = "1"
	}
	ro := ",snapshot=on" // the guest's writes go to a temporary file (IDE disks cannot be read-only)
	if md.Writable {
		ro = ""
	}
	drive := "if=none,id=medium,format=raw,file=" + qemuEscape(md.File)
	switch m.mediumAs() {
	case "scsi-cd": // virt has no IDE
		args = append(args, "-drive", drive+",media=cdrom,readonly=on", "-device", "virtio-scsi-pci,id=scsi",
			"-device", "scsi-cd,bus=scsi.0,drive=medium,bootindex="+idx)
	case "cdrom":
		args = append(args, "-drive", drive+",media=cdrom,readonly=on", "-device", "ide-cd,drive=medium,bus=ide.1,bootindex="+idx)
	case "virtio":
		args = append(args, "-drive", drive+ro, "-device", "virtio-blk-pci,drive=medium,bootindex="+idx)
	case "usb":
		args = append(args, "-device", "qemu-xhci,id=xhci", "-drive", drive+ro, "-device", "usb-storage,bus=xhci.0,drive=medium,bootindex="+idx)
	default:
		args = append(args, "-drive", drive+ro, "-device", "ide-hd,drive=medium,bus=ide.0,bootindex="+idx)
	}
	return args
}

// mediumAs is how m's medium is attached: as Medium.As says, but on
// arm64's virt machine, which has no IDE, a CD-ROM is a virtio SCSI CD
// ("scsi-cd") and a disk a virtio disk.
func (m Machine) mediumAs() string {
	as := m.Medium.As
	if m.arch() != "arm64" {
		return as
	}
	switch as {
	case "cdrom":
		return "scsi-cd"
	case "usb":
		return as
	}
	return "virtio"
}

// qemuEscape doubles commas, which QEMU's option parser splits on.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
