"""Golden fixtures for one VCP-CLIP training step (method-spec 2.4-2.5): the authors' train.py step in PyTorch -
frozen image tower under no_grad, Pre-VCP, deep-prompted text tower, both branches, logits upsampled before the
2-class softmax, FocalLoss + BinaryDiceLoss per layer and branch, backward, then torch.optim.Adam with the authors'
two parameter groups and betas (0.5, 0.999). Dropout is off (p = 0) and there is no augmentation, so the step is
deterministic. Also a small multi-step Adam fixture (random gradients, a parameter without gradient).

Run from the repository root:  /usr/bin/python3 tools/golden/make_vcp_train_fixtures.py
Reads tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt (make_clip_fixtures.py) and the initial heads
tests/VcpNative.Tests/Fixtures/vcp/vcp_head.pth (make_vcp_fixtures.py, authors' nested format).
Writes tests/VcpNative.Tests/Fixtures/train/{train_step.safetensors, adam.safetensors}.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import CLIP, resize_pos, write_safetensors  # noqa: E402
from vcp_reference import VcpHeads  # noqa: E402

OUT = "tests/VcpNative.Tests/Fixtures/train"
SIZE = 112
PROMPTS = [
    [49406, 320, 1125, 539, 320, 886, 49408, 49407],     # "a photo of a good <|class|>"
    [49406, 320, 1125, 539, 320, 13568, 49408, 49407],   # "a photo of a damaged <|class|>"
]
GROUPS = ("trainable_linearlayer", "New_Lan_Embed", "Zero_try")
# Softmax over patches ignores q . b_k (same for every patch); the Conv1d bias shifts whole Z rows, which every
# LayerNorm removes before they reach the EOT row. So these gradients are zero up to rounding.
ZERO_GRADIENT = ("Zero_try.k_proj_pre_1.bias", "New_Lan_Embed.prompt_linear1.fc.bias")
TEMPERATURES = ("New_Lan_Embed.prompt_temp", "Zero_try.prompt_temp_l1")


def focal_loss(prob, target, gamma=2, smooth=1e-5):
    """utils/loss.py FocalLoss(apply_nonlin=None, alpha=None, gamma=2, smooth=1e-5, size_average=True), spec 2.5:
    probabilities [B, C, H, W] flattened to (b, h, w) rows; one-hot clamped to [smooth, 1 - smooth]."""
    c = prob.shape[1]
    rows = prob.view(prob.size(0), c, -1).permute(0, 2, 1).contiguous().view(-1, c)
    idx = target.reshape(-1, 1).long()
    onehot = torch.zeros(idx.shape[0], c).scatter_(1, idx, 1)
    onehot = torch.clamp(onehot, smooth / (c - 1), 1.0 - smooth)
    pt = (onehot * rows).sum(1) + smooth
    alpha = torch.ones(c, 1)[idx].squeeze()
    return (-1 * alpha * torch.pow(1 - pt, gamma) * pt.log()).mean()


def dice_loss(p, target):
    """utils/loss.py BinaryDiceLoss: per image (2 sum p t + 1) / (sum p + sum t + 1), loss = 1 - mean."""
    n = target.shape[0]
    pf, tf = p.reshape(n, -1), target.reshape(n, -1)
    dice = (2 * (pf * tf).sum(1) + 1) / (pf.sum(1) + tf.sum(1) + 1)
    return 1 - dice.sum() / n


def branch_loss(logits, gt):
    b, l, c = logits.shape
    g = int(np.sqrt(l))
    m = F.interpolate(logits.permute(0, 2, 1).reshape(b, c, g, g), size=SIZE, mode="bilinear", align_corners=True)
    prob = torch.softmax(m, dim=1)
    return focal_loss(prob, gt) + dice_loss(prob[:, 1], gt)


def load_heads(clip):
    heads = VcpHeads(clip)
    ckpt = torch.load("tests/VcpNative.Tests/Fixtures/vcp/vcp_head.pth")
    flat = {}
    for k, v in ckpt.items():
        if k in GROUPS:
            flat.update({f"{k}.{n}": t for n, t in v.items()})
        else:
            flat[k] = v
    heads.load_state_dict(flat)
    heads.prompt_dropout.p = 0.0     # deterministic step for the golden
    heads.train()
    return heads


def train_step(clip, heads, x, gt, tokens):
    with torch.no_grad():
        pos = resize_pos(clip.visual.positional_embedding, SIZE // 14, "bicubic")
        g, _, blocks = clip.visual(x, [1, 2, 3, 4], pos)
    z = heads.New_Lan_Embed(g)
    text = heads.encode_text(clip, tokens, z)                      # [B, 2, E]
    loss_new, loss_raw = 0, 0
    per_layer = []
    for l, tok in enumerate(blocks):
        dense = tok[:, 1:, :].clone()
        dense = dense / dense.norm(dim=-1, keepdim=True)
        t_new = heads.Zero_try(text, dense)
        ln = branch_loss(heads.Zero_try.prompt_temp_l1.exp() * dense @ t_new.permute(0, 2, 1), gt)
        pr = heads.trainable_linearlayer.fc[l](tok[:, 1:, :])
        pr = pr / pr.norm(dim=-1, keepdim=True)
        lr_ = branch_loss(heads.New_Lan_Embed.prompt_temp.exp() * pr @ text.permute(0, 2, 1), gt)
        loss_new = loss_new + ln
        loss_raw = loss_raw + lr_
        per_layer += [lr_.detach(), ln.detach()]
    return loss_new + loss_raw, loss_raw, loss_new, torch.stack(per_layer)


def adam_groups(named, lr=4e-5, temp_lr=0.01):
    main = [p for n, p in named.items() if n not in TEMPERATURES]
    temps = [named[n] for n in TEMPERATURES]
    return torch.optim.Adam([{"params": main, "lr": lr}, {"params": temps, "lr": temp_lr}], lr=lr, betas=(0.5, 0.999))


def make_train_step():
    state = torch.load("tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt")
    clip = CLIP(image_resolution=336, gelu=True)
    clip.load_state_dict({k: v.float() for k, v in state.items()})
    clip.requires_grad_(False)
    heads = load_heads(clip)
    named = dict(heads.named_parameters())

    torch.manual_seed(11)
    # Smooth random images (stored as fp16 so both sides read identical float32 values).
    x = F.interpolate(torch.randn(2, 3, 14, 14), size=SIZE, mode="bilinear", align_corners=False) * 1.5
    x = x.half().float()
    gt = torch.zeros(2, SIZE, SIZE)
    gt[0, 30:61, 40:90] = 1                       # a rectangle defect
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    gt[0][((yy - 85) ** 2 + (xx - 25) ** 2) < 144] = 1   # and a disc
    # image 1: all-zero mask (a normal image)
    tokens = torch.zeros(2, 77, dtype=torch.long)
    for i, p in enumerate(PROMPTS):
        tokens[i, :len(p)] = torch.tensor(p)

    loss, loss_raw, loss_new, per_layer = train_step(clip, heads, x, gt, tokens)
    opt = adam_groups(named)
    opt.zero_grad()
    loss.backward()
    out = {"images": x.half(), "masks": gt.half(), "loss": loss.detach().reshape(1),
           "loss_raw": loss_raw.detach().reshape(1), "loss_new": loss_new.detach().reshape(1), "per_layer": per_layer}
    for n, p in named.items():
        if p.grad is not None:
            out[f"grad.{n}"] = p.grad.clone()
    opt.step()
    for n, p in named.items():
        # Post-step values for every tensor except the largest Post-VCP / linear weights (same code path as the
        # stored ones; left out to keep the fixture small) and the two biases whose gradient is analytically zero
        # (ZERO_GRADIENT): their Adam update lr * g / (|g| + eps) is driven by rounding noise on either side.
        if n in ZERO_GRADIENT:
            continue
        if p.numel() <= 8192 and not n.startswith("trainable_linearlayer.fc.") or n in (
                "trainable_linearlayer.fc.0.weight", "Zero_try.q_proj_pre.weight"):
            out[f"after.{n}"] = p.detach().clone()
    write_safetensors(os.path.join(OUT, "train_step.safetensors"), out,
                      {"torch": torch.__version__, "size": str(SIZE), "lr": "4e-05", "temp_lr": "0.01"})
    print("train step: loss", loss.item(), "raw", loss_raw.item(), "new", loss_new.item())


def make_adam():
    """3 Adam steps on small tensors: random gradients per step, both groups, one parameter never gets a gradient."""
    torch.manual_seed(3)
    named = {
        "a": torch.nn.Parameter(torch.randn(5, 3)),
        "b": torch.nn.Parameter(torch.randn(7)),
        "never": torch.nn.Parameter(torch.randn(4)),
        "New_Lan_Embed.prompt_temp": torch.nn.Parameter(torch.tensor(2.659260)),
        "Zero_try.prompt_temp_l1": torch.nn.Parameter(torch.tensor(2.659260)),
    }
    out = {f"init.{n}": p.detach().clone() for n, p in named.items()}
    opt = adam_groups(named)
    for step in range(3):
        opt.zero_grad()
        for n, p in named.items():
            if n != "never":
                g = torch.randn(p.shape) * (10.0 ** -step)
                if n == "a":
                    g[0, 0] = 0.0            # zero gradient: update 0 / (0 + eps)
                    g[1, 1] = 1e-9           # near eps
                p.grad = g
                out[f"grad{step}.{n}"] = g.clone()
        opt.step()
        for n, p in named.items():
            out[f"after{step}.{n}"] = p.detach().clone()
    for n, p in named.items():
        st = opt.state.get(p)
        if st:
            out[f"exp_avg.{n}"] = st["exp_avg"].clone()
            out[f"exp_avg_sq.{n}"] = st["exp_avg_sq"].clone()
    write_safetensors(os.path.join(OUT, "adam.safetensors"), out, {"torch": torch.__version__})
    print("adam fixture written")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_adam()
    make_train_step()
