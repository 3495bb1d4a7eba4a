#!/usr/bin/env bash
# Times VCP-CLIP inference (ViT-L/14@336px, random weights, 518 px, batch 1, CPU) in vcp-native and in the authors'
# method in PyTorch, interleaved for ROUNDS rounds so both see the same machine load, and prints the best run of each
# side per stage, the ratio and both peak memories. Not run in CI.
#
# Usage, from anywhere:  tools/peer/run_comparison.sh [ROUNDS (default 3)] [THREADS (default 2)] [ITERATIONS (default 2)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-3}"
threads="${2:-2}"
iterations="${3:-2}"
out="$(mktemp -d)"
cd "$root"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
./vcp-native --help >/dev/null   # builds Release on first use, outside the timing
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: vcp-native..." >&2
  ./vcp-native bench --random-weights --arch vit-l-14-336 --method vcp --image-size 518 --batch-size 1 \
    --threads "$threads" --device cpu --iterations "$iterations" --warmup 1 --json > "$out/ours_$r.json"
  echo "round $r/$rounds: pytorch..." >&2
  /usr/bin/python3 tools/peer/vcp_pytorch_peer.py --image-size 518 --batch-size 1 --threads "$threads" \
    --iterations "$iterations" --warmup 1 --json > "$out/peer_$r.json"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def best(prefix):
    runs = [json.load(open(f"{out}/{prefix}_{r}.json")) for r in range(1, rounds + 1)]
    return min(runs, key=lambda j: j["stages_s_per_batch"]["total"]), runs
ours, ours_all = best("ours")
peer, peer_all = best("peer")
rows = [("decode + preprocess", "decode_preprocess"), ("image tower", "image_tower"),
        ("text tower + heads", "text_heads"), ("post-processing", "postprocess"), ("total", "total")]
print(f"VCP-CLIP ViT-L/14@336px, 518 px, batch 1, {ours['threads']} threads, best of {rounds} interleaved rounds "
      f"(each the mean of {ours['iterations']} timed iterations after 1 warm-up)\n")
print("| stage | vcp-native (s) | PyTorch peer (s) | speed-up |")
print("|---|---:|---:|---:|")
for name, key in rows:
    a, b = ours["stages_s_per_batch"][key], peer["stages_s_per_batch"][key]
    print(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.2f}x |")
print(f"| peak resident memory (MiB) | {ours['peak_rss_mb']:.0f} | {peer['peak_rss_mb']:.0f} | "
      f"{peer['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x less |")
print(f"\nvcp-native: {ours['achieved_gflops']:.1f} GFLOP/s achieved ({ours['gflop_per_image']:.0f} GFLOP/image), "
      f"GEMM kernel {ours['gemm_kernel']}; PyTorch {peer['peer']}")
print("all totals (s): vcp-native " + ", ".join(f"{j['stages_s_per_batch']['total']:.2f}" for j in ours_all)
      + "; pytorch " + ", ".join(f"{j['stages_s_per_batch']['total']:.2f}" for j in peer_all))
print(f"ratio (PyTorch / vcp-native, best totals): {peer['stages_s_per_batch']['total'] / ours['stages_s_per_batch']['total']:.2f}x")
PY
