#!/bin/bash
# pipeline.sh OUT CACHE SOURCES — the work of `mode build --dir examples/debian
# console` as a plain shell pipeline, for `make bench` to time mode against:
# mmdebstrap → for each module: overlay over the loop-mounted parents, chroot
# apt-get, mksquashfs of the upper. Same packages, same apt cache (CACHE, the
# shared one), same mirror (SOURCES, a deb822 file of the host's sources),
# same compression; no pruning and no metadata. Needs root.
set -euo pipefail
out=$1 cache=$2 sources=$3
here=$(cd "$(dirname "$0")" && pwd)
[ "${MODE_PIPELINE_NS:-}" = 1 ] || MODE_PIPELINE_NS=1 exec unshare -m --propagation private "$0" "$@"
exec 9>"$cache/mode.lock" && flock 9 # the cache is shared with mode's builds: one at a time
work=$(mktemp -d)
trap 'umount -R "$work"/* 2>/dev/null || true; rm -rf "$work"' EXIT
squash() { mksquashfs "$1" "$2" -noappend -no-progress -quiet -comp zstd; }
apt_get() {
	chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q \
		-o Dir::Cache::Archives=/run/cache/archives/ -o Dir::State::Lists=/run/cache/lists/pipeline/ \
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Dpkg::Options::=--force-confold \
		-o Dir::Log::Terminal=/dev/null -o Dir::Log::History=/dev/null "$@"
}

# base
mkdir "$work/base"
mmdebstrap --mode=root --variant=minbase --skip=essential/unlink \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives && mount --bind '"$cache/archives"' "$1"/var/cache/apt/archives' \
	--customize-hook='umount "$1"/var/cache/apt/archives' \
	--customize-hook='rm -f "$1"/etc/resolv.conf "$1"/etc/hostname' \
	bookworm "$work/base" "$sources" 2>/dev/null
squash "$work/base" "$out/base.sqfs"

# layer NAME PARENTS... — mounts the parents, runs the module's steps (from
# the function step_NAME) in a chroot of the overlay, squashes the upper.
layer() {
	local name=$1 lowers="" i=0 l
	shift
	for l in "$@"; do
		mkdir -p "$work/$name.l$i"
		mount -o loop,ro -t squashfs "$out/$l.sqfs" "$work/$name.l$i"
		lowers="$work/$name.l$i${lowers:+:$lowers}"
		i=$((i + 1))
	done
	mkdir "$work/$name.upper" "$work/$name.work" "$work/$name.root"
	root=$work/$name.root
	mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$work/$name.upper,workdir=$work/$name.work" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount -t sysfs sysfs "$root/sys"
	mount -t tmpfs tmpfs "$root/run"
	mkdir -p "$cache/lists/pipeline/partial" "$root/run/cache"
	mount --bind "$cache" "$root/run/cache"
	touch "$root/etc/resolv.conf" && mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
	"step_$name"
	umount -R "$root"
	rm -f "$work/$name.upper/usr/sbin/policy-rc.d" "$work/$name.upper/etc/resolv.conf"
	rm -rf "$work/$name.upper"/var/log/* "$work/$name.upper"/var/cache/apt/* "$work/$name.upper"/tmp/*
	[ ! -s "$work/$name.upper/etc/machine-id" ] || : >"$work/$name.upper/etc/machine-id"
	squash "$work/$name.upper" "$out/$name.sqfs"
}
step_essential() {
	install -D -m 644 "$here/files/80-dhcp.network" "$root/etc/systemd/network/80-dhcp.network"
	apt_get update
	apt_get -y install --no-install-recommends systemd-sysv udev kmod iproute2 squashfs-tools
	chroot "$root" systemctl enable systemd-networkd.service
}
step_console() {
	install -D -m 644 "$here/files/mode-console-ready.service" "$root/etc/systemd/system/mode-console-ready.service"
	install -D -m 644 "$here/files/ssh-keygen.conf" "$root/etc/systemd/system/ssh.service.d/keygen.conf"
	apt_get -y purge usrmerge
	apt_get -y install --no-install-recommends openssh-server less vim-tiny htop
	chroot "$root" systemctl enable mode-console-ready.service
	rm -f "$root"/etc/ssh/ssh_host_*
}
layer essential base
layer console base essential
