"""Weight-file seeds written by Debian's torch 1.13 (run by make-seeds.sh with /usr/bin/python3).

torch.save zips (small state dicts: several dtypes, a transposed view, shared storage, nested dicts), their data.pkl
alone (the pickle target wraps it in a zip itself), a torch.jit.save archive, and safetensors files laid out by hand
exactly as the safetensors format specifies (8-byte little-endian header length, JSON header, raw data)."""
import io, json, os, shutil, struct, sys, zipfile
import torch

seeds, fixtures = sys.argv[1], sys.argv[2]
torch.manual_seed(17)

def state_dicts():
    w = torch.randn(3, 4)
    yield "f32", {"weight": w, "bias": torch.zeros(3)}
    yield "mixed", {"h": torch.randn(2, 2).half(), "b": torch.randn(2).bfloat16(), "i": torch.arange(4), "m": torch.tensor([True, False])}
    yield "view", {"t": w.t(), "slice": w[1:, 2:], "shared": w}
    yield "nested", {"model": {"layer": {"w": torch.ones(2)}}, "epoch": 3, "name": "x", "cfg": [1.5, None, (1, 2)]}
    yield "scalar", {"s": torch.tensor(2.5), "empty": torch.zeros(0, 3)}

for name, sd in state_dicts():
    path = os.path.join(seeds, "torchzip", f"torch_save_{name}.pt")
    torch.save(sd, path)
    with zipfile.ZipFile(path) as z:
        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        open(os.path.join(seeds, "pickle", f"{name}.pkl"), "wb").write(z.read(pkl))
# The pickle target's wrapper zip holds storage "0" only; a pickle naming it directly:
buf = io.BytesIO()
torch.save({"w": torch.zeros(4)}, buf)
for f in ["mixed.pt", "evil_builtins_eval.pt", "evil_os_system.pt", "evil_torch_save.pt"]:
    shutil.copy(os.path.join(fixtures, "weights", f), os.path.join(seeds, "torchzip", f))
    with zipfile.ZipFile(os.path.join(fixtures, "weights", f)) as z:
        pkl = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
        if pkl:
            open(os.path.join(seeds, "pickle", f.replace(".pt", ".pkl")), "wb").write(z.read(pkl))

class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 2)
        self.register_buffer("scale", torch.tensor([0.5]))
    def forward(self, x):
        return self.proj(x) * self.scale

torch.jit.save(torch.jit.script(Tiny()), os.path.join(seeds, "torchscript", "tiny_script.pt"))
torch.jit.save(torch.jit.trace(Tiny(), torch.zeros(1, 3)), os.path.join(seeds, "torchscript", "tiny_trace.pt"))

def safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.bool: "BOOL", torch.uint8: "U8"}
    for k, t in tensors.items():
        t = t.contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

safetensors(os.path.join(seeds, "safetensors", "f32.safetensors"), {"weight": torch.randn(3, 4), "bias": torch.zeros(3)}, {"format": "pt"})
safetensors(os.path.join(seeds, "safetensors", "mixed.safetensors"),
            {"h": torch.randn(2, 2).half(), "b": torch.randn(2).bfloat16(), "i": torch.arange(4), "m": torch.tensor([True, False]), "u": torch.arange(3, dtype=torch.uint8)})
safetensors(os.path.join(seeds, "safetensors", "empty.safetensors"), {"e": torch.zeros(0, 2), "s": torch.tensor(1.0)})
shutil.copy(os.path.join(fixtures, "weights", "mixed.safetensors"), os.path.join(seeds, "safetensors", "fixture_mixed.safetensors"))
# Hugging Face CLIP naming, so WeightLoader.Load maps names too.
shutil.copy(os.path.join(fixtures, "weights", "clip_tiny_hf_f32.safetensors"), os.path.join(seeds, "safetensors", "fixture_clip_tiny_hf.safetensors"))
