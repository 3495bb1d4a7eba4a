"""Compares two `vcp-native infer --save-maps` output folders (e.g. --device cpu against --device cuda): the same inputs,
scores and maps within --atol. Standard library only (the .npy files are float32 [H, W], read without numpy).

    python3 tools/device/compare_infer.py CPU_OUT GPU_OUT [--atol 1e-4] [--json-out FILE]
Exit status 1 when an input is missing on either side or a difference exceeds --atol.
"""
import argparse
import ast
import json
import os
import struct
import sys
from array import array


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    major = data[6]
    (header_len,), start = (struct.unpack("<H", data[8:10]), 10) if major == 1 else (struct.unpack("<I", data[8:12]), 12)
    header = ast.literal_eval(data[start:start + header_len].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        raise ValueError(f"{path}: expected little-endian float32 in C order, found {header}")
    values = array("f")
    values.frombytes(data[start + header_len:])
    return header["shape"], values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    def load(d):
        results = json.load(open(os.path.join(d, "results.json")))
        records = results["results"] if isinstance(results, dict) else results  # infer: header fields + "results"
        return {r["input"]: r for r in records}
    ref, cand = load(a.reference), load(a.candidate)
    problems = [f"{k}: missing in {a.candidate}" for k in ref if k not in cand] + \
               [f"{k}: missing in {a.reference}" for k in cand if k not in ref]
    worst_score = worst_map = 0.0
    for key in sorted(set(ref) & set(cand)):
        worst_score = max(worst_score, abs(ref[key]["score"] - cand[key]["score"]))
        shape_r, map_r = read_npy(os.path.join(a.reference, ref[key]["map"]))
        shape_c, map_c = read_npy(os.path.join(a.candidate, cand[key]["map"]))
        if shape_r != shape_c:
            problems.append(f"{key}: map shape {shape_c} vs {shape_r}")
            continue
        worst_map = max(worst_map, max(abs(x - y) for x, y in zip(map_r, map_c)))
    passed = not problems and worst_score <= a.atol and worst_map <= a.atol
    report = {"images": len(set(ref) & set(cand)), "max_abs_score_diff": worst_score, "max_abs_map_diff": worst_map,
              "atol": a.atol, "problems": problems, "passed": passed}
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(report, f)
    print(f"{report['images']} images: max |score diff| {worst_score:.3g}, max |map diff| {worst_map:.3g} (atol {a.atol:g})"
          + "".join(f"\n  {p}" for p in problems))
    print("pass" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
