#!/usr/bin/env python3
"""Golden fixtures for src/VcpNative/Anomaly/Metrics (run: /usr/bin/python3 tools/golden/make_metric_fixtures.py).

Writes tests/VcpNative.Tests/Fixtures/metrics/<case>.maps.f32 (float32 LE [N,H,W]), <case>.masks.u8 (0/1 [N,H,W]) or
<case>.scores.f32 / <case>.labels.u8 (image level), and <case>.json with the reference values from sklearn 1.2
(roc_auc_score, average_precision_score, precision_recall_curve), the authors' F1/IoU code, the authors' cal_pro_score
(re-written here from the description in docs/method-spec.md section 1.4, with skimage.measure.label and
sklearn.metrics.auc) and the MVTec-AD AUPRO@0.3 (exact curve, 8-connected regions, interpolation at 0.3, / 0.3).
A metric that sklearn/numpy cannot compute (raises, or yields NaN) is written as null.
"""
import json
import math
import os
import warnings

import numpy as np
from scipy.ndimage import label as nd_label
from skimage import measure
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "VcpNative.Tests", "Fixtures", "metrics")
warnings.filterwarnings("ignore")


def cal_pro_score(masks, amaps, max_step=200, expect_fpr=0.3):
    binary_amaps = np.zeros_like(amaps, dtype=bool)
    min_th, max_th = amaps.min(), amaps.max()
    delta = (max_th - min_th) / max_step
    pros, fprs = [], []
    for th in np.arange(min_th, max_th, delta):
        binary_amaps[amaps <= th], binary_amaps[amaps > th] = 0, 1
        pro = []
        for binary_amap, mask in zip(binary_amaps, masks):
            for region in measure.regionprops(measure.label(mask)):
                tp_pixels = binary_amap[region.coords[:, 0], region.coords[:, 1]].sum()
                pro.append(tp_pixels / region.area)
        inverse_masks = 1 - masks
        fp_pixels = np.logical_and(inverse_masks, binary_amaps).sum()
        fprs.append(fp_pixels / inverse_masks.sum())
        pros.append(np.array(pro).mean())
    pros, fprs = np.array(pros), np.array(fprs)
    idxes = fprs < expect_fpr
    fprs = fprs[idxes]
    fprs = (fprs - fprs.min()) / (fprs.max() - fprs.min())
    return auc(fprs, pros[idxes])


def mvtec_pro30(masks, amaps, limit=0.3):
    """MVTec-AD evaluation code's compute_pro + trapezoid(x_max=0.3) / 0.3, re-written from its description."""
    fp_changes = np.zeros(amaps.shape, dtype=np.float64)
    pro_changes = np.zeros(amaps.shape, dtype=np.float64)
    n_ok, n_regions = 0, 0
    for i, m in enumerate(masks):
        lab, n = nd_label(m, np.ones((3, 3), dtype=int))
        n_regions += n
        ok = lab == 0
        n_ok += ok.sum()
        fp_changes[i][ok] = 1
        for k in range(1, n + 1):
            reg = lab == k
            pro_changes[i][reg] = 1.0 / reg.sum()
    s = amaps.ravel()
    order = np.argsort(s, kind="stable")[::-1]
    s = s[order]
    fprs = np.cumsum(fp_changes.ravel()[order]) / n_ok
    pros = np.cumsum(pro_changes.ravel()[order]) / n_regions
    keep = np.append(np.diff(s) != 0, True)
    x = np.concatenate(([0.0], np.clip(fprs[keep], None, 1.0), [1.0]))
    y = np.concatenate(([0.0], np.clip(pros[keep], None, 1.0), [1.0]))
    correction = 0.0
    if limit not in x:
        ins = int(np.searchsorted(x, limit, side="right"))
        y_interp = y[ins - 1] + (y[ins] - y[ins - 1]) * (limit - x[ins - 1]) / (x[ins] - x[ins - 1])
        correction = 0.5 * (y_interp + y[ins - 1]) * (limit - x[ins - 1])
    m = x <= limit
    x, y = x[m], y[m]
    return (np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction) / limit


def clean(v):
    v = float(v)
    return None if not math.isfinite(v) else v


def guarded(f):
    try:
        return clean(f())
    except (ValueError, ZeroDivisionError, IndexError):
        return None


def pixel_reference(maps, masks):
    gt, pr = masks.ravel(), maps.ravel()
    ref = {
        "auroc": guarded(lambda: roc_auc_score(gt, pr)),
        "ap": guarded(lambda: average_precision_score(gt, pr)) if gt.any() else None,
        "aupro": guarded(lambda: cal_pro_score(masks, maps)) if masks.any() else None,
        "aupro30": guarded(lambda: mvtec_pro30(masks, maps)) if masks.any() else None,
    }
    if gt.any():
        p, r, t = precision_recall_curve(gt, pr)
        f1 = (2 * p * r) / (p + r + 1e-8)
        best = t[np.argmax(f1)]
        ref["f1"] = clean(np.max(f1[np.isfinite(f1)]))
        ref["threshold"] = clean(best)
        pred = (pr > best).astype(np.uint8)
        ref["iou"] = clean(np.logical_and(pred, gt).sum() / np.logical_or(pred, gt).sum())
    else:
        ref["f1"] = ref["threshold"] = ref["iou"] = None
    mn, mx = maps.min(), maps.max()
    ref["thresholds"] = [float(v) for v in np.arange(mn, mx, (mx - mn) / 200)] if mx > mn else []
    return ref


