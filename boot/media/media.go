package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
)

// Formats are the images Write makes.
var Formats = []string{"iso", "disk", "initramfs"}

// Layer is one layer of the chain to put on a medium.
type Layer struct {
	Path string      // the .sqfs file (a store blob will do)
	Meta layers.Meta // its metadata: the file name on the medium is Meta.File
}

// Image is what goes on a medium.
type Image struct {
	Chain  string  // the chain's name, for the boot menu
	Layers []Layer // base first
	Kernel string  // the kernel image (not needed for initramfs)
	Initrd string  // mode's initramfs for that kernel
	Append string  // more kernel parameters
	Size   int64   // disk: the image's size in bytes; 0 sizes it to the layers
	// Files go beside the layers as they are: name on the medium → path
	// (the signed chain, CHAIN.signed.json; docs/trust.md).
	Files map[string]string
	// Pull, for disk, is a registry reference (HOST:PORT/REPO:TAG): the
	// disk then boots mode.ref=Pull with mode.cache on its data partition
	// instead of mode.from, pulling the layers of the tag that changed when
	// the registry answers and booting those on the disk when it does not
	// (the install to disk, docs/fleet.md). Files should then carry the
	// cache's last-boot.json.
	Pull string
	// SecureBoot, when set, boots UEFI through a signed unified kernel
	// image instead of GRUB (iso and disk; secureboot.go).
	SecureBoot *SecureBoot
	// Arch is the machines' architecture: "" or amd64 (BIOS and x86_64
	// UEFI), or arm64 (UEFI only, GRUB's arm64-efi built from the modules
	// in GrubEFI: arm64.go). Kernel and Initrd must be of that architecture.
	Arch    string
	GrubEFI string
}

// ErrUnknownFormat is the error of a format not in Formats.
var ErrUnknownFormat = errors.New("unknown image format")

// Write writes im as format to file, whole or not at all: the output goes to
// a temporary file beside file, renamed over it only once complete.
func Write(ctx context.Context, format string, im *Image, file string) error {
	var write func(context.Context, *Image, string, string) error
	switch format {
	case "iso":
		write = writeISO
	case "disk":
		write = writeDisk
	case "initramfs":
		write = writeInitramfs
	default:
		return fmt.Errorf("--format %q: %w (want %s)", format, ErrUnknownFormat, strings.Join(Formats, ", "))
	}
	if err := im.check(format); err != nil {
		return err
	}
	dir := filepath.Dir(file)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("output %s: directory %s does not exist", file, dir)
	}
	work, err := os.MkdirTemp("", "mode-image-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", file, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := write(ctx, im, tmp.Name(), work); err != nil {
		return fmt.Errorf("%s image %s: %w", format, file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// check fails on an image that lacks what format needs, naming it.
func (im *Image) check(format string) error {
	if len(im.Layers) == 0 {
		return errors.New("image: no layers")
	}
	need := map[string]string{"initramfs": im.Initrd}
	if format != "initramfs" {
		need["kernel"] = im.Kernel
	}
	for what, f := range need {
		if f == "" {
			return fmt.Errorf("image: no %s (the chain has no /boot/vmlinuz-*: give --kernel)", what)
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("image: %s: %w", what, err)
		}
	}
	if err := im.checkArch(format); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	if im.SecureBoot != nil {
		if err := im.SecureBoot.check(format); err != nil {
			return fmt.Errorf("image: %w", err)
		}
	}
	for _, l := range im.Layers {
		if _, err := os.Stat(l.Path); err != nil {
			return fmt.Errorf("image: layer %s: %w", l.Meta.File, err)
		}
	}
	return nil
}

// ID is 8 hex digits naming the image of this chain in format: the same
// layers give the same ID.
func (im *Image) ID(format string) string {
	h := sha256.New()
	fmt.Fprintln(h, format)
	for _, l := range im.Layers {
		fmt.Fprintln(h, l.Meta.File, l.Meta.Digest)
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))[:8])
}

// Label is the file system label the init finds the medium by: MODE_<ID>,
// a valid ISO 9660 volume ID and ext4 label.
func (im *Image) Label(format string) string { return "MODE_" + im.ID(format) }

// Epoch is the date of every file on the medium: the newest layer's build
// time, so the same chain gives the same bytes.
func (im *Image) Epoch() time.Time {
	var t time.Time
	for _, l := range im.Layers {
		if l.Meta.Built.After(t) {
			t = l.Meta.Built
		}
	}
	if t.IsZero() {
		t = time.Unix(1, 0)
	}
	return t.UTC().Truncate(time.Second)
}

// LayersSize is the bytes of the layers.
func (im *Image) LayersSize() int64 {
	var n int64
	for _, l := range im.Layers {
		fi, err := os.Stat(l.Path)
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}

// stageLayers writes the layers' metadata as FILE.json into dir and returns
// the files the medium's layer directory holds: name on the medium → source.
func (im *Image) stageLayers(dir string) (map[string]string, error) {
	files := map[string]string{}
	for _, l := range im.Layers {
		stem := strings.TrimSuffix(l.Meta.File, ".sqfs")
		if stem == l.Meta.File || strings.ContainsAny(stem, "/\\") || stem == "" {
			return nil, fmt.Errorf("layer file name %q: want NAME.sqfs", l.Meta.File)
		}
		b, err := json.MarshalIndent(l.Meta, "", "  ")
		if err != nil {
			return nil, err
		}
		j := filepath.Join(dir, stem+".json")
		if err := os.WriteFile(j, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
		files[l.Meta.File] = l.Path
		files[stem+".json"] = j
	}
	for name, path := range im.Files {
		if strings.ContainsAny(name, "/\\") || name == "" || files[name] != "" {
			return nil, fmt.Errorf("file %q: want a plain name that no layer uses", name)
		}
		files[name] = path
	}
	return files, nil
}

// copyFile copies src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
