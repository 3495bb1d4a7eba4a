"""A small re-implementation of OpenAI CLIP's model.py (same module and parameter names), used as the
PyTorch reference for golden fixtures. Activation is selectable: QuickGELU (OpenAI) or exact GELU (VCP-CLIP)."""
from collections import OrderedDict
import json
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, attn_mask=None, gelu=False):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", nn.GELU() if gelu else QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x):
        mask = self.attn_mask.to(dtype=x.dtype, device=x.device) if self.attn_mask is not None else None
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None, gelu=False):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask, gelu) for _ in range(layers)])


class VisionTransformer(nn.Module):
    def __init__(self, resolution, patch, width, layers, heads, out_dim, gelu=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, gelu=gelu)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, out_dim))

    def forward(self, x, layers, pos):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + pos
        x = self.ln_pre(x).permute(1, 0, 2)
        outs = []
        for i, blk in enumerate(self.transformer.resblocks):
            x = blk(x)
            if i + 1 in layers:
                outs.append(x.permute(1, 0, 2))
        x = x.permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj, x, outs


class CLIP(nn.Module):
    def __init__(self, embed_dim=64, image_resolution=56, vision_layers=4, vision_width=128, vision_patch=14,
                 context_length=77, vocab_size=49408, width=64, heads=1, layers=2, gelu=False, vision_heads=None):
        super().__init__()
        self.context_length = context_length
        # OpenAI's rule is one head per 64 channels; toy widths below 64 name their head count.
        self.visual = VisionTransformer(image_resolution, vision_patch, vision_width, vision_layers,
                                        vision_width // 64 if vision_heads is None else vision_heads, embed_dim, gelu)
        mask = torch.empty(context_length, context_length).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(width, layers, heads, mask, gelu)
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        self.ln_final = LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=width ** -0.5)

    def encode_text_embeddings(self, x, eot):
        x = x.permute(1, 0, 2)
        for blk in self.transformer.resblocks:
            x = blk(x)
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0], device=x.device), eot] @ self.text_projection

    def encode_text(self, tokens):
        x = self.token_embedding(tokens) + self.positional_embedding
        return self.encode_text_embeddings(x, tokens.argmax(dim=-1))


def resize_pos(pos, grid, mode):
    """VCP-CLIP: bicubic antialias at load; ViP2-CLIP: bilinear align_corners=False. Class row kept."""
    g0 = int(round((pos.shape[0] - 1) ** 0.5))
    if g0 == grid:
        return pos
    cells = pos[1:].reshape(1, g0, g0, -1).permute(0, 3, 1, 2)
    if mode == "bicubic":
        cells = F.interpolate(cells, size=(grid, grid), mode="bicubic", antialias=True, align_corners=False)
    else:
        cells = F.interpolate(cells, size=(grid, grid), mode="bilinear", align_corners=False)
    cells = cells.permute(0, 2, 3, 1).reshape(grid * grid, -1)
    return torch.cat([pos[:1], cells], dim=0)


def round_fp16_(model):
    """OpenAI's weights are fp16; both method codebases cast them back to fp32 modules."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                      torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata=None, sort_names=True, metadata_first=False):
    """Minimal, independent safetensors writer (json + struct, every dtype), so fixtures need no extra Python package.

    sort_names / metadata_first only choose the header's key order (all orders are valid safetensors); the defaults
    are those of the CLIP/VCP fixtures, make_weight_fixtures.py keeps insertion order with the metadata first, so
    every committed fixture stays byte-identical."""
    header, blobs, offset = {}, [], 0
    if metadata and metadata_first:
        header["__metadata__"] = metadata
    for name in (sorted(tensors) if sort_names else tensors):
        t = tensors[name].detach().contiguous().cpu()
        # numpy has no bfloat16: write its bits through int16.
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata and not metadata_first:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
