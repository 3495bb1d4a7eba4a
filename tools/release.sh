#!/usr/bin/env bash
# Builds the deployable NativeAOT binaries into dist/ with SHA-256 sums, and with --smoke runs the CLI end to end
# through them (the x64 ones natively, the arm64 one under qemu-user). docs/deploy-binaries.md says what each is for.
#
#   dist/linux-x64/vcp-native           launcher (1 MB, any x64 CPU): runs vcp-native-avx512 where the CPU and OS support
#                                       AVX-512 (and the JIT would use it), else vcp-native-avx2; same arguments (execv)
#   dist/linux-x64/vcp-native-avx2      the CLI for x86-64-v3 (AVX2+FMA)
#   dist/linux-x64/vcp-native-avx512    the CLI for x86-64-v4 (AVX-512 F/BW/CD/DQ/VL)
#   dist/linux-x64/vcp-native-serve-avx2, vcp-native-serve-avx512
#                                       `serve` (src/VcpNative.Serve: Kestrel), its own executable so the CLI does not link
#                                       ASP.NET Core; the launcher runs the one that fits for `vcp-native serve ...`
#   dist/linux-arm64/vcp-native         ARMv8.0-A + AdvSimd (NEON), e.g. Jetson Orin; cross-compiled with clang + Debian's
#                                       aarch64 toolchain, linked against Debian 11's arm64 C library (glibc 2.31) so it
#                                       starts on JetPack 5 (Ubuntu 20.04) as well as JetPack 6
#   dist/linux-*/libSkiaSharp.so       WebP decoding's companion (SkiaSharp's libwebp; NativeAOT cannot link it in): loaded
#                                       only when a WebP is decoded; without it a WebP fails with one line, all else works
#   dist/linux-arm64/vcp-native-serve   `serve` for arm64 (the CLI's serve verb execs it)
#   dist/SHA256SUMS
#
# Usage, from anywhere:
#   tools/release.sh                   build all seven (about 6 minutes on 2 cores); fails on any build warning
#   tools/release.sh --smoke           build, then: --help, info (which build and kernel runs, and why), smoke (sgemm vs
#                                      float64), kernels verify --device emulated, golden tiny infer (maps vs PyTorch and
#                                      vs each other), demo, serve (ready, one /v1/detect vs infer, SIGTERM); x64
#                                      natively, arm64 under qemu-aarch64-static
#   --no-arm64                         x64 only (no cross toolchain needed)
#   --arm64-sysroot DIR                link the arm64 binary against DIR (a root file system with usr/aarch64-linux-gnu
#                                      or usr/lib/aarch64-linux-gnu, e.g. a Jetson's) instead of the fetched glibc 2.31 one
#   --arm64-demo full|reduced|skip     the demo under qemu: full (default; 5.2 minutes on this 2-core machine when it is
#                                      quiet), reduced (--steps 20 --image-size 56, 1-1.5 minutes) or skip
# Missing Debian packages (clang, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user-static, python3) are installed
# when run as root with apt-get; otherwise the script names them and stops.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

smoke=0
arm64=1
arm64_demo=full
arm64_sysroot=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --no-arm64) arm64=0 ;;
    --arm64-demo) arm64_demo="${2:?--arm64-demo needs full, reduced or skip}"; shift ;;
    --arm64-sysroot) arm64_sysroot="${2:?--arm64-sysroot needs a folder}"; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "release.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$arm64_demo" in full|reduced|skip) ;; *) echo "release.sh: --arm64-demo takes full, reduced or skip" >&2; exit 2 ;; esac

started=$(date +%s)
say() { echo "release.sh [$(( $(date +%s) - started ))s]: $*" >&2; }
fail() { echo "release.sh: FAILED: $*" >&2; exit 1; }

command -v dotnet >/dev/null || fail "the .NET 10 SDK (dotnet) is not on PATH"

# --- prerequisites: Debian packages -------------------------------------------------------------------------------
need=()
command -v clang >/dev/null || need+=(clang)
if [ "$arm64" = 1 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.so ] || need+=(libc6-dev-arm64-cross)
  if [ "$smoke" = 1 ]; then command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static); fi
