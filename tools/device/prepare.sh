#!/usr/bin/env bash
# Prepares the GPU check (run here, where .NET is): puts the linux-x64 NativeAOT release binaries the kit runs, the AVX2
# CLI vcp-native-avx2 and the AVX2 server vcp-native-serve-avx2 (tools/release.sh), into .device/ (ignored by git,
# carried to the GPU machine by name), records the commit they were built from, and prints what will travel: the
# repository's tracked and untracked-not-ignored files plus .device, which must stay well under 64 MiB. Only the AVX2
# builds travel: with the launcher and the AVX-512 builds as well the carry would pass 56 MiB, and the kit measures the
# GPU, for which the CPU instruction set does not matter (ncu also needs the CLI without the launcher's exec).
#
# Usage, from anywhere:
#   tools/device/prepare.sh              builds them (tools/release.sh --no-arm64, two to three minutes)
#   tools/device/prepare.sh --use-dist   takes them from dist/linux-x64 as tools/release.sh left them (CI: just built)
# Then on the GPU machine, from the repository root with .device carried:  tools/device/check.sh [--quick]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
use_dist=0
case "${1:-}" in
  --use-dist) use_dist=1 ;;
  "") ;;
  *) echo "prepare.sh: unknown option $1 (--use-dist or nothing)" >&2; exit 2 ;;
esac
if [ "$use_dist" = 0 ]; then
  echo "prepare.sh: tools/release.sh --no-arm64 (two to three minutes)..." >&2
  tools/release.sh --no-arm64 >&2 || { echo "prepare.sh: the release build failed (above)" >&2; exit 1; }
fi
# The CLI's serve verb execs the serve build next to it (vcp-native-avx2 -> vcp-native-serve-avx2).
binaries=(vcp-native-avx2 vcp-native-serve-avx2)
for f in "${binaries[@]}"; do
  [ -x "dist/linux-x64/$f" ] || { echo "prepare.sh: dist/linux-x64/$f is missing: run tools/release.sh (or prepare.sh without --use-dist)" >&2; exit 1; }
done
rm -rf .device && mkdir -p .device
for f in "${binaries[@]}"; do cp "dist/linux-x64/$f" .device/; done
git rev-parse HEAD > .device/commit 2>/dev/null || echo unknown > .device/commit
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "$(cat .device/commit)+uncommitted" > .device/commit
fi
./.device/vcp-native-avx2 info > .device/info.txt
(cd .device && sha256sum "${binaries[@]}" | tee SHA256SUMS >&2)

# What travels: tracked + untracked-not-ignored files, and .device.
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
device_bytes=$(du -sb .device | cut -f1)
total=$((tree_bytes + device_bytes))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "binaries: AVX2 CLI $(mib "$(stat -c %s .device/vcp-native-avx2)"), AVX2 server $(mib "$(stat -c %s .device/vcp-native-serve-avx2)"); working tree $(mib "$tree_bytes"); .device $(mib "$device_bytes"); total $(mib "$total") of 64 MiB"
if [ "$total" -gt $((56 * 1048576)) ]; then
  echo "prepare.sh: $(mib "$total") leaves less than 8 MiB of headroom under the 64 MiB limit" >&2
  exit 1
fi
echo "ready: carry .device and run tools/device/check.sh (add --quick for steps 1-3)"
