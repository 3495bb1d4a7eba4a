#!/usr/bin/env bash
# Publishes the afl++ driver (tools/fuzz/VcpNative.Fuzz) to tools/fuzz/out/ and instruments, with SharpFuzz, the
# assemblies that read untrusted files: VcpNative (IO and dataset namespaces), VcpNative.WeightsConverter and
# LibTiff.NET (the TIFF decoder behind ImageDecoder). Run once before campaign.sh; rerun after changing a reader.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/out"
tools="$here/.sharpfuzz"
if [[ ! -x "$tools/sharpfuzz" ]]; then
  dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi
rm -rf "$out"
dotnet publish "$here/VcpNative.Fuzz/VcpNative.Fuzz.csproj" -c Release -o "$out" --nologo -v quiet
# Only the readers' namespaces of the product assembly: coverage of the tensor engine would be noise to afl.
"$tools/sharpfuzz" "$out/VcpNative.dll" VcpNative.IO VcpNative.Anomaly.Datasets
"$tools/sharpfuzz" "$out/VcpNative.WeightsConverter.dll"
"$tools/sharpfuzz" "$out/BitMiracle.LibTiff.NET.dll"
echo "instrumented driver in $out (run: $out/VcpNative.Fuzz TARGET replay FILE... to replay without afl)"
