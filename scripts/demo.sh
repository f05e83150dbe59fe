#!/usr/bin/env bash
# make demo: the main job on the embedded defaults, as a newcomer would run it.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=bin/mode
out=${DEMO_OUT:-out/tiny}
# The demo's own store, so that it neither shows nor touches other builds' tags.
export MODE_STORE=${MODE_STORE:-$PWD/.cache/demo/store}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "build examples/tiny into $out (a busybox base and three modules)"
$mode build --dir examples/tiny --out "$out"

step "the hierarchy and the state of each layer"
$mode tree --dir examples/tiny --out "$out"

step "a second build: nothing to do"
$mode build --dir examples/tiny --out "$out"

step "the top layer, read without mounting"
$mode inspect "$out/base-essential-console-extra.sqfs"

step "essential's layer: a whiteout and an opaque directory"
$mode inspect "$out/base-essential.sqfs"
