#!/usr/bin/env bash
# CPU throughput modes side by side (issue #21): one pipeline at batch 1, 4 and 8 on all threads, against two
# pipelines in flight (one model in memory, --threads/2 threads each), interleaved for ROUNDS rounds so every mode
# sees the same machine load. Prints the best images/s of each mode, its latency per batch and peak memory.
#
# Usage: bench/throughput.sh [ROUNDS (default 2)] [IMAGE_SIZE (default 518)] [ARCH (default vit-l-14-336)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-2}"
size="${2:-518}"
arch="${3:-vit-l-14-336}"
out="$(mktemp -d)"
cd "$root"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
./vcp-native --help >/dev/null   # builds Release on first use, outside the timing
modes=("1 1" "1 4" "1 8" "2 1" "2 4")
for r in $(seq 1 "$rounds"); do
  for mode in "${modes[@]}"; do
    read -r inflight batch <<<"$mode"
    echo "round $r/$rounds: in flight $inflight, batch $batch..." >&2
    ./vcp-native bench --random-weights --arch "$arch" --image-size "$size" --threads "$(nproc)" --in-flight "$inflight" \
      --batch-size "$batch" --iterations 1 --warmup 1 --json > "$out/${inflight}_${batch}_$r.json"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 - "$out" "$rounds" "${modes[@]}" <<'PY'
import json, sys
out, rounds, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(f"{'mode':28} {'images/s':>9} {'s/batch':>8} {'CPU s/img':>9} {'peak MiB':>9}")
for mode in modes:
    inflight, batch = mode.split()
    runs = [json.load(open(f"{out}/{inflight}_{batch}_{r}.json")) for r in range(1, rounds + 1)]
    def one(j):
        if "in_flight" in j:
            return j["images_per_s"], j["s_per_batch"], j["cpu_s_per_image"], j["peak_resident_bytes"] / 2**20
        return j["images_per_s"], j["stages_s_per_batch"]["total"], j["cpu_s_per_batch"] / j["batch_size"], j["peak_rss_mb"]
    best = max((one(j) for j in runs), key=lambda t: t[0])
    print(f"{inflight} in flight x batch {batch:<10} {best[0]:9.3f} {best[1]:8.2f} {best[2]:9.2f} {best[3]:9.0f}")
print(f"kernel: {runs[0]['gemm_kernel']} ({runs[0].get('gemm_blocking', '?')})")
PY
