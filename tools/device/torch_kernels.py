"""Kernel-level PyTorch peers of `vcp-native kernels bench` on the ViT-L/14 shapes at 518 px, timed with CUDA events:
linear layers through cuBLAS (bf16 inputs, and fp32 with TF32 off) and attention through scaled_dot_product_attention
(bf16: the flash kernel; fp32). Case names match `kernels bench`: qkv, out_proj, fc1, fc2, attention.

Run from the repository root on a GPU machine (tools/device/check.sh does):
    python3 tools/device/torch_kernels.py --batch-sizes 1,32 --json-out torch_kernels.json
--dry-run (or no CUDA device) runs tiny shapes on the CPU once, to rehearse the script; its times mean nothing.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

TOKENS, WIDTH, MLP, HEADS, HEAD_DIM = 1370, 1024, 4096, 16, 64
LINEAR = [("qkv", 3 * WIDTH, WIDTH), ("out_proj", WIDTH, WIDTH), ("fc1", MLP, WIDTH), ("fc2", WIDTH, MLP)]


def timed_ms(fn, iterations, warmup, cuda):
    """Mean milliseconds per call over `iterations` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    if cuda:
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(iterations):
            fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) / iterations
    t = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - t) * 1e3 / iterations


def sdpa(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    # torch < 2.0 (Debian's 1.13 here): the same arithmetic, materialising the score matrix.
    return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1) @ v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-sizes", default="1,32")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json-out")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    cuda = torch.cuda.is_available() and not a.dry_run
    dev = torch.device("cuda" if cuda else "cpu")
    note = "" if cuda else "dry run on the CPU with tiny shapes: times mean nothing"
    tokens, width = (TOKENS, WIDTH) if cuda else (37, 32)
    heads, head_dim = (HEADS, HEAD_DIM) if cuda else (2, 16)
    iterations, warmup = (a.iterations, a.warmup) if cuda else (1, 0)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    rows = []
    for b in [int(v) for v in a.batch_sizes.split(",") if v]:
        m = b * tokens
        for case, n, k in LINEAR:
            if not cuda:
                n, k = n // WIDTH * 48, k // WIDTH * 32
            x = torch.rand(m, k, device=dev) * 2 - 1
            w = (torch.rand(n, k, device=dev) * 2 - 1) * 0.05
            impls = [("cublas_fp32", x, w)]
            if cuda:
                impls.insert(0, ("cublas_bf16", x.bfloat16(), w.bfloat16()))
            for impl, xi, wi in impls:
                with torch.no_grad():
                    ms = timed_ms(lambda: F.linear(xi, wi), iterations, warmup, cuda)
                rows.append({"case": case, "impl": impl, "batch": b, "m": m, "n": n, "k": k, "ms": ms,
                             "tflops": 2.0 * m * n * k / (ms * 1e-3) / 1e12})
            del x, w, impls
        shape = (b, heads, tokens, head_dim)
        q, k, v = (torch.rand(shape, device=dev) * 2 - 1 for _ in range(3))
        impls = [("sdpa_fp32", q, k, v)]
        if cuda:
            impls.insert(0, ("sdpa_bf16", q.bfloat16(), k.bfloat16(), v.bfloat16()))
        for impl, qi, ki, vi in impls:
            with torch.no_grad():
                ms = timed_ms(lambda: sdpa(qi, ki, vi), iterations, warmup, cuda)
            rows.append({"case": "attention", "impl": impl, "batch": b, "heads": heads, "tokens": tokens, "head_dim": head_dim,
                         "m": tokens, "n": tokens, "k": head_dim, "ms": ms,
                         "tflops": 4.0 * b * heads * tokens * tokens * head_dim / (ms * 1e-3) / 1e12})
        del q, k, v, impls
        if cuda:
            torch.cuda.empty_cache()
    report = {"gpu": torch.cuda.get_device_name(0) if cuda else "cpu (dry run)", "torch": torch.__version__,
              "iterations": iterations, "warmup": warmup, "note": note, "rows": rows}
    text = json.dumps(report, indent=1)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(text)
    print(text)
    for r in rows:
        print(f"{r['case']:9} {r['impl']:12} batch {r['batch']:3}: {r['ms']:9.3f} ms {r['tflops']:8.2f} TFLOP/s", file=sys.stderr)


if __name__ == "__main__":
    main()
