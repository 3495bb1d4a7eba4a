#!/usr/bin/env python3
"""Writes the image-decoder and Pillow-resize golden fixtures for tests/VcpNative.Tests.

Run from the repository root:  /usr/bin/python3 tools/golden/make_image_fixtures.py
Needs numpy and Pillow (verified with Pillow 9.4.0, numpy 1.24.2). Output goes to
tests/VcpNative.Tests/Fixtures/images/:
  decode/<name>.png|.bmp  the encoded file (PIL-written, or hand-built below for the
                          bit depths, filters, interlacing and BMP layouts PIL cannot write)
  decode/<name>.rgb       Image.open(f).convert('RGB') as raw interleaved bytes
  decode/<name>.grey      Image.open(f).convert('L') as raw bytes
  decode/index.json       name, file, width, height, PIL's mode after open
  resize/<case>.out       PIL Image.resize output (raw bytes) of a procedural source + resize/index.json
  resize/<case>.f32       ClipPreprocess golden: torchvision ToTensor+Normalize in float32, CHW, little-endian
  npy/h3w5.npy            numpy.save of a float32 [3,5] array (byte-exact writer check)
"""
import io, json, os, struct, zlib
import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'VcpNative.Tests', 'Fixtures', 'images')
DEC = os.path.join(ROOT, 'decode')
RES = os.path.join(ROOT, 'resize')
NPY = os.path.join(ROOT, 'npy')
rng = np.random.RandomState(1234)

# ---------------------------------------------------------------- hand-built PNG writer
def chunk(kind, data):
    c = kind + data
    return struct.pack('>I', len(data)) + c + struct.pack('>I', zlib.crc32(c) & 0xffffffff)

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c

def filter_row(ftype, row, prev, bpp):
    out = bytearray(len(row))
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if (prev is not None and i >= bpp) else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out[i] = (row[i] - pred) & 0xff
    return bytes([ftype]) + bytes(out)

