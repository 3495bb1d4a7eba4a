#!/usr/bin/env python3
"""Writes the small weight-file fixtures used by tests/VcpNative.Tests/WeightsConverter.

Run from the repository root:  /usr/bin/python3 tools/golden/make_weight_fixtures.py
Needs torch (1.13 was used) and numpy. Outputs go to tests/VcpNative.Tests/Fixtures/weights/.

Expected values are written by numpy (tofile) into *_expected.bin with a JSON index, never by the
code under test, so the C# readers are checked against an independent writer.
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import CLIP, SAFETENSORS_DTYPES, write_safetensors  # noqa: E402

OUT = os.path.join("tests", "VcpNative.Tests", "Fixtures", "weights")
torch.manual_seed(1234)

# Header key order of the committed safetensors fixtures (insertion order, metadata first).
HEADER_ORDER = {"sort_names": False, "metadata_first": True}

# ---------------------------------------------------------------- tiny OpenAI-CLIP-shaped model
WIDTH, HEADS, PATCH, IMAGE, EMBED, VOCAB, CTX = 8, 2, 4, 8, 6, 16, 5


class TinyClip(CLIP):
    """clip_reference.CLIP at toy size, plus the forward(image, text) that torch.jit.trace needs."""

    def __init__(self):
        super().__init__(embed_dim=EMBED, image_resolution=IMAGE, vision_layers=2, vision_width=WIDTH, vision_patch=PATCH,
                         context_length=CTX, vocab_size=VOCAB, width=WIDTH, heads=HEADS, layers=1, vision_heads=HEADS)

    def forward(self, image, text):
        i = self.visual(image, (), self.visual.positional_embedding.to(image.dtype))[0]
        t = self.encode_text(text)
        return self.logit_scale.exp() * i @ t.t()


def randomise(model):
    # LayerNorm weights start at exactly 1/0; random values make a swapped name detectable.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
        model.logit_scale.fill_(float(np.log(1 / 0.07)))


def write_expected(path_stem, tensors):
    """float32 values of each tensor, concatenated with numpy, plus a JSON index."""
    index, offset = {}, 0
    with open(os.path.join(OUT, path_stem + ".bin"), "wb") as f:
        for name, t in tensors.items():
            a = t.detach().to(torch.float64).numpy().astype(np.float32)
            a.tofile(f)
            index[name] = {"offset": offset, "shape": list(t.shape), "sum": float(t.double().sum())}
            offset += a.size
    with open(os.path.join(OUT, path_stem + ".json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)


def to_huggingface(sd):
    """OpenAI CLIP names -> Hugging Face CLIPModel names (q/k/v split, projections transposed)."""
    hf = collections.OrderedDict()
    sub = [("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2"),
           ("attn.out_proj", "self_attn.out_proj")]

    def tower(prefix_openai, prefix_hf, layers):
        for i in range(layers):
            src = f"{prefix_openai}transformer.resblocks.{i}."
            dst = f"{prefix_hf}.encoder.layers.{i}."
            w, b = sd[src + "attn.in_proj_weight"], sd[src + "attn.in_proj_bias"]
            for j, qkv in enumerate("qkv"):
                hf[dst + f"self_attn.{qkv}_proj.weight"] = w[j * WIDTH:(j + 1) * WIDTH]
                hf[dst + f"self_attn.{qkv}_proj.bias"] = b[j * WIDTH:(j + 1) * WIDTH]
            for a, h in sub:
                for p in ("weight", "bias"):
                    hf[dst + f"{h}.{p}"] = sd[src + f"{a}.{p}"]

    hf["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
    hf["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    hf["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
    hf["vision_model.embeddings.position_ids"] = torch.arange(sd["visual.positional_embedding"].shape[0]).unsqueeze(0)
    for p in ("weight", "bias"):
        hf[f"vision_model.pre_layrnorm.{p}"] = sd[f"visual.ln_pre.{p}"]
        hf[f"vision_model.post_layernorm.{p}"] = sd[f"visual.ln_post.{p}"]
        hf[f"text_model.final_layer_norm.{p}"] = sd[f"ln_final.{p}"]
    tower("visual.", "vision_model", 2)
    tower("", "text_model", 1)
    hf["visual_projection.weight"] = sd["visual.proj"].t().contiguous()
    hf["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    hf["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    hf["text_model.embeddings.position_ids"] = torch.arange(CTX).unsqueeze(0)
    hf["text_projection.weight"] = sd["text_projection"].t().contiguous()
    hf["logit_scale"] = sd["logit_scale"]
    return hf


def make_clip_fixtures():
    model = TinyClip()
    randomise(model)
    model.eval()
    sd32 = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    sd16 = collections.OrderedDict((k, v.half()) for k, v in sd32.items())
    write_expected("clip_tiny_f32_expected", sd32)
    write_expected("clip_tiny_f16_expected", sd16)

    # model.state_dict() itself (not a copy) so the OrderedDict carries its `_metadata` attribute (a BUILD).
    torch.save(model.state_dict(), os.path.join(OUT, "clip_tiny_f32.pt"))
    torch.save(sd16, os.path.join(OUT, "clip_tiny_f16.pt"))
    write_safetensors(os.path.join(OUT, "clip_tiny_f32.safetensors"), sd32, {"format": "pt", "source": "make_weight_fixtures.py"}, **HEADER_ORDER)
    write_safetensors(os.path.join(OUT, "clip_tiny_hf_f32.safetensors"), to_huggingface(sd32), {"format": "pt"}, **HEADER_ORDER)

    # TorchScript like OpenAI's release: traced in fp32, then parameters cast to fp16 (OpenAI ships fp16).
    image = torch.randn(1, 3, IMAGE, IMAGE)
    text = torch.tensor([[1, 2, 3, VOCAB - 1, 0]])
    traced = torch.jit.trace(model, (image, text), check_trace=False)
    traced.half()
    torch.jit.save(traced, os.path.join(OUT, "clip_tiny_torchscript.pt"))


def make_mixed_fixtures():
    """A VCP-like nested checkpoint with every dtype, views, shared storage and scalars."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    ck = collections.OrderedDict()
    ck["trainable_linearlayer"] = collections.OrderedDict([
        ("fc.0.weight", torch.randn(3, 4)), ("fc.0.bias", torch.randn(3))])
    ck["prompt_embeddings"] = torch.randn(2, 3, 4)
    ck["prompt_temp"] = torch.tensor(0.625)
    ck["dtypes"] = {
        "f16": torch.tensor([0.1, -2.5, 65504.0, 6.1e-5, 5.96e-8, float("inf")], dtype=torch.float16),
        "bf16": torch.tensor([0.1, -2.5, 3.0e38, 1e-30, float("-inf")], dtype=torch.bfloat16),
        "f64": torch.tensor([1.0 / 3.0, -1e300], dtype=torch.float64),
        "i64": torch.tensor([-(2 ** 40), 7], dtype=torch.int64),
        "i32": torch.tensor([-123456, 42], dtype=torch.int32),
        "i16": torch.tensor([-300, 301], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }
    ck["views"] = {
        "base": base,
        "transposed": base.t(),                 # stride (1, 6), shares base's storage
        "sliced": base[1:3, 2:5],               # storage offset 8, stride (6, 1)
        "stepped": base[:, ::2],                # stride (6, 2)
    }
    ck["epoch"] = 10
    ck["lr"] = 0.0005
    ck["name"] = "vcp"
    ck["layers"] = [1, 2, (3, "x")]
    torch.save(ck, os.path.join(OUT, "mixed.pt"))

    flat = collections.OrderedDict()

    def walk(prefix, d):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(prefix + k + ".", v)
            elif torch.is_tensor(v):
                flat[prefix + k] = v
    walk("", ck)
    index = {}
    for k, v in flat.items():
        index[k] = {"dtype": SAFETENSORS_DTYPES[v.dtype], "shape": list(v.shape),
                    # Non-finite floats as strings: JSON has no inf/nan literals.
                    "values": [(float(x) if np.isfinite(x) else repr(float(x))) if v.is_floating_point() else int(x)
                               for x in v.flatten().tolist()],
                    "is_contiguous": bool(v.is_contiguous()), "storage_offset": v.storage_offset(),
                    "stride": list(v.stride())}
    with open(os.path.join(OUT, "mixed_expected.json"), "w") as f:
        json.dump(index, f, indent=1)
    # Same tensors (materialised) in safetensors, with metadata.
    write_safetensors(os.path.join(OUT, "mixed.safetensors"), flat, {"format": "pt", "note": "mixed dtypes"}, **HEADER_ORDER)


class Pwn:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/vcp_pwned_marker",))


def torch_zip(path, pickle_bytes, prefix="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pickle_bytes)
        z.writestr(f"{prefix}/version", "3\n")


def make_malicious_fixtures():
    # 1) What torch.save writes for an object whose __reduce__ calls os.system: GLOBAL 'posix system'.
    torch.save({"weight": torch.ones(2), "payload": Pwn()}, os.path.join(OUT, "evil_torch_save.pt"))
    # 2) Hand-written protocol-2 pickle: GLOBAL 'os system', then REDUCE.
    cmd = b"echo pwned > /tmp/vcp_pwned_marker"
    p = b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(cmd)) + cmd + b"\x85" + b"R" + b"."
    torch_zip(os.path.join(OUT, "evil_os_system.pt"), p)
    # 3) Protocol-4 STACK_GLOBAL naming builtins.eval.
    code = b"__import__('os').system('echo pwned')"
    p = (b"\x80\x04" + b"\x8c\x08builtins" + b"\x8c\x04eval" + b"\x93"
         + b"\x8c" + bytes([len(code)]) + code + b"\x85" + b"R" + b".")
    torch_zip(os.path.join(OUT, "evil_builtins_eval.pt"), p)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_clip_fixtures()
    make_mixed_fixtures()
    make_malicious_fixtures()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")
