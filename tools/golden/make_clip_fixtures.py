"""Golden fixtures for the CLIP towers: a tiny random CLIP (OpenAI names, fp16-rounded like the real file) saved
as a torch.save state_dict, plus its outputs with QuickGELU and exact GELU, for both position-resize modes.

Run from the repository root:  /usr/bin/python3 tools/golden/make_clip_fixtures.py
Writes tests/VcpNative.Tests/Fixtures/clip/{tiny_clip.pt, expected.safetensors}.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import CLIP, resize_pos, round_fp16_, write_safetensors  # noqa: E402

OUT = "tests/VcpNative.Tests/Fixtures/clip"
IMAGE = 98          # 7x7 grid of 14 px patches; the native grid is 24x24 (336 px) as in ViT-L/14-336, so the resize runs
NATIVE = 336
LAYERS = [2, 4]
TOKENS = [
    [49406, 320, 1125, 539, 320, 886, 49407],
    [49406, 320, 1125, 539, 320, 13568, 1929, 269, 49407],
]


def periodic_embedding(vocab, width):
    # Rows not used by the test follow a short period so the committed file compresses well in git.
    i = torch.arange(vocab).unsqueeze(1)
    j = torch.arange(width).unsqueeze(0)
    return (((i * 7 + j * 13) % 17) - 8).float() * 0.01


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    model = CLIP(image_resolution=NATIVE)
    with torch.no_grad():
        used = sorted({t for seq in TOKENS for t in seq})
        emb = periodic_embedding(49408, 64)
        emb[used] = torch.randn(len(used), 64) * 0.5
        model.token_embedding.weight.copy_(emb)
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif "ln_" in name and name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
    round_fp16_(model)
    state = {k: v.half() for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(OUT, "tiny_clip.pt"))

    torch.manual_seed(99)
    images = torch.randn(2, 3, IMAGE, IMAGE)
    tokens = torch.zeros(len(TOKENS), 77, dtype=torch.long)
    for r, seq in enumerate(TOKENS):
        tokens[r, :len(seq)] = torch.tensor(seq)

    expected = {"images": images, "tokens": tokens.to(torch.int32)}
    for act in ("quickgelu", "gelu"):
        ref = CLIP(image_resolution=NATIVE, gelu=(act == "gelu"))
        ref.load_state_dict({k: v.float() for k, v in state.items()})
        ref.eval()
        with torch.no_grad():
            expected[f"{act}.text"] = ref.encode_text(tokens)
            for mode in ("bicubic", "bilinear"):
                pos = resize_pos(ref.visual.positional_embedding, IMAGE // 14, mode)
                glob, final, outs = ref.visual(images, LAYERS, pos)
                expected[f"{act}.{mode}.global"] = glob
                expected[f"{act}.{mode}.final"] = final
                for l, o in zip(LAYERS, outs):
                    expected[f"{act}.{mode}.block{l}"] = o
    write_safetensors(os.path.join(OUT, "expected.safetensors"), expected,
                      {"layers": ",".join(map(str, LAYERS)), "image_size": str(IMAGE), "torch": torch.__version__})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
