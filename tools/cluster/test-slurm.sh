#!/usr/bin/env bash
# Sharded infer on a real (one-node) Slurm: a 4-task array over 322 generated images with the tiny test model, one task
# cancelled mid-run (scancel of the array element) and resubmitted alone, the merge refused while that shard is
# unfinished, then merged and compared byte for byte (results.json/csv/jsonl, maps, overlays, masks) with a single run;
# then a 3-task eval array whose merged metrics must equal a single eval's.
# Needs root (slurm-local.sh start); about a minute once the CLI is built. Exit 0 = passed.
#   VCP_NATIVE  the binary to test (default: dist/linux-x64/vcp-native when built, else the ./vcp-native launcher)
#   KEEP=1      keep the work folder (printed) after the run
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
[ "$(id -u)" = 0 ] || { echo "test-slurm: needs root (a one-node Slurm is started by tools/cluster/slurm-local.sh)" >&2; exit 2; }

bin="${VCP_NATIVE:-}"
if [ -z "$bin" ]; then
  if [ -x dist/linux-x64/vcp-native ]; then bin="$repo/dist/linux-x64/vcp-native"; else bin="$repo/vcp-native"; fi
fi
work="$(mktemp -d /tmp/vcp-test-slurm.XXXXXX)"
export VCP_SLURM_DIR="$work/slurm" VCP_SLURM_PORT="$((20000 + $$ % 20000))"
finish() {
  local code=$?
  tools/cluster/slurm-local.sh stop || true
  if [ "$code" != 0 ]; then
    echo "test-slurm: FAILED (exit $code); job logs:" >&2
    tail -n 5 "$work"/logs/*.out >&2 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ] || [ "$code" != 0 ]; then echo "test-slurm: work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap finish EXIT
fail() { echo "test-slurm: FAILED: $*" >&2; exit 1; }
run() { echo "+ $*" >&2; "$@"; }
# Waits until the command (a function, evaluated each time) succeeds, at most $1 seconds.
wait_for() { local limit="$1"; shift; for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
gone() { [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; }

echo "test-slurm: binary $bin"
"$bin" --version >/dev/null # builds the launcher's Release once, before four tasks would race to
run tools/cluster/slurm-local.sh start
eval "$(tools/cluster/slurm-local.sh env)"
run sinfo

data="$work/data"
"$bin" synth -o "$data/s1" --seed 1 --image-size 64 >/dev/null
"$bin" synth -o "$data/s2" --seed 2 --image-size 64 >/dev/null
echo "test-slurm: $(find "$data" -name '*.png' | wc -l) generated images under $data"
model=(--clip tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt --head tests/VcpNative.Tests/Fixtures/vcp/vcp_head.pth --image-size 56 --threshold 0.5 --save-maps)

run "$bin" infer "${model[@]}" --threads 1 -o "$work/single" "$data" | tail -n 1

mkdir -p "$work/logs"
submit() { sbatch --parsable --array="$1" --export=ALL,VCP_SHARD_COUNT=4,VCP_NATIVE="$bin" -o "$work/logs/%A_%a.out" \
  deploy/slurm/infer.sbatch "$work/shards" "${model[@]}" "$data"; }
echo "+ sbatch --array=0-3 --export=ALL,VCP_SHARD_COUNT=4 deploy/slurm/infer.sbatch $work/shards ${model[*]} $data"
job="$(submit 0-3)"
echo "test-slurm: array job $job"

# Cancel task 1 once it has finished a few inputs and before its end.
journal="$work/shards/shard-1/results.jsonl"
lines() { if [ -f "$journal" ]; then wc -l <"$journal"; else echo 0; fi; }
started() { [ "$(lines)" -ge 5 ]; }
wait_for 90 started || fail "task 1 wrote no results within 90 s"
grep -q '"finished": true' "$work/shards/shard-1/shard.json" && fail "task 1 finished before it could be cancelled"
run scancel "${job}_1"
wait_for 60 gone "${job}_1" || fail "task 1 did not end after scancel"
done_before="$(lines)"
grep -q '"finished": false' "$work/shards/shard-1/shard.json" || fail "the cancelled shard has a final marker"
tail -n 2 "$work/logs/${job}_1.out"
echo "test-slurm: task 1 cancelled after $done_before of $(grep -o '"assigned": [0-9]*' "$work/shards/shard-1/shard.json" | grep -o '[0-9]*') inputs; no final marker"
wait_for 120 gone "$job" || fail "the array did not finish within 120 s"
run squeue

echo "+ $bin merge -o $work/early $work/shards/shard-{0..3}   (must be refused: shard 1 unfinished)"
set +e
"$bin" merge -o "$work/early" "$work/shards"/shard-{0..3}
code=$?
set -e
[ "$code" = 1 ] || fail "merge with an unfinished shard exited $code, not 1"
[ ! -e "$work/early" ] || fail "the refused merge wrote $work/early"

echo "+ sbatch --array=1 --export=ALL,VCP_SHARD_COUNT=4 deploy/slurm/infer.sbatch ... (resubmit the cancelled index)"
again="$(submit 1)"
wait_for 120 gone "$again" || fail "the resubmitted task did not finish within 120 s"
grep -q '"finished": true' "$work/shards/shard-1/shard.json" || fail "the resubmitted shard did not finish: $(tail -n 3 "$work"/logs/"${again}"_1.out)"
grep 'skipped' "$work/logs/${again}_1.out" || fail "the resubmitted task did not resume its journal"

run "$bin" merge -o "$work/merged" "$work/shards"/shard-{0..3}
# Every result file must match; report.html carries its date and where it came from (merge's gallery data and thumbnails
# equal a single run's: ShardMergeTests.MergedInferShardsGetTheReportASingleRunWrites).
run diff -r -x report.html -x report_files "$work/single" "$work/merged"
echo "test-slurm: merged = single run, byte for byte ($(find "$work/merged" -type f | wc -l) files, results.jsonl included)"

# Sharded eval: a 3-task array over one generated dataset, merged metrics = a single eval's (as text, every digit).
evalargs=(--clip tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt --head tests/VcpNative.Tests/Fixtures/vcp/vcp_head.pth --dataset mvtec --data "$data/s1" --image-size 56)
run "$bin" eval "${evalargs[@]}" --threads 1 -o "$work/eval-single" | tail -n 1
echo "+ sbatch --array=0-2 --export=ALL,VCP_SHARD_COUNT=3 deploy/slurm/eval.sbatch $work/eval-shards ${evalargs[*]}"
ejob="$(sbatch --parsable --array=0-2 --export=ALL,VCP_SHARD_COUNT=3,VCP_NATIVE="$bin" -o "$work/logs/%A_%a.out" deploy/slurm/eval.sbatch "$work/eval-shards" "${evalargs[@]}")"
wait_for 120 gone "$ejob" || fail "the eval array did not finish within 120 s"
run "$bin" merge --eval -o "$work/eval-merged" "$work/eval-shards"/shard-{0..2} | tail -n 1
for f in metrics.json metrics.md metrics.csv results.json; do run cmp "$work/eval-single/$f" "$work/eval-merged/$f"; done
echo "test-slurm: merged eval metrics = single eval's ($(grep -c '^|' "$work/eval-merged/metrics.md") table lines)"
echo "test-slurm: PASSED"
