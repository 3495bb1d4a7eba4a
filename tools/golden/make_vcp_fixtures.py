"""Golden fixtures for VCP-CLIP inference at 518 px: a tiny random CLIP (native 24x24 grid, exact GELU) in OpenAI's
fp16 torch.save format, random heads in the authors' nested torch.save checkpoint format, one PNG input, and the
reference outputs (text features, maps, final map, score).

Run from the repository root:  /usr/bin/python3 tools/golden/make_vcp_fixtures.py
Writes tests/VcpNative.Tests/Fixtures/vcp/{vcp_head.pth, input.png, expected.safetensors}; the CLIP weights are
tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt (from make_clip_fixtures.py, run that first).
"""
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import CLIP, resize_pos, write_safetensors  # noqa: E402
from vcp_reference import VcpHeads, postprocess  # noqa: E402

OUT = "tests/VcpNative.Tests/Fixtures/vcp"
SIZE = 518
PROMPTS = [
    [49406, 320, 1125, 539, 320, 886, 49408, 49407],     # "a photo of a good <|class|>" (method-spec 1.2)
    [49406, 320, 1125, 539, 320, 13568, 49408, 49407],   # "a photo of a damaged <|class|>"
]


def main():
    os.makedirs(OUT, exist_ok=True)
    state = torch.load("tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt")
    clip = CLIP(image_resolution=336, gelu=True)
    clip.load_state_dict({k: v.float() for k, v in state.items()})
    clip.eval()

    torch.manual_seed(2024)
    heads = VcpHeads(clip)
    with torch.no_grad():
        # larger-than-init temperatures-free weights so maps vary across the image
        for p in heads.trainable_linearlayer.parameters():
            p.mul_(4)
    heads.eval()
    torch.save(heads.checkpoint(), os.path.join(OUT, "vcp_head.pth"))

    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:200, 0:300]
    img = np.stack([(xx * 0.8) % 256, (yy * 1.2) % 256, ((xx + yy) * 0.5) % 256], -1)
    img = (img + rng.integers(0, 40, img.shape)).clip(0, 255).astype(np.uint8)
    img[80:120, 140:190] = [250, 30, 30]                  # a "defect"
    Image.fromarray(img).save(os.path.join(OUT, "input.png"))

    preprocess = transforms.Compose([
        transforms.Resize((SIZE, SIZE), interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(SIZE), transforms.ToTensor(),
        transforms.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
    x = preprocess(Image.open(os.path.join(OUT, "input.png")).convert("RGB")).unsqueeze(0)

    tokens = torch.zeros(2, 77, dtype=torch.long)
    for i, p in enumerate(PROMPTS):
        tokens[i, :len(p)] = torch.tensor(p)
    with torch.no_grad():
        pos = resize_pos(clip.visual.positional_embedding, SIZE // 14, "bicubic")
        g, _, blocks = clip.visual(x, [1, 2, 3, 4], pos)
        z = heads.New_Lan_Embed(g)
        text = heads.encode_text(clip, tokens, z)
        m_raw, m_new, logits = heads.maps(blocks, text, (SIZE, SIZE))
    final, score = postprocess(m_raw, m_new)
    expected = {
        # the 518x518 input and the two branch maps are left out to keep the fixture small; per-layer logits stay
        "global": g, "z": z, "text": text,
        "final": torch.from_numpy(final.astype(np.float32)),
        "score": torch.from_numpy(score.astype(np.float32)),
    }
    for l, lg in enumerate(logits):
        expected[f"logits{l}"] = lg
    write_safetensors(os.path.join(OUT, "expected.safetensors"), expected, {"torch": torch.__version__, "size": str(SIZE)})
    print("wrote", OUT, "score", score)


if __name__ == "__main__":
    main()
