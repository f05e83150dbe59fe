package media

import (
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
)

// Netboot under UEFI Secure Boot: the TFTP root gets Debian's signed shim
// (the boot file of UEFI clients), the signed network GRUB as grubx64.efi
// beside it (shim fetches it from the same TFTP directory), and
// grub/grub.cfg (the network GRUB's prefix is /grub on the TFTP server),
// which sources mode serve's /boot/grub.cfg. The same files boot a UEFI
// machine with Secure Boot off.
const (
	ShimBootFile = "shimx64.efi" // the DHCP boot file of UEFI clients
	grubNetFile  = "grubx64.efi" // what shim loads next
	grubNetCfg   = "grub/grub.cfg"
)

// writeShimPXE writes the Secure Boot netboot files into the TFTP root dir
// for mode serve at server (HOST:PORT) and chain ("" for the server's).
func writeShimPXE(dir, server, chain string) ([]string, error) {
	for name, src := range map[string]string{ShimBootFile: ShimSigned, grubNetFile: GrubNetSigned} {
		if err := copyFile(src, filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("%w (install shim-signed and grub-efi-amd64-signed)", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "grub"), 0o755); err != nil {
		return nil, err
	}
	q := "mac=${net_default_mac}"
	if chain != "" {
		q = "chain=" + neturl.QueryEscape(chain) + "&" + q
	}
	cfg := "# mode netboot: Debian's signed network GRUB (grubx64.efi, loaded by shimx64.efi) reads this.\n" +
		"# It asks mode serve how this machine boots (by its MAC), over plain HTTP.\n" +
		"source \"(http," + server + ")/boot/grub.cfg?" + q + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, grubNetCfg), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	return []string{ShimBootFile, grubNetFile, grubNetCfg}, nil
}
