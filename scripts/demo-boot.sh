#!/usr/bin/env bash
# make demo, boot part: build examples/tiny, serve it with mode serve (which
# also serves the netboot files), boot it in QEMU from that server and show
# the marker busybox init prints once it checked every layer.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${MODE:-bin/mode}
export MODE_KERNEL_DIR=${MODE_KERNEL_DIR:-$PWD/.cache/kernel}
work=$(mktemp -d)
server=""
cleanup() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; wait "$server" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "build examples/tiny into the store $work/store"
$mode build --dir examples/tiny --out "$work/out" --store "$work/store"

step "the initramfs: mode-init, kernel modules, busybox, CA certificates"
$mode initramfs --kernel-modules "$(ls "$MODE_KERNEL_DIR"/linux-image-*.deb)" -o "$work/initrd.img"

step "serve the store on loopback (10.0.2.2 in the guest: --advertise 10.0.2.2)"
$mode serve --addr 127.0.0.1:0 --advertise 10.0.2.2 --store "$work/store" --boot-chain extra --initrd "$work/initrd.img" \
	--kernel "$(ls "$MODE_KERNEL_DIR"/root/boot/vmlinuz-*)" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(head -1 "$work/serve.out")
host=${url#http://}
echo "serving on $url"
echo "the iPXE script a netbooting machine gets:"
curl -fsS "$url/boot/boot.ipxe"

step "boot the chain extra in QEMU (TCG) from $host; stop at the marker"
$mode boot "$host/tiny:extra" --initrd "$work/initrd.img" --memory 384 --append quiet \
	--expect MODE-TINY-OK --timeout 3m
