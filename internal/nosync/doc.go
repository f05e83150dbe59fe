// Package nosync turns the system calls that flush files to disk (fsync,
// fdatasync, sync_file_range, syncfs, sync) into no-ops returning 0, with a
// seccomp filter, for a build's processes: nothing of a tree being built
// needs to survive a crash (the layer is squashed and synced once at the end,
// a killed build is swept and made again), and dpkg, apt and maintainer
// scripts flush every file they write. It needs no LD_PRELOAD, so it works
// for static binaries and inside any root. The filter only answers those
// calls: every other system call, and every other restriction of the caller
// (capabilities, no_new_privs, namespaces), stays as it was; a process can
// never remove it, and its children inherit it.
package nosync
