#!/bin/sh
# deb.sh BIN OUTDIR [VERSION]: the Debian package of mode from the binary BIN
# (make build's bin/mode), written as OUTDIR/mode_VERSION_ARCH.deb, its path
# on stdout. It carries the binary, the mode-serve unit, /etc/mode/serve.yaml
# (a conffile), the man page and the shell completions, all made by BIN
# itself. dpkg-deb only: no packaging tool to install (docs/service.md).
set -eu
bin=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
version=${3:-0.0~git$(git -C "$here" log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || date +%Y%m%d)}
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$bin" "$root/usr/bin/mode"
install -D -m 0644 "$here/mode-serve.service" "$root/lib/systemd/system/mode-serve.service"
install -D -m 0644 "$here/serve.yaml" "$root/etc/mode/serve.yaml"
install -D -m 0644 "$here/../docs/service.md" "$root/usr/share/doc/mode/service.md"
mkdir -p "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" \
	"$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
"$bin" man --out "$root/usr/share/man/man1" >/dev/null
gzip -9n "$root/usr/share/man/man1/mode.1"
"$bin" completion bash >"$root/usr/share/bash-completion/completions/mode"
"$bin" completion zsh >"$root/usr/share/zsh/vendor-completions/_mode"
"$bin" completion fish >"$root/usr/share/fish/vendor_completions.d/mode.fish"

mkdir -p "$root/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" "$here/debian/control" >"$root/DEBIAN/control"
echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)" >>"$root/DEBIAN/control"
install -m 0644 "$here/debian/conffiles" "$root/DEBIAN/conffiles"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$root/DEBIAN/"
find "$root" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +

mkdir -p "$out"
deb="$out/mode_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
