package uki

import (
	"bytes"
	"context"
	"debug/pe"
	"fmt"
	"os"

	"github.com/mode-build/mode/internal/proc"
)

// Stub is systemd's EFI stub for x86-64 (Debian's systemd-boot-efi). Given
// control by the firmware, it loads the kernel of its .linux section with the
// initramfs of .initrd and the command line of .cmdline; under Secure Boot it
// ignores any command line the boot loader passes.
const Stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// UKI is what goes into a unified kernel image.
type UKI struct {
	Stub      string // the EFI stub; "" is Stub
	Kernel    string // the kernel image (a bzImage with its EFI stub)
	Initrd    string // the initramfs
	Cmdline   string // the kernel command line, whole
	OSRelease string // the .osrel section (os-release lines); "" is a line naming mode
}

// sectionAlign is where the added sections start: page boundaries.
const sectionAlign = 4096

// Build writes u as a unified kernel image to out, unsigned: the stub with
// the sections .osrel, .cmdline, .linux and .initrd added by objcopy after the
// stub's own, at the addresses systemd-stub's documentation describes (each
// page-aligned after the one before).
func Build(ctx context.Context, u UKI, out string) error {
	stub := u.Stub
	if stub == "" {
		stub = Stub
	}
	end, err := imageEnd(stub)
	if err != nil {
		return fmt.Errorf("UKI: EFI stub %s: %w (install systemd-boot-efi)", stub, err)
	}
	work, err := os.MkdirTemp("", "mode-uki-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	osrel := u.OSRelease
	if osrel == "" {
		osrel = "ID=mode\nNAME=mode\nPRETTY_NAME=\"mode\"\n"
	}
	text := map[string]string{".osrel": osrel, ".cmdline": u.Cmdline}
	args := []string{}
	vma := end
	for _, s := range []struct{ name, file string }{
		{".osrel", ""}, {".cmdline", ""}, {".linux", u.Kernel}, {".initrd", u.Initrd},
	} {
		file := s.file
		if file == "" {
			file = work + "/" + s.name[1:]
			if err := os.WriteFile(file, []byte(text[s.name]), 0o644); err != nil {
				return err
			}
		}
		fi, err := os.Stat(file)
		if err != nil {
			return fmt.Errorf("UKI: %s: %w", s.name, err)
		}
		args = append(args, "--add-section", s.name+"="+file, "--change-section-vma", fmt.Sprintf("%s=%#x", s.name, vma))
		vma = align(vma + uint64(fi.Size()))
	}
	cmd := proc.Command(ctx, "objcopy", append(args, stub, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("UKI: objcopy: %w: %s (install binutils)", err, bytes.TrimSpace(b))
	}
	return nil
}

// imageEnd is the first page-aligned address after the stub's sections,
// image base included (objcopy's VMAs are absolute).
func imageEnd(stub string) (uint64, error) {
	f, err := pe.Open(stub)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		return 0, fmt.Errorf("not a PE32+ (x86-64) image")
	}
	var end uint64
	for _, s := range f.Sections {
		if e := uint64(s.VirtualAddress) + uint64(s.VirtualSize); e > end {
			end = e
		}
	}
	return align(oh.ImageBase + end), nil
}

func align(n uint64) uint64 { return (n + sectionAlign - 1) / sectionAlign * sectionAlign }

// Sections returns the named sections of the PE image file: name → its bytes
// in the file (what the stub reads), for checks and tests.
func Sections(file string) (map[string][]byte, error) {
	f, err := pe.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]byte{}
	for _, s := range f.Sections {
		b, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("%s: section %s: %w", file, s.Name, err)
		}
		if s.VirtualSize > 0 && s.VirtualSize < uint32(len(b)) {
			b = b[:s.VirtualSize] // Data is padded to the file alignment
		}
		out[s.Name] = b
	}
	return out, nil
}
