#!/usr/bin/python3
"""Writes golden fixtures for the resize and Gaussian ops from real PyTorch / scipy.

Run from the repository root:  /usr/bin/python3 tools/golden/make_resize_fixtures.py
Output: tests/VcpNative.Tests/Fixtures/resize/{*.f32, index.json}; each .f32 is raw float32 little-endian,
row-major, with its shape in index.json. Generated with torch 1.13 (Debian python3-torch) and scipy 1.10.
"""
import json
import os

import numpy as np
import scipy
import scipy.ndimage
import torch
import torch.nn.functional as F

OUT = os.path.join("tests", "VcpNative.Tests", "Fixtures", "resize")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240715)
cases = []


def save(name, array):
    a = np.ascontiguousarray(array, dtype="<f4")
    a.tofile(os.path.join(OUT, name + ".f32"))
    return {"file": name + ".f32", "shape": list(a.shape)}


def add(name, op, params, x, y):
    cases.append({"name": name, "op": op, "params": params, "input": save(name + "_in", x), "output": save(name + "_out", y)})


def torch_resize(name, shape, out_hw, mode, align_corners=None, antialias=False):
    x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    y = F.interpolate(torch.from_numpy(x), size=out_hw, mode=mode, align_corners=align_corners, antialias=antialias).numpy()
    op = "bicubic_antialias" if antialias else "bilinear"
    add(name, op, {"out_h": out_hw[0], "out_w": out_hw[1], "align_corners": bool(align_corners)}, x, y)


# VCP-CLIP's positional-embedding resize (24x24 -> 37x37) and a downscale that widens the kernel.
torch_resize("bicubic_aa_24_to_37", (1, 2, 24, 24), (37, 37), "bicubic", False, True)
torch_resize("bicubic_aa_down_23x17_to_9x6", (1, 2, 23, 17), (9, 6), "bicubic", False, True)
# Bilinear: small odd sizes both ways, and ViP2-CLIP's 24 -> 37 positional-embedding resize.
torch_resize("bilinear_ac0_7x9_to_23x31", (1, 2, 7, 9), (23, 31), "bilinear", False)
torch_resize("bilinear_ac1_7x9_to_23x31", (1, 2, 7, 9), (23, 31), "bilinear", True)
torch_resize("bilinear_ac0_24_to_37", (1, 1, 24, 24), (37, 37), "bilinear", False)
torch_resize("bilinear_ac1_down_23x31_to_7x9", (1, 1, 23, 31), (7, 9), "bilinear", True)


def gaussian(name, shape, sigma, truncate=4.0):
    x = rng.uniform(0.0, 1.0, size=shape).astype(np.float32)
    # Per image over the last two axes, as VCP/ViP2 call it on each [518, 518] map.
    y = np.stack([scipy.ndimage.gaussian_filter(img, sigma=sigma, mode="reflect", truncate=truncate) for img in x])
    assert y.dtype == np.float32
    add(name, "gaussian", {"sigma": sigma, "truncate": truncate}, x, y)


gaussian("gaussian_s3_2x40x33", (2, 40, 33), 3.0)
gaussian("gaussian_s8_1x48x40", (1, 48, 40), 8.0)
# Radius 12 on a 5x7 image: scipy reflects repeatedly.
gaussian("gaussian_s3_radius_exceeds_1x5x7", (1, 5, 7), 3.0)
gaussian("gaussian_s1p5_t2_1x1x9", (1, 1, 9), 1.5, 2.0)

with open(os.path.join(OUT, "index.json"), "w") as f:
    json.dump({"generator": "tools/golden/make_resize_fixtures.py", "torch": torch.__version__, "scipy": scipy.__version__,
               "cases": cases}, f, indent=1)
print("wrote", len(cases), "cases,", sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT)), "bytes")