def pack_row(samples, depth):
    """samples: 1-D int array (all channels interleaved) -> packed big-endian bytes."""
    if depth == 8:
        return bytes(samples.astype(np.uint8))
    if depth == 16:
        return samples.astype('>u2').tobytes()
    per = 8 // depth
    out = bytearray((len(samples) + per - 1) // per)
    for i, s in enumerate(samples):
        out[i // per] |= int(s) << (8 - depth * (i % per + 1))
    return bytes(out)

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

def write_png(samples, ctype, depth, palette=None, trns=None, interlace=False, filters='cycle', idat_parts=1):
    """samples: [H, W, C] ints. Filter types cycle 0..4 per row so every filter is exercised."""
    h, w, ch = samples.shape
    bpp = max(1, ch * depth // 8)
    def encode_pass(img):
        raw, prev, rows = bytearray(), None, img.shape[0]
        for y in range(rows):
            row = pack_row(img[y].reshape(-1), depth)
            ft = (y % 5) if filters == 'cycle' else filters
            raw += filter_row(ft, row, prev, bpp)
            prev = row
        return raw
    if interlace:
        raw = bytearray()
        for (x0, y0, dx, dy) in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += encode_pass(sub)
    else:
        raw = encode_pass(samples)
    z = zlib.compress(bytes(raw), 9)
    out = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += chunk(b'PLTE', bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b'tRNS', trns)
    out += chunk(b'tEXt', b'Comment\x00ancillary chunk the decoder must skip')
    step = (len(z) + idat_parts - 1) // idat_parts
    for i in range(0, len(z), step):
        out += chunk(b'IDAT', z[i:i + step])
    return out + chunk(b'IEND', b'')

# ---------------------------------------------------------------- hand-built BMP writer
def write_bmp(pixels_bottom_up_rows, bpp, width, height, palette=None, compression=0, masks=None, top_down=False):
    """pixels rows already encoded (list of bytes per stored row, in storage order)."""
    stride = ((width * bpp + 31) // 32) * 4
    data = b''.join(r.ljust(stride, b'\x00') for r in pixels_bottom_up_rows)
    pal = b''
    if palette is not None:
        pal = b''.join(bytes([b, g, r, 0]) for (r, g, b) in palette)
    extra = b''
    if masks is not None:
        extra = struct.pack('<III', *masks)
    header_size = 40
    off = 14 + header_size + len(extra) + len(pal)
    info = struct.pack('<IiiHHIIiiII', header_size, width, -height if top_down else height, 1, bpp, compression,
                       len(data), 2835, 2835, len(palette) if palette is not None else 0, 0)
    return b'BM' + struct.pack('<IHHI', off + len(data), 0, 0, off) + info + extra + pal + data

def noise(h, w, c, hi):
    return rng.randint(0, hi + 1, (h, w, c))

def pil_save(arr_or_img, fmt, **kw):
    im = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()

def synthetic_source(kind, w, h):
    """Procedural RGB sources, recomputed bit-for-bit by the C# test (ResizeGoldenTests.SyntheticSource)
    so the large inputs need not be committed."""
    yy, xx, cc = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64), np.arange(3, dtype=np.uint64), indexing='ij')
    if kind == 'noise':  # integer hash of (x, y, c), mod 2^32
        m = np.uint64(0xffffffff)
        v = (xx * np.uint64(374761393) + yy * np.uint64(668265263) + cc * np.uint64(2246822519)) & m
        v = ((v ^ (v >> np.uint64(13))) * np.uint64(1274126177)) & m
        return ((v ^ (v >> np.uint64(16))) & np.uint64(255)).astype(np.uint8)
    # gradients + a hard-edged checkerboard: bicubic overshoots at the edges, exercising clip8
    x, y, c = xx.astype(np.int64), yy.astype(np.int64), cc.astype(np.int64)
    r = x * 255 // max(w - 1, 1)
    g = y * 255 // max(h - 1, 1)
    b = ((x // 4 + y // 4) % 2) * 255
    return np.where(c == 0, r, np.where(c == 1, g, b)).astype(np.uint8)

def decode_cases():
    cases = {}
    W, H = 13, 11  # odd sizes exercise sub-byte row padding and short Adam7 passes
    # --- PNG written by PIL
    cases['pil_rgb8.png'] = pil_save(noise(H, W, 3, 255).astype(np.uint8), 'PNG')
    cases['pil_rgba8.png'] = pil_save(noise(H, W, 4, 255).astype(np.uint8), 'PNG')
    cases['pil_l8.png'] = pil_save(noise(H, W, 1, 255)[..., 0].astype(np.uint8), 'PNG')
    cases['pil_la8.png'] = pil_save(Image.fromarray(noise(H, W, 2, 255).astype(np.uint8), 'LA'), 'PNG')
    cases['pil_bilevel.png'] = pil_save(Image.fromarray(noise(H, W, 1, 255)[..., 0].astype(np.uint8)).convert('1'), 'PNG')
    p = Image.fromarray(noise(H, W, 3, 255).astype(np.uint8)).quantize(23)
    cases['pil_palette8.png'] = pil_save(p, 'PNG')
    cases['pil_palette_trns.png'] = pil_save(p, 'PNG', transparency=3)
    cases['pil_l16.png'] = pil_save(Image.fromarray(noise(H, W, 1, 600)[..., 0].astype(np.uint16)), 'PNG')
    # --- hand-built PNG: every colour type x bit depth the spec allows
    for depth in (1, 2, 4, 8, 16):
        cases[f'grey{depth}.png'] = write_png(noise(H, W, 1, 2 ** depth - 1), 0, depth)
    for depth in (1, 2, 4, 8):
        n = min(2 ** depth, 200)
        pal = rng.randint(0, 256, (n, 3))
        cases[f'palette{depth}.png'] = write_png(noise(H, W, 1, n - 1), 3, depth, palette=pal)
    for depth in (8, 16):
        cases[f'rgb{depth}.png'] = write_png(noise(H, W, 3, 2 ** depth - 1), 2, depth)
        cases[f'greyalpha{depth}.png'] = write_png(noise(H, W, 2, 2 ** depth - 1), 4, depth)
        cases[f'rgba{depth}.png'] = write_png(noise(H, W, 4, 2 ** depth - 1), 6, depth)
    cases['grey8_trns.png'] = write_png(noise(H, W, 1, 255), 0, 8, trns=struct.pack('>H', 7))
    cases['rgb8_trns.png'] = write_png(noise(H, W, 3, 255), 2, 8, trns=struct.pack('>HHH', 1, 2, 3))
    cases['palette4_trns.png'] = write_png(noise(H, W, 1, 15), 3, 4, palette=rng.randint(0, 256, (16, 3)), trns=bytes([0, 128, 255]))
    # Adam7: sizes smaller than 8 leave some passes empty
    for (name, shape, ctype, depth, hi) in [('rgb8', (H, W, 3), 2, 8, 255), ('grey1', (H, W, 1), 0, 1, 1),
                                            ('grey4', (5, 3, 1), 0, 4, 15), ('rgb16', (H, W, 3), 2, 16, 65535),
                                            ('rgba8', (1, 1, 4), 6, 8, 255), ('grey2', (9, 17, 1), 0, 2, 3)]:
        cases[f'interlaced_{name}.png'] = write_png(noise(*shape, hi), ctype, depth, interlace=True)
    pal = rng.randint(0, 256, (16, 3))
    cases['interlaced_palette2.png'] = write_png(noise(7, 10, 1, 3), 3, 2, palette=pal[:4], interlace=True)
    for ft in range(5):
        cases[f'filter{ft}_rgb8.png'] = write_png(noise(H, W, 3, 255), 2, 8, filters=ft)
    cases['multi_idat.png'] = write_png(noise(H, W, 3, 255), 2, 8, idat_parts=5)
    cases['wide_row.png'] = write_png(noise(2, 301, 3, 255), 2, 8)
    # --- BMP written by PIL (24-bit, 8-bit grey palette, 8-bit palette, 1-bit, 32-bit BGRA)
    cases['pil_rgb24.bmp'] = pil_save(noise(H, W, 3, 255).astype(np.uint8), 'BMP')
    cases['pil_l8.bmp'] = pil_save(noise(H, W, 1, 255)[..., 0].astype(np.uint8), 'BMP')
    cases['pil_palette8.bmp'] = pil_save(p, 'BMP')
    cases['pil_bilevel.bmp'] = pil_save(Image.fromarray(noise(H, W, 1, 255)[..., 0].astype(np.uint8)).convert('1'), 'BMP')
    cases['pil_rgba32.bmp'] = pil_save(noise(H, W, 4, 255).astype(np.uint8), 'BMP')
    # --- hand-built BMP
    def rows_for(arr, enc, top_down):
        order = range(arr.shape[0]) if top_down else range(arr.shape[0] - 1, -1, -1)
        return [enc(arr[y]) for y in order]
    rgb = noise(H, W, 3, 255)
    bgr = lambda r: bytes(r[:, ::-1].astype(np.uint8).reshape(-1))
    cases['rgb24_topdown.bmp'] = write_bmp(rows_for(rgb, bgr, True), 24, W, H, top_down=True)
    bgrx = lambda r: bytes(np.concatenate([r[:, ::-1], rng.randint(0, 256, (r.shape[0], 1))], 1).astype(np.uint8).reshape(-1))
    cases['rgb32.bmp'] = write_bmp(rows_for(rgb, bgrx, False), 32, W, H)
    cases['rgb32_bitfields.bmp'] = write_bmp(rows_for(rgb, bgrx, False), 32, W, H, compression=3, masks=(0xff0000, 0xff00, 0xff))
    px16 = noise(H, W, 1, 65535)[..., 0]
    le16 = lambda r: r.astype('<u2').tobytes()
    cases['rgb565.bmp'] = write_bmp(rows_for(px16, le16, False), 16, W, H, compression=3, masks=(0xf800, 0x07e0, 0x001f))
    cases['rgb555.bmp'] = write_bmp(rows_for(px16 & 0x7fff, le16, False), 16, W, H)  # BI_RGB 16-bit = 5-5-5
    pal16 = [tuple(int(v) for v in c) for c in rng.randint(0, 256, (16, 3))]
    idx4 = noise(H, W, 1, 15)[..., 0]
    nib = lambda r: pack_row(r, 4)
    cases['palette4.bmp'] = write_bmp(rows_for(idx4, nib, False), 4, W, H, palette=pal16)
    cases['palette4_topdown.bmp'] = write_bmp(rows_for(idx4, nib, True), 4, W, H, palette=pal16, top_down=True)
    idx1 = noise(H, W, 1, 1)[..., 0]
    cases['palette1_colour.bmp'] = write_bmp(rows_for(idx1, lambda r: pack_row(r, 1), False), 1, W, H, palette=[(200, 10, 30), (5, 250, 99)])
    return cases

def main():
    for d in (DEC, RES, NPY):
        os.makedirs(d, exist_ok=True)
    index = []
    for name, data in sorted(decode_cases().items()):
        stem = name.replace('.', '_')  # pil_l8.png and pil_l8.bmp must not collide
        with open(os.path.join(DEC, name), 'wb') as f:
            f.write(data)
        im = Image.open(io.BytesIO(data))
        im.load()
        rgb = np.asarray(im.convert('RGB'), np.uint8)
        grey = np.asarray(im.convert('L'), np.uint8)
        open(os.path.join(DEC, stem + '.rgb'), 'wb').write(rgb.tobytes())
        open(os.path.join(DEC, stem + '.grey'), 'wb').write(grey.tobytes())
        index.append({'name': stem, 'file': name, 'width': im.size[0], 'height': im.size[1], 'pilMode': im.mode})
    json.dump(index, open(os.path.join(DEC, 'index.json'), 'w'), indent=1)

    # ------------------------------------------------ resize goldens
    res_index = []
    srcs = {}
    for (sname, kind, w, h) in [('noise97x61', 'noise', 97, 61), ('pattern23x31', 'pattern', 23, 31),
                                ('noise200x150', 'noise', 200, 150), ('pattern40x40', 'pattern', 40, 40)]:
        srcs[sname] = synthetic_source(kind, w, h)
    filters = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}
    both, grey_only = ('rgb', 'grey'), ('grey',)
    plan = [('noise97x61', 40, 40, filters, both), ('pattern23x31', 64, 64, filters, both),
            ('noise200x150', 129, 129, {'bicubic': Image.BICUBIC}, ('rgb',)),
            ('noise200x150', 129, 129, {'bilinear': Image.BILINEAR}, grey_only),
            ('noise97x61', 97, 30, filters, grey_only), ('noise97x61', 50, 61, filters, grey_only),
            ('pattern40x40', 40, 40, filters, grey_only), ('pattern23x31', 7, 100, filters, grey_only)]
    for (sname, ow, oh, fs, modes) in plan:
        rgb = srcs[sname]
        h, w = rgb.shape[:2]
        for fname, f in fs.items():
            for mode in modes:
                im = Image.fromarray(rgb)
                if mode == 'grey':
                    im = im.convert('L')
                out = np.asarray(im.resize((ow, oh), f), np.uint8)
                case = f'{sname}_to_{ow}x{oh}_{fname}_{mode}'
                open(os.path.join(RES, case + '.out'), 'wb').write(out.tobytes())
                res_index.append({'case': case, 'source': sname, 'kind': sname.rstrip('0123456789x'), 'mode': mode,
                                  'filter': fname, 'srcWidth': w, 'srcHeight': h, 'outWidth': ow, 'outHeight': oh})
    json.dump(res_index, open(os.path.join(RES, 'index.json'), 'w'), indent=1)

    # ClipPreprocess golden: Resize((s,s), BICUBIC) -> ToTensor -> Normalize, float32 as torchvision does it
    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
    for (sname, size) in [('noise97x61', 40), ('pattern23x31', 33)]:
        im = Image.fromarray(srcs[sname]).resize((size, size), Image.BICUBIC)
        x = np.asarray(im, np.uint8).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
        try:
            import torch
            t = torch.from_numpy(np.ascontiguousarray(x))
            t = (t - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]  # what Normalize does (sub_ then div_)
            x = t.numpy()
        except ImportError:
            x = (x - mean[:, None, None]) / std[:, None, None]
        open(os.path.join(RES, f'clip_{sname}_{size}.f32'), 'wb').write(x.astype('<f4').tobytes())
        # mask golden: 'L' bilinear resize, /255 > 0.5
    for (sname, size) in [('pattern23x31', 50), ('noise97x61', 37)]:
        g = Image.fromarray(srcs[sname]).convert('L')
        g = Image.fromarray((np.asarray(g) > 127).astype(np.uint8) * 255)
        open(os.path.join(RES, f'mask_{sname}.grey'), 'wb').write(np.asarray(g).tobytes())
        m = np.asarray(g.resize((size, size), Image.BILINEAR), np.float32) / np.float32(255)
        open(os.path.join(RES, f'mask_{sname}_{size}.bin'), 'wb').write((m > 0.5).astype(np.uint8).tobytes())

    np.save(os.path.join(NPY, 'h3w5.npy'), (np.arange(15, dtype=np.float32).reshape(3, 5) - 7.25) / 3)

if __name__ == '__main__':
    main()
