#!/usr/bin/python3
"""Generates the JPEG decoder golden fixtures: small JPEG files plus the pixels PIL decodes from them.

Run from the repository root:  /usr/bin/python3 tools/golden/make_jpeg_fixtures.py
Writes tests/VcpNative.Tests/Fixtures/jpeg/<name>.jpg and <name>.raw (the pixels PIL decodes,
row-major, interleaved: RGB for colour files, one byte per pixel for greyscale files) and manifest.txt
("name width height components" per line).

Most files come from PIL's encoder. Options PIL 9.4 cannot produce (restart intervals, 4:1:1, 4:4:0 and
other sampling factors, Adobe RGB, arithmetic coding) come from a tiny C program compiled here against
the system libjpeg (needs gcc and libjpeg-dev). The reference decode is always PIL
(`Image.open(p).convert(...)`, libjpeg-turbo islow IDCT + fancy upsampling), never our decoder.
"""
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

OUT = os.path.join("tests", "VcpNative.Tests", "Fixtures", "jpeg")

ENCODER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
/* usage: enc W H NC quality restart_interval progressive arith rgb_colorspace optimize h0 v0 h1 v1 h2 v2 out.jpg < raw */
int main(int argc, char **argv) {
  if (argc != 17) { fprintf(stderr, "bad args\n"); return 2; }
  int w = atoi(argv[1]), h = atoi(argv[2]), nc = atoi(argv[3]);
  struct jpeg_compress_struct c; struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e); jpeg_create_compress(&c);
  FILE *f = fopen(argv[16], "wb"); jpeg_stdio_dest(&c, f);
  c.image_width = w; c.image_height = h; c.input_components = nc;
  c.in_color_space = nc == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  if (atoi(argv[8])) jpeg_set_colorspace(&c, JCS_RGB);
  jpeg_set_quality(&c, atoi(argv[4]), TRUE);
  c.restart_interval = atoi(argv[5]);
  c.arith_code = atoi(argv[7]);
  c.optimize_coding = atoi(argv[9]);
  for (int i = 0; i < nc; i++) {
    c.comp_info[i].h_samp_factor = atoi(argv[10 + 2 * i]);
    c.comp_info[i].v_samp_factor = atoi(argv[11 + 2 * i]);
  }
  if (atoi(argv[6])) jpeg_simple_progression(&c);
  unsigned char *buf = malloc((size_t)w * h * nc);
  if (fread(buf, 1, (size_t)w * h * nc, stdin) != (size_t)w * h * nc) return 3;
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = buf + (size_t)c.next_scanline * w * nc;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c); fclose(f); jpeg_destroy_compress(&c);
  return 0;
}
"""


def natural_image(w, h, seed, grey=False):
    """Gradients + smooth blobs + shapes + noise: exercises both low and high DCT frequencies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = 255 * x / max(w - 1, 1)
    img[..., 1] = 255 * y / max(h - 1, 1)
    img[..., 2] = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    cx, cy, r = w * 0.6, h * 0.4, min(w, h) * 0.25
    disc = (x - cx) ** 2 + (y - cy) ** 2 < r * r
    img[disc] = [240, 30, 60]
    img[int(h * 0.7):int(h * 0.9), int(w * 0.1):int(w * 0.4)] = [20, 200, 40]
    img += rng.normal(0, 12, img.shape)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    if grey:
        img = (0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]).round().astype(np.uint8)
    return img


def build_encoder(tmp):
    src = os.path.join(tmp, "enc.c")
    exe = os.path.join(tmp, "enc")
    with open(src, "w") as f:
        f.write(ENCODER_C)
    subprocess.run(["gcc", "-O1", "-o", exe, src, "-ljpeg"], check=True)
    return exe


def encode_libjpeg(exe, path, img, quality, sampling, restart=0, progressive=False, arith=False,
                   rgb=False, optimize=False):
    h, w = img.shape[:2]
    nc = 1 if img.ndim == 2 else 3
    factors = [str(v) for hv in sampling for v in hv] + ["1"] * (6 - 2 * len(sampling))
    args = [exe, str(w), str(h), str(nc), str(quality), str(restart), str(int(progressive)),
            str(int(arith)), str(int(rgb)), str(int(optimize))] + factors + [path]
    subprocess.run(args, input=img.tobytes(), check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_encoder(tmp)

        def pil(name, w, h, seed, grey=False, **kw):
            img = natural_image(w, h, seed, grey)
            Image.fromarray(img).save(os.path.join(OUT, name + ".jpg"), **kw)
            return name

        def lj(name, w, h, seed, quality, sampling, grey=False, **kw):
            img = natural_image(w, h, seed, grey)
            encode_libjpeg(exe, os.path.join(OUT, name + ".jpg"), img, quality, sampling, **kw)
            return name

        names = [
            pil("pil_444_q90_37x29", 37, 29, 1, quality=90, subsampling=0),
            pil("pil_422_q75_64x48", 64, 48, 2, quality=75, subsampling=1),
            pil("pil_420_q85_100x75", 100, 75, 3, quality=85, subsampling=2),
            pil("pil_420_q50_opt_33x17", 33, 17, 4, quality=50, subsampling=2, optimize=True),
            pil("pil_grey_q80_45x31", 45, 31, 5, grey=True, quality=80),
            pil("pil_prog_420_q80_61x47", 61, 47, 6, quality=80, subsampling=2, progressive=True),
            pil("pil_prog_444_q95_40x24", 40, 24, 7, quality=95, subsampling=0, progressive=True),
            pil("pil_prog_grey_q70_50x35", 50, 35, 8, grey=True, quality=70, progressive=True),
            pil("pil_420_q100_tiny_3x2", 3, 2, 9, quality=100, subsampling=2),
            lj("lj_420_restart3_59x41", 59, 41, 10, 80, [(2, 2), (1, 1), (1, 1)], restart=3),
            lj("lj_prog_420_restart2_47x35", 47, 35, 11, 80, [(2, 2), (1, 1), (1, 1)], restart=2,
               progressive=True),
            lj("lj_411_q85_53x21", 53, 21, 12, 85, [(4, 1), (1, 1), (1, 1)]),
            lj("lj_440_q85_30x45", 30, 45, 13, 85, [(1, 2), (1, 1), (1, 1)]),
            lj("lj_mixed_q85_43x37", 43, 37, 14, 85, [(2, 2), (2, 1), (1, 2)]),
            lj("lj_311_q90_50x20", 50, 20, 15, 90, [(3, 1), (1, 1), (1, 1)]),
            lj("lj_adobe_rgb_q90_36x28", 36, 28, 16, 90, [(1, 1), (1, 1), (1, 1)], rgb=True),
            lj("lj_grey_restart5_opt_41x33", 41, 33, 17, 75, [(1, 1)], grey=True, restart=5,
               optimize=True),
        ]
        for name in names:
            with Image.open(os.path.join(OUT, name + ".jpg")) as im:
                mode = "L" if im.mode == "L" else "RGB"
                ref = np.asarray(im.convert(mode))
            ncomp = 1 if mode == "L" else 3
            with open(os.path.join(OUT, name + ".raw"), "wb") as f:
                f.write(ref.tobytes())
            manifest.append(f"{name} {ref.shape[1]} {ref.shape[0]} {ncomp}")

        # Arithmetic coding: only the file (the decoder must refuse it with a clear message).
        lj("unsupported_arith", 16, 16, 18, 80, [(2, 2), (1, 1), (1, 1)], arith=True)

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
