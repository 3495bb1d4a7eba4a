#!/usr/bin/env bash
# What writing report.html costs an eval (issue #16: <= 5% on the 12-image set): cold `eval` processes with and
# without --no-report, alternating, 3 warm-up pairs then PAIRS measured pairs; prints median wall and user+sys CPU of
# each side and the ratios. Uses the demo model (run `./vcp-native demo` first) at 112 px.
#
# Usage: bench/report-cost.sh BINARY DATA [PAIRS (default 15)]
#   BINARY: a vcp-native executable (e.g. the NativeAOT build: dotnet publish src/VcpNative.Cli -c Release -r linux-x64
#           -p:PublishAot=true -p:IlcInstructionSet=x86-64-v4 -o /tmp/aot), DATA: an MVTec-layout folder (vcp-native synth).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="$1"; data="$2"; pairs="${3:-15}"
[[ -f "$root/demo-out/random_clip.safetensors" ]] || { echo "report-cost: run ./vcp-native demo first (it writes demo-out/)" >&2; exit 2; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 - "$binary" "$data" "$pairs" "$root" <<'PY'
import os, shutil, statistics, subprocess, sys, tempfile, time
binary, data, pairs, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
base = [binary, "eval", "--clip", f"{root}/demo-out/random_clip.safetensors", "--head", f"{root}/demo-out/train/last.safetensors",
        "--dataset", "mvtec", "--data", data, "--image-size", "112", "--batch-size", "4"]
work = tempfile.mkdtemp(prefix="report-cost-")
def run(report):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    p = subprocess.Popen(base + ["-o", out] + ([] if report else ["--no-report"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"report-cost: eval exited {os.waitstatus_to_exitcode(status)}")
    if report != os.path.exists(os.path.join(out, "report.html")):
        sys.exit("report-cost: report.html presence does not match the flag")
    return wall, usage.ru_utime + usage.ru_stime
results = {True: [], False: []}
for i in range(3 + pairs):
    order = [False, True] if i % 2 == 0 else [True, False]
    for report in order:
        r = run(report)
        if i >= 3:
            results[report].append(r)
shutil.rmtree(work, ignore_errors=True)
def med(xs, k): return statistics.median(x[k] for x in xs)
w0, w1 = med(results[False], 0), med(results[True], 0)
c0, c1 = med(results[False], 1), med(results[True], 1)
m0, m1 = min(x[0] for x in results[False]), min(x[0] for x in results[True])
print(f"{pairs} pairs: median wall without / with report {w0:.3f} / {w1:.3f} s (ratio {w1 / w0:.3f}); minima {m0:.3f} / {m1:.3f} s (ratio {m1 / m0:.3f})")
print(f"median CPU without / with {c0:.3f} / {c1:.3f} s ({1000 * (c1 - c0):+.0f} ms, ratio {c1 / c0:.3f})")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
