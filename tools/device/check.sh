#!/usr/bin/env bash
# The prepared GPU check: proves every kernel, the whole model and its speed against PyTorch on a real NVIDIA GPU, with
# the NativeAOT binaries that tools/device/prepare.sh put in .device/ (the GPU machine has no .NET): the AVX2 CLI, whose
# serve verb execs the AVX2 server next to it.
#
# Usage, from the repository root:
#   tools/device/check.sh             all steps (environment, kernels verify, golden parity, speed, PyTorch peer, registers)
#   tools/device/check.sh --quick     steps 1-3 only (environment, kernels verify, golden parity, infer), under 3 minutes
#   tools/device/check.sh --rehearse  the same steps on the PTX emulator with tiny shapes (no GPU needed; CI runs it)
#   tools/device/check.sh --only verify,parity-fp32   just the named steps (names as in the report)
#   --budget SECONDS   stop starting new steps once this much time has gone (default: 480; --quick 170; --rehearse 900)
#
# Writes $OUT/report.md, $OUT/report.json and $OUT/logs.tar.gz ($OUT defaults to ./device-out), prints the headline table
# last. Every step has its own timeout; a failed or timed-out step is reported and the rest go on. Exit status: 0 when
# every step that ran passed, 1 otherwise.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

mode=full
only=""
budget=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --rehearse) mode=rehearse ;;
    --only) only="${2:?--only needs a comma-separated list of steps}"; shift ;;
    --budget) budget="${2:?--budget needs seconds}"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# The emulator is slow (the golden parity takes ~80 s of a 2-core machine) and a loaded CI machine slower: a rehearsal
# doubles every step's timeout and has a larger budget.
[ -n "$budget" ] || case $mode in quick) budget=170 ;; rehearse) budget=900 ;; *) budget=480 ;; esac
scale=1
[ "$mode" = rehearse ] && scale=2

out="${OUT:-$root/device-out}"
mkdir -p "$out"
work="$(mktemp -d)"
logs="$work/logs"
mkdir -p "$logs"
steps="$work/steps.jsonl"
: > "$steps"
bin="$root/.device/vcp-native-avx2"
for f in "$bin" "$root/.device/vcp-native-serve-avx2"; do
  if [ ! -x "$f" ]; then
    echo "check.sh: $f not found: run tools/device/prepare.sh first (and carry .device)" >&2
    exit 2
  fi
done
py="$(command -v python3 || true)"
# The Python that has torch (the GPU machine's python3; here maybe Debian's /usr/bin/python3 behind a pyenv shim).
torch_py=""
for candidate in "$py" /usr/bin/python3; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c "import torch" 2>/dev/null; then torch_py="$candidate"; break; fi
done
fixtures="tests/VcpNative.Tests/Fixtures"

if [ "$mode" = rehearse ]; then
  dev=(--device emulated)
else
  dev=(--device cuda)
fi
export mode bin py torch_py root fixtures

# Libraries of pip's nvidia-* wheels (torch's cuBLAS) as a last resort for our loader; the toolkit's come first.
if [ "$mode" != rehearse ] && [ -n "$torch_py" ]; then
  wheel_libs="$("$torch_py" - 2>/dev/null <<'PY'
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
print(":".join(sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "**", "libcublas.so*"), recursive=True)})))
PY
)"
  [ -n "$wheel_libs" ] && export VCP_CUDA_LIBRARY_PATH="${VCP_CUDA_LIBRARY_PATH:+$VCP_CUDA_LIBRARY_PATH:}$wheel_libs"
fi

started=$SECONDS
failures=0

want() {  # want STEP: is this step selected by --only (all are without it)?
  [ -z "$only" ] && return 0
  [[ ",$only," == *",$1,"* ]]
}

