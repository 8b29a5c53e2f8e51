#!/usr/bin/env bash
# The learning benchmark on a machine without Node.js (copied to .device-learning/run.sh by bench/learning/pack.sh).
#   bash .device-learning/run.sh OUT_DIR --variant hard_last [extra benchmark flags for every shard, e.g. --steps 2]
# (the variant must be the one the packed warm-up was made for: one pack per variant)
# Unpacks node to /tmp, runs every (arm, seed) shard of the full grid as its own process, JOBS at a time (default: all
# at once; 22 shards on 16 cores take ≈ 1.4 shard-times), then merges them: OUT_DIR gets
# report.txt, learning-curves.svg, learning-results.json, shards/*.json and a log per shard.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: run.sh OUT_DIR [benchmark flags]}
shift
mkdir -p "$OUT/shards"
OUT=$(cd "$OUT" && pwd)
# The full grid: the control and both GRPO-λ arms on every seed, plain GRPO on 3, μ = 2 on one (config.ts).
SEEDS=${SEEDS:-1 2 3 4 5 6}
ARMS=${ARMS:-grpo_clamp grpo_lambda grpo_lambda_norm}
EXTRA_SHARDS=${EXTRA_SHARDS:-grpo:1 grpo:2 grpo:3 grpo_lambda_mu2:1}
WORK=${TMPDIR:-/tmp}/tracetune-learning-$$
NODE=${NODE:-${TMPDIR:-/tmp}/tracetune-node-v20/node}

if [ ! -x "$NODE" ]; then
  mkdir -p "$(dirname "$NODE")"
  if command -v xz >/dev/null; then xz -dc "$HERE/node.xz" >"$NODE.part"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$HERE/node.xz" "$NODE.part"; fi
  chmod +x "$NODE.part" && mv "$NODE.part" "$NODE"
fi
echo "node $("$NODE" --version) on $(uname -m), $(nproc) cores; $(date -u +%FT%TZ)" | tee "$OUT/machine.txt"

shards=()
for seed in $SEEDS; do for arm in $ARMS; do shards+=("$arm $seed"); done; done
for x in $EXTRA_SHARDS; do shards+=("${x%%:*} ${x##*:}"); done
JOBS=${JOBS:-${#shards[@]}}
export HERE OUT WORK NODE EXTRA="$*"
shard() {
  local name="$1-s$2"
  # EXTRA is split into words on purpose: plain flags and values only.
  # shellcheck disable=SC2086
  if "$NODE" "$HERE/learning.js" --warmup-dir "$HERE/warmup" --arms "$1" --seed-list "$2" --work "$WORK/$name" \
    --json-out "$OUT/shards/$name.json" $EXTRA >"$OUT/shards/$name.log" 2>&1; then
    echo "done $name $(grep -o '([0-9]* s)$' "$OUT/shards/$name.log" | tail -1)"
  else
    echo "FAILED $name (exit $?):"; tail -5 "$OUT/shards/$name.log"
  fi
}
export -f shard
start=$(date +%s)
echo "${#shards[@]} shards, $JOBS at a time"
printf '%s\n' "${shards[@]}" | xargs -P "$JOBS" -L 1 bash -c 'shard $0 $1'
echo "shards finished in $(($(date +%s) - start)) s" | tee -a "$OUT/machine.txt"
rm -rf "$WORK"

files=$(find "$OUT/shards" -name '*.json' | sort | paste -sd, -)
[ -n "$files" ] || { echo "no shard results"; exit 1; }
"$NODE" "$HERE/learning.js" --merge "$files" --svg "$OUT/learning-curves.svg" --results "$OUT/learning-results.json" | tee "$OUT/report.txt"
n=$(find "$OUT/shards" -name '*.json' | wc -l)
[ "$n" -eq "${#shards[@]}" ] || { echo "only $n of ${#shards[@]} shards produced results"; exit 1; }
