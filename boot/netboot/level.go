package netboot

// ZstdLevel is the zstd level of the initramfs the server builds (its
// default one and each chain kernel's, on first use): a machine's iPXE waits
// for that build during its first netboot, where mode initramfs and mode
// image take zstd -19 (initramfs.ZstdLevel) for media written once. The
// level is fixed, so the build stays deterministic (the same inputs, the
// same bytes); docs/bench.md, "First-use initramfs per kernel", has its
// time and size against -19.
const ZstdLevel = 3