# run_step NAME TIMEOUT_S COMMAND...: runs one step with its own timeout, logs to $logs/NAME.log, records the outcome.
run_step() {
  local name="$1" limit="$2"
  shift 2
  want "$name" || return 0
  local elapsed=$((SECONDS - started)) status note=""
  if [ $((elapsed + 5)) -ge "$budget" ]; then
    echo "== $name: skipped (budget of ${budget}s spent)"
    printf '{"step":"%s","status":"skipped","seconds":0,"note":"budget of %ss spent"}\n' "$name" "$budget" >> "$steps"
    return 0
  fi
  # Never run past the budget: the step's timeout is cut to what is left.
  limit=$((limit * scale))
  local left=$((budget - elapsed))
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (timeout ${limit}s, ${elapsed}s gone)"
  local t0=$SECONDS
  if declare -F "$1" >/dev/null; then
    # A shell function of this script: exported, run in a child bash so that timeout can stop it.
    export -f "$1"
    timeout --kill-after=5 "$limit" bash -c "$(printf '%q ' "$@")" > "$logs/$name.log" 2>&1
  else
    timeout --kill-after=5 "$limit" "$@" > "$logs/$name.log" 2>&1
  fi
  status=$?
  local took=$((SECONDS - t0))
  local result=pass
  if [ $status -eq 124 ] || [ $status -eq 137 ]; then
    result=timeout; note="killed after ${limit}s"; failures=$((failures + 1))
  elif [ $status -ne 0 ]; then
    result=fail; note="exit $status"; failures=$((failures + 1))
  fi
  tail -n 3 "$logs/$name.log" | sed 's/^/   /'
  echo "   -> $result (${took}s)"
  printf '{"step":"%s","status":"%s","seconds":%d,"exit":%d,"note":"%s"}\n' "$name" "$result" "$took" "$status" "$note" >> "$steps"
}

# skip_step NAME REASON: a step that cannot run here, said so in the report.
skip_step() {
  want "$1" || return 0
  echo "== $1: skipped ($2)"
  printf '{"step":"%s","status":"skipped","seconds":0,"note":"%s"}\n' "$1" "$2" >> "$steps"
}

j() { echo "$logs/$1.json"; }

# 1. Environment: the GPU, driver, CUDA, where libcuda and libcublas come from.
env_step() {
  set -o pipefail
  echo "mode: $mode; commit: $(cat .device/commit 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "host: $(uname -srm); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); cores: $(nproc)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv
    nvidia-smi | sed -n '1,4p'
  else
    echo "nvidia-smi: not on PATH"
  fi
  command -v nvcc >/dev/null && nvcc --version | tail -2 || echo "nvcc: not on PATH"
  echo "--- CUDA libraries the system loader knows (ldconfig -p):"
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas(Lt)?\.so' || echo "(none)"
  echo "--- libcublas files on disk:"
  timeout 20 find /usr/local /usr/lib /usr/lib64 /opt -maxdepth 9 -name 'libcublas.so*' 2>/dev/null | head -20
  [ -n "$torch_py" ] && "$torch_py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')" 2>/dev/null || echo "torch: no python3 here imports it"
  echo "VCP_CUDA_LIBRARY_PATH=${VCP_CUDA_LIBRARY_PATH:-}"
  echo "--- vcp-native:"
  ls -l "$bin" "$root/.device/vcp-native-serve-avx2"
  "$bin" info --verbose --device "$1" 2>&1 | head -30
}
run_step environment 60 env_step "${dev[1]}"

# 2. Every kernel verification case on the device against the CPU backend: with cuBLAS for the matmuls, and with our
#    GEMM kernels (gemm_f32, gemm_tc) for them.
run_step verify 150 "$bin" kernels verify "${dev[@]}" --verbose
run_step verify-kernels 150 "$bin" kernels verify "${dev[@]}" --gpu-matmul kernel

# 3. Golden parity: tiny VCP-CLIP and ViP2-CLIP inference and one training step each, fp32 and bf16.
run_step parity-fp32 150 "$bin" kernels parity "${dev[@]}" --fixtures "$fixtures" --json "$(j parity-fp32)"
run_step parity-bf16 150 "$bin" kernels parity "${dev[@]}" --precision bf16 --fixtures "$fixtures" --json "$(j parity-bf16)"

