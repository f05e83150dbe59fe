package netboot

// noCloudPath is where Config.NoCloud serves the seeds (fleet.NoCloudPath).
const noCloudPath = "/boot/nocloud/"

// noCloudArg is the kernel argument that points cloud-init at machine mac's
// NoCloud seed, with a trailing space; "" without Config.NoCloud. The ';'
// needs no escape for iPXE, which splits a line on white space and takes
// ';' as a command separator only as a word of its own (GRUB would want
// "\;"); the kernel passes the word on whole.
func noCloudArg(c Config, files, mac, token string) string {
	if c.NoCloud == nil {
		return ""
	}
	return "ds=nocloud-net;s=" + files + noCloudPath + mac + "/" + token + "/ "
}