def image_reference(scores, labels):
    ref = {"auroc": guarded(lambda: roc_auc_score(labels, scores))}
    if labels.any():
        ref["ap"] = clean(average_precision_score(labels, scores))
        p, r, _ = precision_recall_curve(labels, scores)
        f1 = (2 * p * r) / (p + r)
        ref["f1"] = clean(np.max(f1[np.isfinite(f1)]))
        f1px = (2 * p * r) / (p + r + 1e-8)
        ref["f1_eps"] = clean(np.max(f1px[np.isfinite(f1px)]))
    else:
        ref["ap"] = ref["f1"] = ref["f1_eps"] = None
    return ref


def blob_masks(rng, n, h, w, anomalous_images, single_pixels=True):
    masks = np.zeros((n, h, w), dtype=np.uint8)
    for i in anomalous_images:
        for _ in range(rng.integers(1, 4)):
            y, x = rng.integers(0, h - 6), rng.integers(0, w - 6)
            masks[i, y:y + rng.integers(1, 7), x:x + rng.integers(1, 7)] = 1
        if single_pixels:
            masks[i, rng.integers(0, h), rng.integers(0, w)] = 1
        # two blocks touching only at a corner: one region under 8-connectivity, two under 4
        masks[i, 0:2, w - 4:w - 2] = 1
        masks[i, 2:4, w - 2:w] = 1
    return masks


def smooth_maps(rng, masks, levels=None, scale=1.0, offset=0.0):
    n, h, w = masks.shape
    maps = rng.random((n, h, w)) * 0.6 + masks * rng.random((n, h, w)) * 0.5
    k = np.ones(3) / 3
    for i in range(n):
        maps[i] = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 1, maps[i])
    maps = maps.astype(np.float32)
    if levels:
        maps = (np.round(maps * levels) / levels).astype(np.float32)
    return (maps * np.float32(scale) + np.float32(offset)).astype(np.float32)


def write_pixel_case(name, maps, masks, manifest):
    maps.astype("<f4").tofile(os.path.join(OUT, name + ".maps.f32"))
    masks.astype(np.uint8).tofile(os.path.join(OUT, name + ".masks.u8"))
    ref = pixel_reference(maps, masks)
    ref["kind"] = "pixel"
    ref["shape"] = list(maps.shape)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f, indent=1)
    manifest.append(name)


def write_image_case(name, scores, labels, manifest):
    scores.astype("<f4").tofile(os.path.join(OUT, name + ".scores.f32"))
    labels.astype(np.uint8).tofile(os.path.join(OUT, name + ".labels.u8"))
    ref = image_reference(scores, labels)
    ref["kind"] = "image"
    ref["shape"] = [len(scores)]
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f, indent=1)
    manifest.append(name)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240917)
    manifest = []

    masks = blob_masks(rng, 8, 32, 32, [1, 2, 4, 5, 7])
    write_pixel_case("pixel_ties", smooth_maps(rng, masks, levels=16), masks, manifest)

    masks = blob_masks(rng, 8, 32, 32, [0, 3, 6])
    write_pixel_case("pixel_continuous", smooth_maps(rng, masks), masks, manifest)

    # ViP2-style raw maps (not min-max normalised): arange length and float32 rounding of thresholds matter.
    masks = blob_masks(rng, 6, 24, 24, [0, 1, 2, 3])
    write_pixel_case("pixel_raw_range", smooth_maps(rng, masks, scale=0.37, offset=0.113), masks, manifest)

    masks = blob_masks(rng, 6, 24, 24, [2], single_pixels=True)
    write_pixel_case("pixel_coarse_ties", smooth_maps(rng, masks, levels=4), masks, manifest)

    # Scores on the 1/200 grid of [0, 1]: some numpy thresholds i*delta land within rounding of a score, so comparing in
    # float64 instead of float32 (numpy's value-based casting) changes the authors' AUPRO. Checked below.
    masks = blob_masks(rng, 4, 16, 16, [0, 2])
    grid = (np.round(rng.random((4, 16, 16)) * 200) / 200).astype(np.float32)
    grid[0, 0, 0], grid[3, 15, 15] = 0, 1
    ths = np.arange(grid.min(), grid.max(), (grid.max() - grid.min()) / 200)
    assert any(((grid > th) != (grid.astype(np.float64) > th)).any() for th in ths), "grid case lost its purpose"
    write_pixel_case("pixel_grid200", grid, masks, manifest)

    masks = np.zeros((4, 16, 16), dtype=np.uint8)
    write_pixel_case("pixel_no_anomaly", smooth_maps(rng, masks, levels=8), masks, manifest)

    masks = np.zeros((3, 16, 16), dtype=np.uint8)
    masks[1, 5, 7] = 1
    masks[2, 15, 15] = 1
    write_pixel_case("pixel_single_pixels", smooth_maps(rng, masks), masks, manifest)

    labels = (rng.random(60) < 0.4).astype(np.uint8)
    scores = (np.round((rng.random(60) + labels * 0.4) * 6) / 6).astype(np.float32)
    write_image_case("image_ties", scores, labels, manifest)

    labels = (rng.random(45) < 0.6).astype(np.uint8)
    scores = (rng.random(45) + labels * 0.3).astype(np.float32)
    write_image_case("image_continuous", scores, labels, manifest)

    write_image_case("image_no_anomaly", rng.random(10).astype(np.float32), np.zeros(10, dtype=np.uint8), manifest)

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