fi
if [ "$smoke" = 1 ]; then command -v python3 >/dev/null || need+=(python3); command -v curl >/dev/null || need+=(curl); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || fail "apt-get install ${need[*]}"
  else
    fail "missing Debian packages: ${need[*]} (apt-get install them, or run as root); --no-arm64 builds x64 only"
  fi
fi

# fetch_debs DIR "DEB-LINE" ARCH PACKAGE...: downloads Debian packages with private apt lists (nothing is installed on
# this machine) and unpacks them into DIR; a DIR/.complete marker makes later runs reuse it.
fetch_debs() {
  local dir="$1" source="$2" arch="$3"; shift 3
  [ -e "$dir/.complete" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir/.apt/lists/partial" "$dir/.apt/cache/archives/partial" "$dir/.apt/debs"
  echo "$source" >"$dir/.apt/sources.list"
  local apt=(-o "Dir::Etc::SourceList=$dir/.apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$dir/.apt/lists" -o "Dir::Cache=$dir/.apt/cache" -o Dir::State::status=/dev/null
    -o Debug::NoLocking=1 -o "APT::Architectures::=$arch" -o "APT::Architecture=$arch")
  apt-get "${apt[@]}" update -qq >"$dir/.apt/log" 2>&1 || return 1
  (cd "$dir/.apt/debs" && apt-get "${apt[@]}" download "$@") >>"$dir/.apt/log" 2>&1 || return 1
  for deb in "$dir"/.apt/debs/*.deb; do dpkg -x "$deb" "$dir" || return 1; done
  touch "$dir/.complete"
}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vcp-native-release"

# --- build -------------------------------------------------------------------------------------------------------
dist="$root/dist"
build="$dist/.build"
rm -rf "$dist/linux-x64" "$dist/linux-arm64" "$dist/SHA256SUMS" "$build"
mkdir -p "$dist/linux-x64" "$build"

# publish PROJECT RID NAME OUTPUT-FILE [extra properties...]: one NativeAOT binary, zero warnings, the target recorded.
publish() {
  local project="$1" rid="$2" name="$3" target="$4"; shift 4
  local out="$build/$name" log="$build/$name.log" assembly
  assembly=$(sed -nE 's|.*<AssemblyName>(.*)</AssemblyName>.*|\1|p' "src/$project/$project.csproj")
  say "dotnet publish src/$project -r $rid -p:PublishAot=true $* ($name)"
  if ! dotnet publish "src/$project" -c Release -r "$rid" -p:PublishAot=true "$@" -o "$out" -nologo >"$log" 2>&1; then
    grep -E "error|warning" "$log" | sort -u >&2 || tail -20 "$log" >&2
    fail "publish $name (log: $log)"
  fi
  if grep -qiE "(^|[ :])warning( |:)" "$log"; then
    grep -iE "(^|[ :])warning( |:)" "$log" | sort -u >&2
    fail "publish $name has warnings (above)"
  fi
  # The ILCompiler recompiles when its response file changes; make sure this one asked for the intended target.
  echo "$name: $(grep -E '^--(targetarch|instruction-set)' "src/$project/obj/Release/net10.0/$rid/native/$assembly.ilc.rsp" | tr '\n' ' ')" >>"$build/targets.txt"
  cp "$out/$assembly" "$target"
}

publish VcpNative.Cli linux-x64 x64-v3 "$dist/linux-x64/vcp-native-avx2"
publish VcpNative.Cli linux-x64 x64-v4 "$dist/linux-x64/vcp-native-avx512" -p:IlcInstructionSet=x86-64-v4
publish VcpNative.Serve linux-x64 serve-x64-v3 "$dist/linux-x64/vcp-native-serve-avx2"
publish VcpNative.Serve linux-x64 serve-x64-v4 "$dist/linux-x64/vcp-native-serve-avx512" -p:IlcInstructionSet=x86-64-v4
publish VcpNative.Launcher linux-x64 x64-launcher "$dist/linux-x64/vcp-native"
for t in x64-v3:x86-64-v3:vcp-native-avx2 x64-v4:x86-64-v4:vcp-native-avx512 serve-x64-v3:x86-64-v3:vcp-native-serve-avx2 serve-x64-v4:x86-64-v4:vcp-native-serve-avx512; do
  IFS=: read -r name isa file <<<"$t"
  grep -q "^$name: --targetarch:x64 --instruction-set:$isa" "$build/targets.txt" || fail "$file was not compiled for $isa: $(cat "$build/targets.txt")"
done
if [ "$arm64" = 1 ]; then
  mkdir -p "$dist/linux-arm64"
  # The host's cross C library (Debian 12: glibc 2.36) would make the binary need glibc 2.34, which JetPack 5's Ubuntu
  # 20.04 (2.31) lacks; Debian 11's arm64 cross packages give the 2.31 symbol versions instead (clang finds the libs
  # and the GCC start files inside the sysroot by the Debian cross layout).
  if [ -z "$arm64_sysroot" ]; then
    arm64_sysroot="$cache/sysroot-arm64-bullseye"
    say "arm64 sysroot: Debian 11 cross packages (glibc 2.31) in $arm64_sysroot"
    fetch_debs "$arm64_sysroot" "deb http://deb.debian.org/debian bullseye main" amd64 \
      libc6-arm64-cross libc6-dev-arm64-cross linux-libc-dev-arm64-cross libgcc-10-dev-arm64-cross libgcc-s1-arm64-cross \
      || fail "could not fetch Debian 11's arm64 cross C library (log: $arm64_sysroot/.apt/log); pass --arm64-sysroot DIR"
  fi
  [ -d "$arm64_sysroot" ] || fail "--arm64-sysroot $arm64_sysroot is not a folder"
  publish VcpNative.Cli linux-arm64 arm64 "$dist/linux-arm64/vcp-native" "-p:SysRoot=$arm64_sysroot"
  publish VcpNative.Serve linux-arm64 serve-arm64 "$dist/linux-arm64/vcp-native-serve" "-p:SysRoot=$arm64_sysroot"
  for f in vcp-native vcp-native-serve; do
    file "$dist/linux-arm64/$f" 2>/dev/null | grep -q "ARM aarch64" || [ "$(od -An -tx1 -j18 -N2 "$dist/linux-arm64/$f" | tr -d ' ')" = "b700" ] \
      || fail "dist/linux-arm64/$f is not an aarch64 ELF"
  done
fi

# --- libSkiaSharp.so (images issue #20) ----------------------------------------------------------------------------
# WebPDecoder needs SkiaSharp's native library; NativeAOT cannot link it into the binary, so it ships next to it. The
# publish folder holds the one the package restored for that RID (SkiaSharp.NativeAssets.Linux.NoDependencies).
for pair in "x64-v3:linux-x64" "arm64:linux-arm64"; do
  name="${pair%%:*}" rid="${pair#*:}"
  [ -d "$dist/$rid" ] || continue
  [ -e "$build/$name/libSkiaSharp.so" ] || fail "publish $name left no libSkiaSharp.so (SkiaSharp.NativeAssets.Linux.NoDependencies has one for $rid)"
  cp "$build/$name/libSkiaSharp.so" "$dist/$rid/libSkiaSharp.so"
done
# --- end libSkiaSharp.so ---------------------------------------------------------------------------------------------

(cd "$dist" && find linux-* -type f | sort | xargs sha256sum > SHA256SUMS)
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "dist/ ($(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || echo "+uncommitted")):"
while read -r sum file; do
  bytes=$(stat -c %s "$dist/$file")
  printf '  %-32s %10d bytes  %9s  sha256 %s\n' "$file" "$bytes" "$(mib "$bytes")" "$sum"
  # Goal from the deployment issue: each binary at most 25 MB.
  [ "$bytes" -le 25000000 ] || fail "$file is $bytes bytes, over the 25 MB goal"
done < "$dist/SHA256SUMS"
# The newest glibc symbol version each binary references is the oldest C library it starts with.
glibc() { "$2" -T "$1" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | sed 's/GLIBC_//'; }
echo "  linux-x64 binaries need glibc >= $(glibc "$dist/linux-x64/vcp-native-avx2" objdump) (this machine's C library)"
if [ "$arm64" = 1 ]; then
  echo "  linux-arm64 binary needs glibc >= $(glibc "$dist/linux-arm64/vcp-native" aarch64-linux-gnu-objdump) (JetPack 5 / Ubuntu 20.04 has 2.31)"
fi
say "built"
[ "$smoke" = 1 ] || exit 0

# --- smoke ---------------------------------------------------------------------------------------------------------
fixtures="tests/VcpNative.Tests/Fixtures"
golden="$fixtures/vcp/expected.safetensors:final"
work="$dist/.smoke"
rm -rf "$work"
mkdir -p "$work"

# run LABEL COMMAND...: runs with output in $work/LABEL.log; on failure prints its tail and stops.
run() {
  local label="$1"; shift
  local t0=$(date +%s%N)
  if ! "$@" >"$work/$label.log" 2>&1; then
    tail -25 "$work/$label.log" >&2
    fail "$label: $*"
  fi
  say "$label ok ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
}
expect() {  # expect LABEL PATTERN: the log of LABEL must contain PATTERN (extended regex)
  grep -qE "$2" "$work/$1.log" || { cat "$work/$1.log" >&2; fail "$1: output lacks /$2/"; }
}

x64="$dist/linux-x64/vcp-native"
run x64-help "$x64" --help
expect x64-help "Usage:"

# Which build runs: the JIT build's kernel on this machine is the reference the NativeAOT binaries must match.
run jit-build dotnet build src/VcpNative.Cli -c Release -nologo
run jit-info dotnet src/VcpNative.Cli/bin/Release/net10.0/vcp-native.dll info
jit_kernel=$(sed -nE 's/^cpu gemm +([^ ]+).*/\1/p' "$work/jit-info.log")
run x64-info "$x64" info
aot_kernel=$(sed -nE 's/^cpu gemm +([^ ]+).*/\1/p' "$work/x64-info.log")
grep -E "^(build|cpu gemm)" "$work/x64-info.log" | sed 's/^/  /' >&2
[ "$aot_kernel" = "$jit_kernel" ] || fail "vcp-native runs $aot_kernel but the JIT build picks $jit_kernel on this machine"
if [ "$jit_kernel" = avx512-12x32 ]; then
  expect x64-info "^build +NativeAOT x86-64-v4 \(.*/vcp-native-avx512\): AVX-512 build: this CPU and OS support AVX-512 F/BW/CD/DQ/VL \(chosen by .*/vcp-native\)"
  # With the switch off, the AVX2 executable runs its AVX2 kernel (never Vector128 or scalar).
  run x64-info-nodispatch env VCP_NATIVE_DISPATCH=0 "$x64" info
  expect x64-info-nodispatch "^build +NativeAOT x86-64-v3 \(.*/vcp-native-avx2\): AVX2 build: VCP_NATIVE_DISPATCH=0"
  expect x64-info-nodispatch "^cpu gemm +avx2-6x16"
else
  expect x64-info "^build +NativeAOT x86-64-v3 \(.*/vcp-native-avx2\): AVX2 build: "
fi
# A folder without the AVX-512 executable still runs (AVX2, saying why); without either, one line and exit 127.
mkdir -p "$work/launch-avx2-only" "$work/launch-alone"
cp "$x64" "$dist/linux-x64/vcp-native-avx2" "$work/launch-avx2-only/"
cp "$x64" "$work/launch-alone/"
run x64-info-avx2-only "$work/launch-avx2-only/vcp-native" info
expect x64-info-avx2-only "^build +NativeAOT x86-64-v3 .*: AVX2 build: (this CPU supports AVX-512 but .*vcp-native-avx512 is missing|the CPU lacks|the CPU has AVX-512 but the OS)"
expect x64-info-avx2-only "^cpu gemm +avx2-6x16"
set +e
"$work/launch-alone/vcp-native" info >"$work/x64-launcher-alone.log" 2>&1
alone=$?
set -e
[ "$alone" = 127 ] && grep -q "^vcp-native: cannot run .*vcp-native-avx2: No such file or directory" "$work/x64-launcher-alone.log" \
  || { cat "$work/x64-launcher-alone.log" >&2; fail "the launcher alone should fail with one line and exit 127 (got $alone)"; }
say "launcher: AVX2-only folder and missing executables ok"

run x64-smoke "$x64" smoke
expect x64-smoke "^sgemm $jit_kernel: 24 products"
run x64-kernels-verify "$x64" kernels verify --device emulated
expect x64-kernels-verify " 0 failed"
run jit-infer dotnet src/VcpNative.Cli/bin/Release/net10.0/vcp-native.dll infer --clip "$fixtures/clip/tiny_clip.pt" \
  --head "$fixtures/vcp/vcp_head.pth" --save-maps -o "$work/jit-infer" "$fixtures/vcp/input.png"
run x64-infer "$x64" infer --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" --save-maps \
  -o "$work/x64-infer" "$fixtures/vcp/input.png"
run x64-vs-pytorch python3 tools/release_compare.py "$work/x64-infer/maps/input.npy" "$golden" --atol 1e-4 --what "x64 map vs PyTorch"
run x64-vs-jit python3 tools/release_compare.py "$work/x64-infer/maps/input.npy" "$work/jit-infer/maps/input.npy" --atol 1e-5 --what "x64 NativeAOT map vs JIT"
cat "$work/x64-vs-pytorch.log" "$work/x64-vs-jit.log" | sed 's/^/  /' >&2
# --- WebP through libSkiaSharp.so (images issue #20): decodes with it next to the binaries; without it, one line -----
webp="$fixtures/images/formats/webp_lossy.webp"
run x64-infer-webp "$x64" infer --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" -o "$work/x64-infer-webp" "$webp"
mkdir -p "$work/no-skia"
cp "$dist/linux-x64/vcp-native" "$dist/linux-x64/vcp-native-avx2" "$dist/linux-x64/vcp-native-avx512" "$work/no-skia/"
set +e
"$work/no-skia/vcp-native" infer --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" \
  -o "$work/no-skia-out" "$webp" >"$work/x64-infer-webp-no-skia.log" 2>&1
no_skia=$?
set -e
[ "$no_skia" = 3 ] && grep -q "webp_lossy.webp: expected libSkiaSharp.so next to the binary: WebP decoding needs it" "$work/x64-infer-webp-no-skia.log" \
  || { cat "$work/x64-infer-webp-no-skia.log" >&2; fail "a WebP without libSkiaSharp.so should fail that input with one line (exit 3, got $no_skia)"; }
say "WebP: decoded with libSkiaSharp.so, one-line error without it"
# --- end WebP ----------------------------------------------------------------------------------------------------------

run x64-demo "$x64" demo -o "$work/x64-demo"
expect x64-demo "pixel AUROC on held-out classes: before training [0-9.]+, after [0-9.]+"
grep -E "pixel AUROC on held-out" "$work/x64-demo.log" | sed 's/^/  /' >&2

# serve from dist/ through the launcher (which runs vcp-native-serve-avx512 or -avx2): ready, one /v1/detect scored as
# infer scored the same image, then SIGTERM: drained, exit 0. The CLI build hands `serve` to its serve build itself.
run x64-cli-serve-help "$dist/linux-x64/vcp-native-avx2" --threads 1 serve --help
expect x64-cli-serve-help "max-batch"
serve_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The size infer ran at (its map is that size), so both score the same input.
serve_size=$(python3 -c 'import ast, sys; h = open(sys.argv[1], "rb").read(256).decode("latin1"); print(ast.literal_eval(h[h.index("{"):h.index("}") + 1])["shape"][0])' "$work/x64-infer/maps/input.npy")
"$x64" serve --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" --image-size "$serve_size" --port "$serve_port" >"$work/x64-serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 600); do
  curl -sf -o /dev/null "http://127.0.0.1:$serve_port/v2/health/ready" && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/x64-serve.log" >&2; fail "serve from dist exited before it was ready"; }
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$serve_port/v2/health/ready" || { kill "$serve_pid"; cat "$work/x64-serve.log" >&2; fail "serve from dist not ready in 60 s"; }
curl -sf -H "Content-Type: image/png" --data-binary "@$fixtures/vcp/input.png" "http://127.0.0.1:$serve_port/v1/detect" >"$work/x64-serve-detect.json" \
  || { kill "$serve_pid"; cat "$work/x64-serve.log" >&2; fail "serve from dist: POST /v1/detect"; }
kill -TERM "$serve_pid"
serve_rc=0; wait "$serve_pid" || serve_rc=$?
[ "$serve_rc" = 0 ] || { cat "$work/x64-serve.log" >&2; fail "serve from dist exited $serve_rc after SIGTERM (expected a drain and 0)"; }
run x64-serve-vs-infer python3 -c '
import json, sys
results = json.load(open(sys.argv[2]))
records = results["results"] if isinstance(results, dict) else results  # infer: header fields + "results"
served, inferred = json.load(open(sys.argv[1]))["score"], records[0]["score"]
print(f"serve /v1/detect score {served:.6f}, infer {inferred:.6f}")
sys.exit(0 if abs(served - inferred) <= 1e-5 else 1)' "$work/x64-serve-detect.json" "$work/x64-infer/results.json"
grep -E "^serve: (listening|model loaded)" "$work/x64-serve.log" | sed 's/^/  /' >&2
sed 's/^/  /' "$work/x64-serve-vs-infer.log" >&2

if [ "$arm64" = 1 ]; then
  # qemu-user with Debian's cross sysroot. LD_LIBRARY_PATH keeps the sysroot's libc next to its own ld.so even on a
  # machine that also has libc6:arm64 installed (a mixed pair hangs at start-up).
  arm=(qemu-aarch64-static -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib" "$dist/linux-arm64/vcp-native")
  run arm64-help "${arm[@]}" --help
  expect arm64-help "Usage:"
  run arm64-serve-help qemu-aarch64-static -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib" "$dist/linux-arm64/vcp-native-serve" serve --help
  expect arm64-serve-help "max-batch"
  run arm64-info "${arm[@]}" info
  grep -E "^(build|cpu gemm|simd)" "$work/arm64-info.log" | sed 's/^/  /' >&2
  expect arm64-info "^build +NativeAOT arm64"
  expect arm64-info "^cpu gemm +neon-8x12"
  run arm64-smoke "${arm[@]}" smoke
  expect arm64-smoke "^sgemm neon-8x12: 24 products"
  grep -E "^sgemm" "$work/arm64-smoke.log" | sed 's/^/  /' >&2
  run arm64-kernels-verify "${arm[@]}" kernels verify --device emulated
  expect arm64-kernels-verify " 0 failed"
  run arm64-infer "${arm[@]}" infer --clip "$fixtures/clip/tiny_clip.pt" --head "$fixtures/vcp/vcp_head.pth" --save-maps \
    -o "$work/arm64-infer" "$fixtures/vcp/input.png"
  run arm64-vs-x64 python3 tools/release_compare.py "$work/arm64-infer/maps/input.npy" "$work/x64-infer/maps/input.npy" --atol 1e-5 --what "arm64 map vs x64"
  run arm64-vs-pytorch python3 tools/release_compare.py "$work/arm64-infer/maps/input.npy" "$golden" --atol 1e-4 --what "arm64 map vs PyTorch"
  cat "$work/arm64-vs-x64.log" "$work/arm64-vs-pytorch.log" | sed 's/^/  /' >&2

  if [ "$arm64_demo" != skip ]; then
    # demo hashes its feature cache with SHA-256, which .NET takes from OpenSSL: fetch Debian's arm64 libssl3 into a
    # private folder (own apt lists, nothing installed on this machine).
    ssl="$cache/libssl3-arm64-bookworm"
    fetch_debs "$ssl" "deb http://deb.debian.org/debian bookworm main" arm64 libssl3 || true
    if [ -e "$ssl/usr/lib/aarch64-linux-gnu/libssl.so.3" ]; then
      arm_ssl=(qemu-aarch64-static -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:$ssl/usr/lib/aarch64-linux-gnu" "$dist/linux-arm64/vcp-native")
      demo_args=()
      # Reduced, for a busy machine: fewer steps on smaller images go through the same code (data synthesis, training
      # with the feature cache, evaluation) in 1-1.5 minutes instead of 5 (10 when a core is taken).
      [ "$arm64_demo" = reduced ] && demo_args=(--steps 20 --image-size 56)
      run arm64-demo "${arm_ssl[@]}" demo -o "$work/arm64-demo" "${demo_args[@]}"
      expect arm64-demo "pixel AUROC on held-out classes: before training [0-9.]+, after [0-9.]+"
      grep -E "pixel AUROC on held-out" "$work/arm64-demo.log" | sed 's/^/  /' >&2
    else
      echo "release.sh: arm64 demo NOT run: could not fetch Debian's arm64 libssl3 for qemu (log: $ssl/.apt/log)" >&2
      exit 1
    fi
  fi
fi
say "smoke passed (logs in $work)"
