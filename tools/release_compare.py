#!/usr/bin/env python3
"""Compares two float32 maps element by element and fails above a tolerance (tools/release.sh --smoke uses it).

Each side is a .npy file written by `vcp-native infer --save-maps`, or FILE.safetensors:TENSOR (e.g. the PyTorch golden
map tests/VcpNative.Tests/Fixtures/vcp/expected.safetensors:final). Standard library only: no numpy on a clean machine.

    tools/release_compare.py A.npy B.npy --atol 1e-5 --what "arm64 vs x64"
"""
import argparse
import json
import os
import struct
import sys

# The .npy reader of the GPU check's comparison (one reader for both scripts).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "device"))
from compare_infer import read_npy  # noqa: E402


def load_safetensors(path, name):
    with open(path, "rb") as f:
        data = f.read()
    header_len = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_len])
    if name not in header:
        raise ValueError(f"{path}: no tensor {name} (has {', '.join(k for k in header if k != '__metadata__')})")
    entry = header[name]
    if entry["dtype"] != "F32":
        raise ValueError(f"{path}:{name}: expected F32, found {entry['dtype']}")
    begin, end = entry["data_offsets"]
    body = data[8 + header_len + begin:8 + header_len + end]
    return tuple(entry["shape"]), struct.unpack(f"<{len(body) // 4}f", body)


def load(spec):
    if ".safetensors:" in spec:
        path, name = spec.rsplit(":", 1)
        return load_safetensors(path, name)
    return read_npy(spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("actual")
    parser.add_argument("expected")
    parser.add_argument("--atol", type=float, required=True)
    parser.add_argument("--what", default="maps")
    args = parser.parse_args()
    shape_a, a = load(args.actual)
    shape_b, b = load(args.expected)
    # A golden map may carry a leading batch axis of 1.
    squeeze = lambda s: tuple(d for d in s if d != 1)
    if squeeze(shape_a) != squeeze(shape_b):
        print(f"{args.what}: shapes differ: {shape_a} vs {shape_b}", file=sys.stderr)
        return 1
    worst, at, nan = 0.0, 0, 0
    for i, (x, y) in enumerate(zip(a, b)):
        d = abs(x - y)
        if d != d:
            nan += 1
        elif d > worst:
            worst, at = d, i
    if nan:
        print(f"{args.what}: {nan} of {len(a)} values are NaN on one side only or both", file=sys.stderr)
        return 1
    ok = worst <= args.atol
    print(f"{args.what}: {len(a)} values, max |diff| {worst:.3g} (at {at}) {'<=' if ok else '>'} {args.atol:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
