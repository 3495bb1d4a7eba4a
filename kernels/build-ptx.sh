#!/usr/bin/env bash
# Regenerates the committed kernels/ptx/*.ptx from kernels/*.cu with clang-14 (no CUDA SDK needed).
#   kernels/build-ptx.sh          rewrite kernels/ptx/*.ptx
#   kernels/build-ptx.sh --check  exit 1 when a committed .ptx differs from what its .cu compiles to
#                                 (exit 0 with a message when clang-14 is absent, so CI without clang passes)
# Test-only kernels (kernels/test_only/*.cu) go to tests/VcpNative.Tests/Tensors/Cuda/TestPtx/, never shipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
clang="${CLANG:-clang-14}"
check=0
[[ "${1:-}" == "--check" ]] && check=1
if ! command -v "$clang" >/dev/null 2>&1; then
    echo "build-ptx: $clang not found; skipping PTX regeneration/check (install clang-14 to verify kernels/ptx)" >&2
    exit 0
fi
flags=(-x cuda --cuda-device-only --cuda-gpu-arch=sm_80 -nocudainc -nocudalib
       -Xclang -target-feature -Xclang +ptx70 -O3 -S)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
compile() { # $1 = .cu, $2 = destination .ptx
    "$clang" "${flags[@]}" "$1" -o "$tmp/out.ptx"
    if [[ $check == 1 ]]; then
        if ! cmp -s "$tmp/out.ptx" "$2"; then echo "build-ptx: $2 is stale (differs from $1)" >&2; status=1; fi
    else
        mkdir -p "$(dirname "$2")"
        cp "$tmp/out.ptx" "$2"
        echo "build-ptx: $1 -> $2"
    fi
}
for cu in "$here"/*.cu; do compile "$cu" "$here/ptx/$(basename "${cu%.cu}").ptx"; done
for cu in "$here"/test_only/*.cu; do compile "$cu" "$root/tests/VcpNative.Tests/Tensors/Cuda/TestPtx/$(basename "${cu%.cu}").ptx"; done
[[ $check == 1 && $status == 0 ]] && echo "build-ptx: all committed PTX is up to date"
exit $status
