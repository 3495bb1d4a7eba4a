#!/usr/bin/env bash
# Prepares the GPU check (run here, where .NET is): builds the NativeAOT linux-x64 binary into .device/ (ignored by git,
# carried to the GPU machine by name), records the commit it was built from, and prints what will travel: the
# repository's tracked and untracked-not-ignored files plus .device, which must stay well under 64 MiB.
#
# Usage, from anywhere:  tools/device/prepare.sh
# Then on the GPU machine, from the repository root with .device carried:  tools/device/check.sh [--quick]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
command -v dotnet >/dev/null || { echo "prepare.sh: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 1; }
mkdir -p .device
log="$(mktemp)"
echo "prepare.sh: dotnet publish -r linux-x64 -p:PublishAot=true (about a minute)..." >&2
if ! dotnet publish src/VcpNative.Cli -c Release -r linux-x64 -p:PublishAot=true -o .device/publish -nologo >"$log" 2>&1; then
  grep -E "error|warning" "$log" >&2 || tail -20 "$log" >&2
  echo "prepare.sh: NativeAOT publish failed (full log: $log)" >&2
  exit 1
fi
if grep -qE "warning (IL|CS)[0-9]+" "$log"; then
  grep -E "warning (IL|CS)[0-9]+" "$log" | sort -u >&2
  echo "prepare.sh: the NativeAOT publish has warnings (above); fix them before a GPU run" >&2
  exit 1
fi
cp .device/publish/vcp-native .device/vcp-native
# The AVX-512 sibling that vcp-native switches to on AVX-512 hosts (as in a release), so CPU references run the kernel
# the JIT build would choose there.
if ! dotnet publish src/VcpNative.Cli -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=x86-64-v4 \
     -o .device/publish-avx512 -nologo >"$log" 2>&1 || grep -qE "warning (IL|CS)[0-9]+" "$log"; then
  grep -E "error|warning" "$log" >&2 || tail -20 "$log" >&2
  echo "prepare.sh: the x86-64-v4 NativeAOT publish failed or warned (log: $log)" >&2
  exit 1
fi
cp .device/publish-avx512/vcp-native .device/vcp-native-avx512
if cmp -s .device/vcp-native .device/vcp-native-avx512; then
  echo "prepare.sh: the x86-64-v4 binary is byte-identical to the x86-64-v3 one: the instruction set did not reach ILC" >&2
  exit 1
fi
rm -f "$log"
rm -rf .device/publish .device/publish-avx512   # the .dbg symbols and .pdb stay here: the binaries alone travel
git rev-parse HEAD > .device/commit 2>/dev/null || echo unknown > .device/commit
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "$(cat .device/commit)+uncommitted" > .device/commit
fi
./.device/vcp-native info > .device/info.txt
sha256sum .device/vcp-native .device/vcp-native-avx512 | tee .device/SHA256SUMS >&2

# What travels: tracked + untracked-not-ignored files, and .device.
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
device_bytes=$(du -sb .device | cut -f1)
total=$((tree_bytes + device_bytes))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "binaries $(mib "$(stat -c %s .device/vcp-native)") + $(mib "$(stat -c %s .device/vcp-native-avx512)") (AVX-512 sibling); working tree $(mib "$tree_bytes"); .device $(mib "$device_bytes"); total $(mib "$total") of 64 MiB"
if [ "$total" -gt $((56 * 1048576)) ]; then
  echo "prepare.sh: $(mib "$total") leaves less than 8 MiB of headroom under the 64 MiB limit" >&2
  exit 1
fi
echo "ready: carry .device and run tools/device/check.sh (add --quick for steps 1-3)"
