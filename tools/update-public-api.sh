#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to src/VcpNative/PublicAPI.Unshipped.txt and drops
# the ones it reports as gone (RS0017), sorted.
# Run after adding public API on purpose, then review the diff of the file: that diff is the API change.
set -euo pipefail
cd "$(dirname "$0")/.."
file=src/VcpNative/PublicAPI.Unshipped.txt
log=$(mktemp)
dotnet build src/VcpNative/VcpNative.csproj -c Release -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
{ grep -oE "RS0017: Symbol '.*' is part of the declared API, but is either not public or could not be found" "$log" || true; } \
  | sed -E "s/^RS0017: Symbol '(.*)' is part of the declared API, but is either not public or could not be found$/\1/" | LC_ALL=C sort -u >"$log.gone"
{
  tail -n +2 "$file" | grep -vxF -f "$log.gone" || true
  { grep -oE "RS0016: Symbol '.*' is not part of the declared public API" "$log" || true; } | sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/"
} | LC_ALL=C sort -u >"$log.sorted"
{ echo '#nullable enable'; cat "$log.sorted"; } >"$file"
rm -f "$log" "$log.sorted" "$log.gone"
echo "$(($(wc -l <"$file") - 1)) symbols in $file"
