#!/usr/bin/env bash
# Builds .device-gpu/ at the repo root: everything bench/gpu needs on an x86-64 Linux GPU machine with no Node.js, no
# network and maybe no Vulkan loader (docs/gpu.md, "Device script"). Run here:  bash bench/gpu/device/pack.sh
# Contents: gpu.js (one-file bundle of bench/gpu/main.ts), the tfjs wasm binaries next to it, webgpu/ (the `webgpu`
# package's package.json and dawn.node.xz), node.xz (this machine's node), debs/ (Debian's Vulkan loader and GL
# dispatch libraries, unpacked by run.sh only where the machine has no loader), torch_gpu.py and run.sh.
set -euo pipefail
cd "$(dirname "$0")/../../.."
DEST=.device-gpu
LIMIT_MIB=60

exclude=$(git rev-parse --git-path info/exclude)
grep -qxF "/$DEST/" "$exclude" 2>/dev/null || echo "/$DEST/" >>"$exclude"

rm -rf "$DEST"
mkdir -p "$DEST/webgpu" "$DEST/debs"
nice -n 10 npx webpack -c bench/gpu/device/bundle.config.cjs
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$DEST/"
cp node_modules/webgpu/package.json "$DEST/webgpu/"
# xz of large binaries takes a minute or two: keep them between packs, keyed by version.
mkdir -p tmp
pack_xz() { # source cache-name
  local cache="tmp/$2.xz"
  [ -s "$cache" ] || { nice -n 10 xz -T1 -9 -c "$1" >"$cache.part" && mv "$cache.part" "$cache"; }
  echo "$cache"
}
cp "$(pack_xz node_modules/webgpu/dist/linux-x64/dawn.node "dawn-$(node -p "require('./node_modules/webgpu/package.json').version")")" \
  "$DEST/webgpu/dawn.node.xz"
cp "$(pack_xz /usr/bin/node "node-$(/usr/bin/node --version)-$(uname -m)")" "$DEST/node.xz"
# amd64 .debs from Debian's archive, whatever this machine's architecture (apt's own lists in a private folder).
lists=tmp/apt-amd64-lists
mkdir -p "$lists/partial"
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$PWD/$lists")
apt-get "${o[@]}" update -qq
(cd "$DEST/debs" && apt-get "${o[@]}" download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2 >/dev/null)
cp bench/gpu/torch_gpu.py "$DEST/"
cp bench/gpu/device/run.sh "$DEST/run.sh"

size=$(du -sk "$DEST" | cut -f1)
ls -la "$DEST" "$DEST/webgpu" "$DEST/debs"
echo "$DEST: $((size / 1024)) MiB ($size KiB)"
[ "$size" -lt $((LIMIT_MIB * 1024)) ] || { echo "over $LIMIT_MIB MiB"; exit 1; }
