"""Golden fixtures for ViP2-CLIP (method-spec section 3): random heads for the tiny CLIP (QuickGELU, bilinear position
resize) in the authors' checkpoint format {'prompt_learner': ICA.state_dict() incl. the 8 buffers, 'Zero_try':
FGP.state_dict()}, the inference reference at 518 px on the VCP fixture's input.png, and one training step at 112 px
(train.py: focal + two dice terms per layer + image cross-entropy, Adam lr 1e-3 for ICA and 1e-5 for FGP).

Run from the repository root after make_clip_fixtures.py and make_vcp_fixtures.py:
    /usr/bin/python3 tools/golden/make_vip2_fixtures.py
Writes tests/VcpNative.Tests/Fixtures/vip2/{vip2_head.pth, expected.safetensors, train_step.safetensors}.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import CLIP, write_safetensors  # noqa: E402
from vcp_reference import ZeroParameter  # noqa: E402
import vip2_reference as vip2  # noqa: E402

OUT = "tests/VcpNative.Tests/Fixtures/vip2"
N_CTX, N_CLS = 5, 2          # not the authors' 7 / 3: the C# side must read e and r from the weights
LAYERS = [1, 2, 3, 4]
SIZE = 518
TRAIN_SIZE = 112
MAP_STRIDE = 3               # the 518x518 final map is stored at every 3rd row and column to keep the fixture small
QK_GAIN = 16.0


def load_clip():
    state = torch.load("tests/VcpNative.Tests/Fixtures/clip/tiny_clip.pt")
    clip = CLIP(image_resolution=336, gelu=False)            # QuickGELU: ViP2 keeps OpenAI's activation
    clip.load_state_dict({k: v.float() for k, v in state.items()})
    clip.eval()
    clip.requires_grad_(False)
    return clip


def make_heads(clip):
    torch.manual_seed(77)
    ica = vip2.ICA(clip, N_CTX, N_CLS)
    e = clip.text_projection.shape[1]
    fgp = ZeroParameter(e, e, e)
    with torch.no_grad():
        # larger than init so the two prompts (and so the maps) differ visibly on a random model
        ica.ctx_pos.mul_(25)
        ica.ctx_neg.mul_(25)
        ica.cls_ctx.mul_(10)
        # peaky, text-dependent attention in FGP so the two refined texts (and the maps) differ
        fgp.q_proj_pre.weight.mul_(QK_GAIN)
        fgp.k_proj_pre_1.weight.mul_(QK_GAIN)
    ckpt = {"prompt_learner": ica.state_dict(), "Zero_try": fgp.state_dict()}
    torch.save(ckpt, os.path.join(OUT, "vip2_head.pth"))
    return ica, fgp


def make_inference(clip, ica, fgp):
    preprocess = transforms.Compose([
        transforms.Resize((SIZE, SIZE), interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(SIZE), transforms.ToTensor(),
        transforms.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
    x = preprocess(Image.open("tests/VcpNative.Tests/Fixtures/vcp/input.png").convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        g, text, maps, cosines, logits = vip2.forward(clip, ica, fgp, x, LAYERS, SIZE)
    final, score = vip2.postprocess(maps, logits)
    final = torch.from_numpy(np.ascontiguousarray(final[0][::MAP_STRIDE, ::MAP_STRIDE]).astype(np.float32))
    out = {"global": g, "text": text, "final_strided": final, "score": score.float(), "logits": logits}
    for l, c in enumerate(cosines):
        out[f"cosines{l}"] = c
    write_safetensors(os.path.join(OUT, "expected.safetensors"), out,
                      {"torch": torch.__version__, "size": str(SIZE), "map_stride": str(MAP_STRIDE)})
    print("inference: score", score.tolist(), "map range", float(final.min()), float(final.max()))


def make_train_step(clip, ica, fgp):
    ica.train()
    fgp.train()
    torch.manual_seed(11)
    x = F.interpolate(torch.randn(2, 3, 14, 14), size=TRAIN_SIZE, mode="bilinear", align_corners=False) * 1.5
    x = x.half().float()
    gt = torch.zeros(2, TRAIN_SIZE, TRAIN_SIZE)
    gt[0, 30:61, 40:90] = 1
    yy, xx = torch.meshgrid(torch.arange(TRAIN_SIZE), torch.arange(TRAIN_SIZE), indexing="ij")
    gt[0][((yy - 85) ** 2 + (xx - 25) ** 2) < 144] = 1
    label = torch.tensor([1, 0])
    opt = torch.optim.Adam([{"params": ica.parameters(), "lr": 1e-3}, {"params": fgp.parameters(), "lr": 1e-5}])
    _, _, maps, _, logits = vip2.forward(clip, ica, fgp, x, LAYERS, TRAIN_SIZE)
    total, seg, image = vip2.loss(maps, logits, gt, label)
    opt.zero_grad()
    total.backward()
    out = {"images": x.half(), "masks": gt.half(), "labels": label.float(), "loss": total.detach().reshape(1),
           "loss_seg": seg.detach().reshape(1), "loss_image": image.detach().reshape(1), "logits": logits.detach()}
    named = {f"prompt_learner.{n}": p for n, p in ica.named_parameters()}
    named.update({f"Zero_try.{n}": p for n, p in fgp.named_parameters()})
    for n, p in named.items():
        if p.grad is not None:
            out[f"grad.{n}"] = p.grad.clone()
    opt.step()
    for n, p in named.items():
        # k_proj_pre_1.bias: analytically zero gradient (softmax over patches ignores q . b_k), so Adam moves it by
        # lr * noise / (|noise| + eps); left out like the VCP fixture does.
        if p.grad is not None and n != "Zero_try.k_proj_pre_1.bias":
            out[f"after.{n}"] = p.detach().clone()
    write_safetensors(os.path.join(OUT, "train_step.safetensors"), out,
                      {"torch": torch.__version__, "size": str(TRAIN_SIZE), "lr_ica": "1e-3", "lr_fgp": "1e-5"})
    print("train step: loss", total.item(), "seg", seg.item(), "image", image.item())


def main():
    os.makedirs(OUT, exist_ok=True)
    clip = load_clip()
    ica, fgp = make_heads(clip)
    ica.eval()
    fgp.eval()
    make_inference(clip, ica, fgp)
    make_train_step(clip, ica, fgp)


if __name__ == "__main__":
    main()
