#!/usr/bin/env bash
# Builds .device-learning/ at the repo root: everything the learning benchmark needs on an x86-64 Linux machine with
# no Node.js and no network. Run here:  bash bench/learning/pack.sh <warm-up model dir>
# (make the warm-up once: main.ts --warmup-only --work tmp/warmup1000). Contents: learning.js (one-file bundle of
# bench/learning/main.ts), the tfjs wasm binaries next to it, node.xz (this machine's /usr/bin/node), warmup/ (the
# model, without optimizer state) and run.sh (bench/learning/device-run.sh). Use: bash .device-learning/run.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
WARMUP=${1:?usage: pack.sh <warm-up model dir>}
DEST=.device-learning
LIMIT_MIB=60

exclude=$(git rev-parse --git-path info/exclude)
grep -qxF "/$DEST/" "$exclude" 2>/dev/null || echo "/$DEST/" >>"$exclude"

rm -rf "$DEST"
mkdir -p "$DEST/warmup"
nice -n 10 npx webpack -c bench/learning/bundle.config.cjs
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$DEST/"
for f in "$WARMUP"/*; do
  case "$(basename "$f")" in optimizer.safetensors) ;; *) cp "$f" "$DEST/warmup/" ;; esac
done
# xz of a 95 MiB binary takes a minute: keep it between packs, keyed by the node version.
cache="tmp/node-$(/usr/bin/node --version)-$(uname -m).xz"
if [ ! -s "$cache" ]; then
  mkdir -p tmp
  nice -n 10 xz -T1 -9 -c /usr/bin/node >"$cache.part" && mv "$cache.part" "$cache"
fi
cp "$cache" "$DEST/node.xz"
cp bench/learning/device-run.sh "$DEST/run.sh"

size=$(du -sk "$DEST" | cut -f1)
ls -la "$DEST" "$DEST/warmup"
echo "$DEST: $((size / 1024)) MiB ($size KiB)"
[ "$size" -lt $((LIMIT_MIB * 1024)) ] || { echo "over $LIMIT_MIB MiB"; exit 1; }
