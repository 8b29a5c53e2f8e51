#!/usr/bin/env bash
# bench/gpu on a GPU machine (copied to .device-gpu/run.sh by bench/gpu/device/pack.sh; docs/gpu.md has the exact
# device call). One run answers: train step and decode tokens/s for tt-mini and a Qwen2-0.5B-shaped model (full and
# LoRA) on tfjs-webgpu (the GPU, through Vulkan), tfjs-wasm (one CPU core, in parallel: it never touches the GPU) and
# PyTorch fp32 eager on the same GPU, with ratios; plus a 20-step GRPO-λ job on webgpu.
#   bash .device-gpu/run.sh OUT_DIR [--quick]
# Environment: NODE (a node binary; default: node.xz unpacked to /tmp), PYTHON (default python3), WASM=0 to skip wasm.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: run.sh OUT_DIR [--quick]}
shift
QUICK=("$@")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
NODE=${NODE:-/tmp/tracetune-node/node}
PYTHON=${PYTHON:-python3}
unxz_to() { # archive destination
  [ -s "$2" ] && return 0
  mkdir -p "$(dirname "$2")"
  if command -v xz >/dev/null; then xz -dc "$1" >"$2.part"
  else "$PYTHON" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.part"; fi
  chmod +x "$2.part" && mv "$2.part" "$2"
}
[ -x "$NODE" ] || unxz_to "$HERE/node.xz" "$NODE"
unxz_to "$HERE/webgpu/dawn.node.xz" "$HERE/webgpu/dist/linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')/dawn.node"

# Vulkan: the loader from Debian's packages where the machine has none; the NVIDIA driver's ICD where the loader does
# not find one by itself (a container often has the driver under /usr/local/nvidia, not in the loader's folders).
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in "$HERE"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/nvidia/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  icd=$(find /usr/local/nvidia /usr/share /etc /usr/lib -name 'nvidia_icd*.json' 2>/dev/null | head -1)
  [ -n "$icd" ] && export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
fi
{
  echo "date: $(date -u +%FT%TZ); node $("$NODE" --version); $(nproc) cores; $(uname -r)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  echo "Vulkan loader: $(ldconfig -p | grep -m1 'libvulkan\.so\.1' | sed 's/.*=> //'); ICD: ${VK_DRIVER_FILES:-found by the loader}"
} | tee "$OUT/machine.txt"

cd "$HERE"
if [ "${WASM:-1}" != 0 ]; then
  # One core, no GPU: runs beside the GPU runners without disturbing them (the machine has 16 cores).
  timeout 480 "$NODE" gpu.js --backend wasm --out "$OUT/wasm.json" "${QUICK[@]}" >"$OUT/wasm.log" 2>&1 &
  wasm_pid=$!
fi
SHAPES=${TMPDIR:-/tmp}/tracetune-gpu-shapes.json
"$NODE" gpu.js --dump-shapes "$SHAPES" "${QUICK[@]}"
timeout 300 "$NODE" gpu.js --backend webgpu --out "$OUT/webgpu.json" "${QUICK[@]}" 2>&1 | grep --line-buffered -v '^Warning: max' | tee "$OUT/webgpu.log"
timeout 180 "$PYTHON" torch_gpu.py "$SHAPES" "$OUT/torch.json" 2>&1 | tee "$OUT/torch.log"
[ -n "${wasm_pid:-}" ] && { wait "$wasm_pid" || echo "wasm runner exited $?"; tail -3 "$OUT/wasm.log"; }
files=$(ls "$OUT"/webgpu.json "$OUT"/wasm.json "$OUT"/torch.json 2>/dev/null | paste -sd, -)
"$NODE" gpu.js --compare "$files" | tee "$OUT/report.txt"
