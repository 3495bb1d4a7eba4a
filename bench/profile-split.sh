#!/usr/bin/env bash
# Where the CPU time of inference goes, by kind of work (issue #21: "the non-GEMM time under 10% of the tower").
# Samples `vcp-native bench` with perf after its warm-up (JIT code named through the runtime's perf map) and groups
# the samples by function: sgemm micro-kernels, sgemm packing and driver, attention
# softmax, layer norm, activations, elementwise/copies, thread-pool waiting, kernel (page faults), other.
# Shares of the process's own CPU samples hardly depend on other load on the machine, unlike wall-clock times.
#
# Usage: bench/profile-split.sh [bench options...]   (default: --random-weights --image-size 518 --iterations 2)
# Env:   DOTNET_EnableAVX512=0 to see the AVX2 kernels on an AVX-512 machine. Needs perf (linux-perf).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v perf >/dev/null || { echo "profile-split: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--random-weights --image-size 518 --iterations 2 --warmup 1)
out="$(mktemp -d)"
cd "$root"
./vcp-native --help >/dev/null   # builds Release on first use, outside the profile
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# W^X off: with it the JIT's code lives in a double-mapped memfd that perf cannot match with the perf map.
# perf attaches once the warm-up iteration has finished, so model building and first-call JIT are not sampled.
DOTNET_EnableWriteXorExecute=0 DOTNET_PerfMapEnabled=1 dotnet "$root/.build/cli/vcp-native.dll" bench "${args[@]}" \
  >"$out/bench.txt" 2>"$out/bench.err" &
pid=$!
until grep -q "warm-up" "$out/bench.err" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$out/bench.err" >&2; echo "profile-split: bench ended before its warm-up finished (pass --warmup 1 or more)" >&2; exit 1; }
  sleep 0.2
done
perf record -q -F 499 -p "$pid" -o "$out/perf.data" 2>/dev/null || true
wait "$pid"
cat "$out/bench.txt" >&2
perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null > "$out/report.txt"
/usr/bin/python3 - "$out/report.txt" <<'PY'
import re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*)", line)
    if m:
        rows.append((float(m.group(1)), m.group(2), m.group(3)))
groups = [
    ("model build (excluded)", r"RandomWeights|ParameterSet|SafeTensors|Tokenizer"),
    ("sgemm micro-kernels", r"SgemmKernels::"),
    ("sgemm packing + driver", r"SgemmPacking|SgemmTask|Sgemm::|PackedMatrix|CompressedWeightRows|AttentionGemm"),
    ("int8 gemm", r"Int8|Quantiz"),
    ("attention softmax/scale", r"ExpShifted|Softmax|Attention"),
    ("layer norm", r"LayerNorm"),
    ("activations (GELU)", r"Activations::|Gelu"),
    ("elementwise, copies, reductions", r"TensorPrimitives|CpuBackend::|Memmove|memmove|memset|memcpy|VectorMath|RowIterator"),
    ("thread pool (waiting, waking)", r"CpuThreadPool|WorkerPool|SpinWait|sched_yield|futex|Semaphore|ManualResetEvent|Monitor"),
    ("resize, preprocess, post-process", r"Resample|Preprocess|Gaussian|Png|Image|TopK|Resize"),
    ("kernel (page faults, scheduling)", r"^\[k\]"),
]
totals = {name: 0.0 for name, _ in groups}
other = 0.0
for share, kind, sym in rows:
    key = ("[k] " if kind == "k" else "") + sym
    for name, pattern in groups:
        if re.search(pattern, key):
            totals[name] += share
            break
    else:
        other += share
counted = sum(s for s, _, _ in rows) - totals["model build (excluded)"]
print(f"{'kind of work':36} {'share':>7}")
for name, _ in groups[1:]:
    print(f"{name:36} {100 * totals[name] / counted:6.1f}%")
print(f"{'other':36} {100 * other / counted:6.1f}%")
gemm = totals["sgemm micro-kernels"] + totals["sgemm packing + driver"] + totals["int8 gemm"]
print("top functions:")
for share, kind, sym in sorted(rows, reverse=True)[:12]:
    name = re.sub(r"^(instance )?[\w.`<>!\[\], ]*? \[[\w.]+\] ", "", sym)[:110]
    print(f"  {100 * share / counted:5.1f}%  {name}")
print(f"GEMM (kernels + packing) {100 * gemm / counted:.1f}%, everything else {100 * (counted - gemm) / counted:.1f}% of inference CPU samples")
PY