# 3b. The whole `infer` command (decode threads, pinned double-buffered uploads on a copy stream, one batch in flight)
#     on the device against the same binary on the CPU: 8 generated images in batches of 4.
# sample_images DIR: 8 generated PNGs (synth's test split) in DIR/in; prints the image size the steps run at.
sample_images() {
  "$bin" synth -o "$1/data" --image-size 128 --classes stripes,bolt > /dev/null
  mkdir -p "$1/in"
  find "$1/data" -path '*/test/*' -name '*.png' | sort | head -8 | awk '{printf "%s %s/in/img%d.png\n", $0, "'"$1"'", NR}' | \
    while read -r src dst; do cp "$src" "$dst"; done
  [ "$mode" = rehearse ] && echo 112 || echo 518
}
export -f sample_images

infer_step() {
  set -e
  local d size
  d="$(mktemp -d)"
  size=$(sample_images "$d")
  local args=(--clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" --image-size "$size" --batch-size 4 --save-maps)
  "$bin" infer --device cpu "${args[@]}" -o "$d/cpu" "$d/in"
  "$bin" infer --device "$1" "${args[@]}" -o "$d/device" "$d/in"
  "${py:-python3}" tools/device/compare_infer.py "$d/cpu" "$d/device" --atol 1e-4 --json-out "$2"
  rm -rf "$d"
}
run_step infer 150 infer_step "${dev[1]}" "$(j infer)"

# 3b. The HTTP service on the device: the same images sent at once (so they batch) through /v1/detect and the Open
# Inference Protocol, scores against infer on the CPU; then SIGTERM must drain and exit 0.
serve_step() {
  set -e
  local d size port pid status=0
  d="$(mktemp -d)"
  size=$(sample_images "$d")
  "$bin" infer --device cpu --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" --image-size "$size" -o "$d/cpu" "$d/in" > /dev/null
  port=$("${py:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" serve --device "$1" --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" --image-size "$size" \
    --port "$port" --max-batch 4 --max-delay-ms 20 > "$d/serve.log" 2>&1 &
  pid=$!
  "${py:-python3}" tools/device/serve_check.py --port "$port" --images "$d/in" --reference "$d/cpu" --json-out "$2" || status=$?
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait "$pid"; then echo "serve did not exit 0 after SIGTERM"; status=1; fi
  if [ "$status" = 0 ]; then tail -n 2 "$d/serve.log"; else tail -n 20 "$d/serve.log"; fi
  rm -rf "$d"
  return "$status"
}
run_step serve 150 serve_step "${dev[1]}" "$(j serve)"

if [ "$mode" != quick ]; then
  # 4. Speed: kernel level, then the whole VCP-CLIP pipeline (ViT-L/14 at 518 px, random weights).
  if [ "$mode" = rehearse ]; then
    run_step kernels-bench 120 sh -c "\"$bin\" kernels bench --device emulated --json > \"$(j kernels-bench)\""
    arch=(--arch tiny --image-size 28); batches="1 2"; iters=(--iterations 1 --warmup 0)
  else
    run_step kernels-bench 90 sh -c "\"$bin\" kernels bench --device cuda --batch-sizes 1,32 --json > \"$(j kernels-bench)\""
    arch=(--arch vit-l-14-336 --image-size 518); batches="1 32"; iters=(--iterations 3 --warmup 1)
  fi
  for b in $batches; do
    for path in cublas kernel bf16 bf16k; do
      case $path in
        cublas) opts=(--gpu-matmul cublas) ;;
        kernel) opts=(--gpu-matmul kernel) ;;
        bf16) opts=(--precision bf16) ;;
        bf16k) opts=(--precision bf16 --gpu-matmul kernel) ;;
      esac
      name="bench-$path-b$b"
      run_step "$name" 100 sh -c "\"$bin\" bench --random-weights ${arch[*]} --batch-size $b ${iters[*]} ${dev[*]} ${opts[*]} --json > \"$(j "$name")\""
    done
  done

  # Where the bf16 image tower's time goes: per transformer-block phase, each waited for on the device.
  run_step profile-bf16 100 sh -c "\"$bin\" bench --random-weights ${arch[*]} --batch-size ${batches##* } ${iters[*]} ${dev[*]} --precision bf16 --profile --json > \"$(j profile-bf16)\""

  # 5. The authors' method in PyTorch on the same GPU: eager fp32 and autocast fp16 (their test.py), same batch sizes.
  if [ -z "$torch_py" ]; then
    for s in torch-kernels peer-fp32-b1 peer-fp16-b1 peer-fp32-b32 peer-fp16-b32; do skip_step "$s" "no python3 with torch here"; done
  elif [ "$mode" = rehearse ]; then
    run_step torch-kernels 120 "$torch_py" tools/device/torch_kernels.py --dry-run --json-out "$(j torch-kernels)"
    skip_step peer-fp32-b1 "rehearsal: the ViT-L peer needs a GPU"
  else
    export PYTHONUNBUFFERED=1
    run_step torch-kernels 90 "$torch_py" tools/device/torch_kernels.py --batch-sizes 1,32 --json-out "$(j torch-kernels)"
    for b in 1 32; do
      run_step "peer-fp32-b$b" 100 "$torch_py" tools/peer/vcp_pytorch_peer.py --device cuda --precision fp32 --batch-size "$b" \
        --iterations 3 --warmup 1 --json-out "$(j "peer-fp32-b$b")"
      run_step "peer-fp16-b$b" 100 "$torch_py" tools/peer/vcp_pytorch_peer.py --device cuda --precision autocast-fp16 --batch-size "$b" \
        --iterations 3 --warmup 1 --json-out "$(j "peer-fp16-b$b")"
    done
  fi

  # 6. Real register counts of the shipped PTX (ptxas for sm_90) beside the emulator's liveness estimates, and ncu on the
  #    tensor-core kernels where allowed.
  run_step registers 30 sh -c "\"$bin\" kernels registers --json > \"$(j registers)\""
  if command -v ptxas >/dev/null; then
    ptxas_step() {
      for f in kernels/ptx/*.ptx; do
        echo "### $f"
        ptxas -arch=sm_90 -v "$f" -o /dev/null 2>&1
      done
    }
    run_step ptxas 90 ptxas_step
  else
    skip_step ptxas "ptxas (CUDA toolkit) not on PATH"
  fi
  if [ "$mode" != rehearse ] && command -v ncu >/dev/null; then
    # The AVX2 CLI ($bin), never through an exec: through the launcher ncu profiled nothing (H200 run of 2026-12-04); the
    # CPU instruction set does not matter to the kernels profiled here.
    # A run that profiles no kernel is a failure, not a pass.
    ncu_step() {
      local bin="$1" log
      log=$(mktemp)
      ncu --clock-control none -k 'regex:gemm_tc|attention_forward_tc' --launch-count 4 \
        --section SpeedOfLight --section LaunchStats --section Occupancy \
        "$bin" kernels bench --device cuda --batch-sizes 1 --iterations 1 --warmup 0 2>&1 | tee "$log"
      local rc=${PIPESTATUS[0]}
      if grep -q "No kernels were profiled" "$log"; then echo "ncu profiled no kernel"; rm -f "$log"; return 1; fi
      rm -f "$log"
      return "$rc"
    }
    run_step ncu 120 ncu_step "$bin"
  else
    skip_step ncu "$([ "$mode" = rehearse ] && echo 'rehearsal: needs a GPU' || echo 'ncu not on PATH')"
  fi
fi

"${py:-python3}" tools/device/report.py --mode "$mode" --steps "$steps" --logs "$logs" --out "$out" --budget "$budget" \
  --elapsed $((SECONDS - started))
report_status=$?
tar -czf "$out/logs.tar.gz" -C "$work" logs steps.jsonl
rm -rf "$work"
[ $failures -eq 0 ] && [ $report_status -eq 0 ] && exit 0
exit 1
