#!/usr/bin/env bash
# Two builds of vcp-native, interleaved: is a change faster? (issue #21: speed as ratios against a peer in the same run)
#
# Runs `bench --json` with the same options on build A and build B, alternating A B A B ... for ROUNDS rounds, and prints
# each run's best total, image tower and process CPU time, then the medians and B/A ratios. Alternating keeps slow
# phases of a shared machine from landing on one build only; the CPU-time ratio is the steadier figure when other
# work runs (it counts this process's cores, not the wall clock).
#
# Usage: bench/ab-builds.sh A.dll B.dll ROUNDS [bench options...]
#   A.dll, B.dll: vcp-native.dll of each build, e.g. from
#     git worktree add /tmp/base HEAD~1 && dotnet build /tmp/base/src/VcpNative.Cli -c Release -o /tmp/base-cli
#   default bench options: --random-weights --image-size 518 --iterations 2 --warmup 1
# Env: anything the runtime reads (DOTNET_EnableAVX512=0 for the AVX2 kernels), passed to both builds alike.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: bench/ab-builds.sh A.dll B.dll ROUNDS [bench options...]" >&2; exit 2; }
a="$1"; b="$2"; rounds="$3"; shift 3
for f in "$a" "$b"; do [[ -f "$f" ]] || { echo "ab-builds: $f: no such file" >&2; exit 2; }; done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ab-builds: ROUNDS must be a positive integer, found '$rounds'" >&2; exit 2; }
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--random-weights --image-size 518 --iterations 2 --warmup 1)
out="$(mktemp -d)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench ${args[*]}"
for ((i = 1; i <= rounds; i++)); do
  for side in A B; do
    dll="$a"; [[ $side == B ]] && dll="$b"
    if ! dotnet "$dll" bench "${args[@]}" --json >"$out/$side.$i.json" 2>"$out/$side.$i.err"; then
      echo "ab-builds: build $side failed in round $i:" >&2; tail -3 "$out/$side.$i.err" >&2; exit 1
    fi
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
runs = {s: [json.load(open(f"{out}/{s}.{i}.json")) for i in range(1, rounds + 1)] for s in "AB"}
def row(r):
    return r["best_total_s_per_batch"], r["stages_s_per_batch"]["image_tower"], r["cpu_s_per_batch"]
print(f"kernel: A {runs['A'][0]['gemm_kernel']}, B {runs['B'][0]['gemm_kernel']}; compute A {runs['A'][0]['compute']}, B {runs['B'][0]['compute']}")
print("round | A best total  tower    CPU s | B best total  tower    CPU s")
for i in range(rounds):
    a, b = row(runs["A"][i]), row(runs["B"][i])
    print(f"{i + 1:5d} | {a[0]:12.3f} {a[1]:6.3f} {a[2]:8.2f} | {b[0]:12.3f} {b[1]:6.3f} {b[2]:8.2f}")
for k, name in enumerate(["best total", "image tower", "process CPU"]):
    ma = statistics.median(row(r)[k] for r in runs["A"])
    mb = statistics.median(row(r)[k] for r in runs["B"])
    pairs = statistics.median(row(runs["B"][i])[k] / row(runs["A"][i])[k] for i in range(rounds))
    print(f"{name:12s}: median A {ma:.3f}, B {mb:.3f}, B/A {mb / ma:.3f} (median of per-round ratios {pairs:.3f})")
PY
rm -rf "$out"
