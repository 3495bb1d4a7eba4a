#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to src/VcpNative/PublicAPI.Unshipped.txt, sorted.
# Run after adding public API on purpose, then review the diff of the file: that diff is the API change.
set -euo pipefail
cd "$(dirname "$0")/.."
file=src/VcpNative/PublicAPI.Unshipped.txt
log=$(mktemp)
dotnet build src/VcpNative/VcpNative.csproj -c Release -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
{
  tail -n +2 "$file"
  { grep -oE "RS0016: Symbol '.*' is not part of the declared public API" "$log" || true; } | sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/"
} | LC_ALL=C sort -u >"$log.sorted"
{ echo '#nullable enable'; cat "$log.sorted"; } >"$file"
rm -f "$log" "$log.sorted"
echo "$(($(wc -l <"$file") - 1)) symbols in $file"
