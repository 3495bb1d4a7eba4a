"""PyTorch peer of `vcp-native bench`: the authors' VCP-CLIP inference (method-spec section 2) with random weights of
ViT-L/14@336px at 518 px, timed per stage the same way as the C# bench: on the CPU in fp32, or on a CUDA GPU in fp32
or under fp16 autocast as the authors' test.py runs it (stages waited for with torch.cuda.synchronize()).

Run from the repository root (not in CI):
    /usr/bin/python3 tools/peer/vcp_pytorch_peer.py --threads 2 --iterations 3 --warmup 1 [--json]
    python3 tools/peer/vcp_pytorch_peer.py --device cuda --precision autocast-fp16 --batch-size 32 --json-out peer.json

The model is tools/golden/clip_reference.py (OpenAI CLIP's module structure: nn.MultiheadAttention, exact GELU as
VCP-CLIP's modified backbone) and tools/golden/vcp_reference.py (the authors' heads: text encoder run per image for the
2 prompts, Post-VCP, LinearLayer, logits upsampled then softmax, scipy gaussian_filter, np.partition top-k). The
authors run under CUDA autocast; on the CPU their code runs in fp32, which is what this measures.
"""
import argparse
import contextlib
import io
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from clip_reference import CLIP, resize_pos  # noqa: E402
from vcp_reference import VcpHeads, postprocess  # noqa: E402

PROMPTS = [
    [49406, 320, 1125, 539, 320, 886, 49408, 49407],     # "a photo of a good <|class|>"
    [49406, 320, 1125, 539, 320, 13568, 49408, 49407],   # "a photo of a damaged <|class|>"
]


def generated_png(width=640, height=480):
    """The same kind of input as the C# bench: a colour ramp with noise and a bright patch, PNG-encoded."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 0.4, yy * 0.5, (xx + yy) * 0.2], -1) + rng.integers(0, 24, (height, width, 3))
    img = img.clip(0, 255).astype(np.uint8)
    img[height // 3:height // 3 + 40, width // 2:width // 2 + 60] = [250, 30, 30]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image-size", type=int, default=518)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--json-out", help="also write the JSON report to this file")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["fp32", "autocast-fp16"], default="fp32",
                    help="autocast-fp16: torch.autocast('cuda', float16) around the model, as the authors' test.py")
    args = ap.parse_args()
    if args.precision != "fp32" and args.device != "cuda":
        sys.exit("vcp_pytorch_peer.py: --precision autocast-fp16 needs --device cuda (autocast fp16 is the authors' GPU setting)")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("vcp_pytorch_peer.py: --device cuda but torch sees no CUDA device")
    dev = torch.device(args.device)
    cuda = args.device == "cuda"
    # TF32 off: fp32 means fp32 on the GPU too (our fp32 path is cuBLAS fp32 without TF32).
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    size = args.image_size

    t0 = time.perf_counter()
    clip = CLIP(embed_dim=768, image_resolution=336, vision_layers=24, vision_width=1024, vision_patch=14,
                context_length=77, vocab_size=49408, width=768, heads=12, layers=12, gelu=True).eval()
    heads = VcpHeads(clip, r=2, n=1, features=4).eval()
    with torch.no_grad():
        # VCP-CLIP replaces the position embedding once at load (bicubic, antialias).
        pos = resize_pos(clip.visual.positional_embedding, size // 14, "bicubic")
    clip, heads, pos = clip.to(dev), heads.to(dev), pos.to(dev)
    sync()
    build = time.perf_counter() - t0

    preprocess = transforms.Compose([
        transforms.Resize((size, size), interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size), transforms.ToTensor(),
        transforms.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
    tokens = torch.zeros(2, 77, dtype=torch.long)
    for i, p in enumerate(PROMPTS):
        tokens[i, :len(p)] = torch.tensor(p)
    tokens = tokens.to(dev)
    png = generated_png()
    autocast = torch.autocast("cuda", dtype=torch.float16) if args.precision == "autocast-fp16" else contextlib.nullcontext()

    sums = np.zeros(4)
    best = float("inf")
    cpu0 = 0.0
    for it in range(args.warmup + args.iterations):
        if it == args.warmup:
            cpu0 = time.process_time()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        x = torch.stack([preprocess(Image.open(io.BytesIO(png)).convert("RGB")) for _ in range(args.batch_size)]).to(dev)
        sync()
        t_dec = time.perf_counter()
        with torch.no_grad(), autocast:
            g, _, blocks = clip.visual(x, [6, 12, 18, 24], pos)
            sync()
            t_vis = time.perf_counter()
            z = heads.New_Lan_Embed(g)
            text = heads.encode_text(clip, tokens, z)
            m_raw, m_new, _ = heads.maps(blocks, text, (size, size))
            sync()
            t_heads = time.perf_counter()
        # The authors post-process on the CPU (scipy gaussian_filter, numpy top-k): the device-to-host copy counts here.
        final, score = postprocess(m_raw.float().cpu(), m_new.float().cpu())
        t_post = time.perf_counter()
        stages = np.array([t_dec - t, t_vis - t_dec, t_heads - t_vis, t_post - t_heads])
        if it >= args.warmup:
            sums += stages
            best = min(best, stages.sum())
        elif not args.json:
            print(f"peer: warm-up {it + 1}/{args.warmup}: {stages.sum():.2f} s", file=sys.stderr)
    n = args.iterations
    mean = sums / n
    report = {
        "method": "vcp", "arch": "vit-l-14-336", "peer": "pytorch " + torch.__version__, "random_weights": True,
        "device": args.device, "precision": args.precision, "threads": torch.get_num_threads(), "image_size": size, "batch_size": args.batch_size,
        "iterations": n, "warmup": args.warmup, "model_build_s": build,
        "stages_s_per_batch": {"decode_preprocess": mean[0], "image_tower": mean[1], "text_heads": mean[2],
                               "postprocess": mean[3], "total": mean.sum()},
        "best_total_s_per_batch": best,
        "cpu_s_per_batch": (time.process_time() - cpu0) / n,
        "images_per_s": args.batch_size / mean.sum(),
        # ru_maxrss is in KiB on Linux
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "score_finite": bool(np.isfinite(score).all() and np.isfinite(final).all()),
    }
    if cuda:
        report["gpu"] = {"name": torch.cuda.get_device_name(0),
                         "peak_device_mb": torch.cuda.max_memory_allocated() / 2 ** 20,
                         "peak_device_measure": "torch.cuda.max_memory_allocated over the timed iterations (caching allocator's live tensors)"}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f)
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
