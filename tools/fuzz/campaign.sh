#!/usr/bin/env bash
# campaign.sh TARGET MINUTES: runs afl-fuzz on one harness target (instrument.sh first) from its committed corpus
# (tools/fuzz/corpus/TARGET) or, when given SEEDS=dir, from raw seeds; writes afl's state under findings/TARGET and
# one summary line, from fuzzer_stats, to results/TARGET.txt. Hang bound: 1 s (-t 1000).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$1"
minutes="$2"
seeds="${SEEDS:-$here/corpus/$target}"
out="$here/findings/$target"
mkdir -p "$here/results"
rm -rf "$out"
# A private copy of the instrumented driver, so instrument.sh may rebuild out/ while this campaign runs.
mkdir -p "$out"
cp -r "$here/out" "$out/bin"
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1
export AFL_AUTORESUME=0 AFL_FAST_CAL=1
# -m none: the .NET runtime reserves far more address space than afl's default limit.
timeout --signal=INT $((minutes * 60 + 30)) nice -n 10 afl-fuzz -i "$seeds" -o "$out" -t 1000 -m none -V $((minutes * 60)) \
  -- "$out/bin/VcpNative.Fuzz" "$target" > "$out.log" 2>&1 || true
stats="$out/default/fuzzer_stats"
get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
crashes=$(ls "$out/default/crashes" 2>/dev/null | grep -vc README || true)
hangs=$(ls "$out/default/hangs" 2>/dev/null | wc -l)
line="$target: $(( $(get run_time) / 60 )) min, $(get execs_done) execs, $(get execs_per_sec) execs/s, edges $(get edges_found)/$(get total_edges), corpus $(get corpus_count), crashes $crashes (saved), hangs $hangs (saved), $(date -u +%F) on $(nproc)-core $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "$line" | tee "$here/results/$target.txt"
