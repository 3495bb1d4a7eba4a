#!/usr/bin/env python3
"""Writes the TIFF / WebP / GIF / CMYK-YCCK JPEG / EXIF-orientation fixtures for tests/VcpNative.Tests.

Run from the repository root:  /usr/bin/python3 tools/golden/make_image_formats.py
Needs (Debian 12): python3-pil python3-numpy imagemagick libtiff-tools webp gcc libjpeg-dev
(verified with Pillow 9.4.0 (libwebp 1.2.4, libtiff 4.5.0, libjpeg-turbo 2.1.5), ImageMagick 6.9.11-60,
libtiff-tools 4.5.0, cwebp/img2webp 1.2.4).

Every file is written by another program (ImageMagick `convert`, `tiffcp`, `tiffset`, `cwebp`, `img2webp`, a
small C program on libjpeg for CMYK/YCCK, and Pillow for EXIF orientations and 16-bit grey); the expected pixels are
Pillow's `ImageOps.exif_transpose(Image.open(p)).convert('RGB')` (first page / frame); for TIFF the plain
`Image.open(p).convert('RGB')`, which Pillow 9.4 already turns upright by the Orientation tag (exif_transpose on
top of that turns a TIFF twice: a Pillow bug). Output goes to
tests/VcpNative.Tests/Fixtures/images/formats/:
  <name>.<ext>   the file
  <name>.rgb     the expected RGB bytes, row-major, interleaved
  index.json     name, file, width, height (upright), tolerance (largest allowed |ours - Pillow| per byte: 0)
"""
import io, json, os, shutil, subprocess, tempfile
import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
OUT = os.path.join(ROOT, 'tests', 'VcpNative.Tests', 'Fixtures', 'images', 'formats')
W, H = 37, 23  # odd sizes: partial tiles, partial MCUs, odd chroma
rng = np.random.RandomState(2020)

CMYK_C = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
/* cmykjpeg W H QUALITY OUT ycck|cmyk|cmyk-no-adobe < cmyk bytes. libjpeg writes an Adobe APP14 marker for 4-component
   files (transform 2 for YCCK, 0 for CMYK) unless told not to. */
int main(int argc, char **argv) {
  int w = atoi(argv[1]), h = atoi(argv[2]);
  struct jpeg_compress_struct c; struct jpeg_error_mgr e;
  unsigned char *buf = malloc((size_t)w * h * 4);
  if (fread(buf, 4, (size_t)w * h, stdin) != (size_t)w * h) return 1;
  FILE *f = fopen(argv[4], "wb");
  c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, f);
  c.image_width = w; c.image_height = h; c.input_components = 4; c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, strcmp(argv[5], "ycck") == 0 ? JCS_YCCK : JCS_CMYK);
  if (strcmp(argv[5], "cmyk-no-adobe") == 0) c.write_Adobe_marker = FALSE;
  jpeg_set_quality(&c, atoi(argv[3]), TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) { JSAMPROW r = buf + (size_t)c.next_scanline * w * 4; jpeg_write_scanlines(&c, &r, 1); }
  jpeg_finish_compress(&c); fclose(f); return 0;
}
'''


def natural(w, h, alpha=False):
    """Smooth gradients, a disc and mild noise: compresses like a photo, every channel differs."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 255 * x / (w - 1)
    b = 255 * y / (h - 1)
    disc = (x - w / 3) ** 2 + (y - h / 2) ** 2 < (h / 3) ** 2
    r[disc], g[disc] = 240, 30
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    if alpha:
        a = np.clip(255 * (x + y) / (w + h - 2) * 1.4 - 40, 0, 255)[..., None]
        img = np.concatenate([img, a], -1)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, 'src.png')
    src_a = os.path.join(tmp, 'src_alpha.png')
    src2 = os.path.join(tmp, 'src2.png')
    Image.fromarray(natural(W, H)).save(src)
    Image.fromarray(natural(W, H, alpha=True), 'RGBA').save(src_a)
    Image.fromarray(natural(W, H)[::-1, ::-1].copy()).save(src2)
    cases = []

    def out(name, ext):
        return os.path.join(OUT, f'{name}.{ext}')

    def add(name, ext):
        path = out(name, ext)
        # Pillow 9.4 turns a TIFF upright itself when it loads it (TiffImagePlugin load_end, the Orientation tag),
        # and exif_transpose then turns it a second time (a Pillow bug): for TIFF the reference is the plain open.
        im = Image.open(path) if ext == 'tif' else ImageOps.exif_transpose(Image.open(path))
        im = im.convert('RGB')
        with open(out(name, 'rgb'), 'wb') as f:
            f.write(np.asarray(im, np.uint8).tobytes())
        cases.append({'name': name, 'file': f'{name}.{ext}', 'width': im.width, 'height': im.height, 'tolerance': 0})

    def tif(name, *tiffcp_args, source=None, convert_args=()):
        """ImageMagick writes a plain TIFF of the source, then tiffcp rewrites it with the given layout."""
        plain = os.path.join(tmp, name + '_plain.tif')
        run('convert', source or src, *convert_args, '-compress', 'None', plain)
        if tiffcp_args:
            run('tiffcp', *tiffcp_args, plain, out(name, 'tif'))
        else:
            shutil.copy(plain, out(name, 'tif'))
        add(name, 'tif')

    # --- TIFF: compressions x strips/tiles x sample layouts (ImageMagick + tiffcp)
    tif('tiff_rgb8_none_strips4', '-c', 'none', '-r', '4')
    tif('tiff_rgb8_lzw_predictor', '-c', 'lzw:2', '-r', '5')
    tif('tiff_rgb8_deflate_tiles16', '-c', 'zip', '-t', '-w', '16', '-l', '16')
    tif('tiff_rgb8_packbits', '-c', 'packbits', '-r', '3')
    tif('tiff_rgb8_bigendian_lzw', '-B', '-c', 'lzw')
    tif('tiff_rgb16_lzw', '-c', 'lzw', convert_args=('-depth', '16'))
    tif('tiff_rgb16_bigendian_tiles', '-B', '-c', 'zip', '-t', '-w', '16', '-l', '16', convert_args=('-depth', '16'))
    tif('tiff_grey8_deflate', '-c', 'zip', '-r', '7', convert_args=('-colorspace', 'Gray', '-depth', '8'))
    tif('tiff_grey16_none', convert_args=('-colorspace', 'Gray', '-depth', '16'))
    # 1-bit MinIsWhite: ImageMagick writes bilevel only with CCITT Group 4; tiffcp rewrites it as PackBits.
    run('convert', src, '-monochrome', '-compress', 'Group4', out('tiff_bilevel_g4', 'tif'))
    add('tiff_bilevel_g4', 'tif')
    run('tiffcp', '-c', 'packbits', out('tiff_bilevel_g4', 'tif'), out('tiff_bilevel_packbits', 'tif'))
    add('tiff_bilevel_packbits', 'tif')
    tif('tiff_rgba8_lzw', '-c', 'lzw', source=src_a)
    tif('tiff_rgba8_associated', '-c', 'zip', source=src_a, convert_args=('-define', 'tiff:alpha=associated'))
    tif('tiff_palette8_lzw', '-c', 'lzw', convert_args=('-colors', '200', '-type', 'Palette'))
    tif('tiff_palette4_tiles', '-c', 'packbits', '-t', '-w', '16', '-l', '16', convert_args=('-colors', '12', '-type', 'Palette', '-depth', '4'))
    tif('tiff_cmyk_lzw', '-c', 'lzw', convert_args=('-colorspace', 'CMYK'))
    # 16-bit grey with values around 255: Pillow opens it as I;16 and clips at 255 on convert('RGB').
    g16 = (np.arange(W * H).reshape(H, W) * 7 % 600).astype(np.uint16)
    Image.fromarray(g16, 'I;16').save(out('tiff_grey16_pil', 'tif'), compression='tiff_lzw')
    add('tiff_grey16_pil', 'tif')
    # Two pages: the first is the image.
    run('convert', src, src2, '-compress', 'LZW', out('tiff_multipage_lzw', 'tif'))
    add('tiff_multipage_lzw', 'tif')
    for o in (3, 6, 8):
        name = f'tiff_orientation{o}'
        shutil.copy(out('tiff_rgb8_lzw_predictor', 'tif'), out(name, 'tif'))
        run('tiffset', '-s', '274', str(o), out(name, 'tif'))
        add(name, 'tif')

    # --- WebP (cwebp, img2webp)
    run('cwebp', '-quiet', '-lossless', src, '-o', out('webp_lossless', 'webp'))
    add('webp_lossless', 'webp')
    run('cwebp', '-quiet', '-q', '80', src, '-o', out('webp_lossy', 'webp'))
    add('webp_lossy', 'webp')
    run('cwebp', '-quiet', '-q', '70', '-alpha_q', '90', src_a, '-o', out('webp_lossy_alpha', 'webp'))
    add('webp_lossy_alpha', 'webp')
    run('img2webp', '-loop', '0', '-lossless', src, '-d', '100', src2, '-o', out('webp_animated', 'webp'))
    add('webp_animated', 'webp')

    # --- GIF (ImageMagick)
    run('convert', src, out('gif_still', 'gif'))
    add('gif_still', 'gif')
    run('convert', src, '-interlace', 'GIF', out('gif_interlaced', 'gif'))
    add('gif_interlaced', 'gif')
    run('convert', src_a, '-channel', 'A', '-threshold', '50%', '+channel', out('gif_transparent', 'gif'))
    add('gif_transparent', 'gif')
    run('convert', '-delay', '10', src, src2, '-loop', '0', out('gif_animated', 'gif'))
    add('gif_animated', 'gif')
    # First frame smaller than the logical screen, placed at (3, 2): the rest is the fill index.
    run('convert', src, '-repage', f'{W + 6}x{H + 5}+3+2', out('gif_offset_frame', 'gif'))
    add('gif_offset_frame', 'gif')
    run('convert', src, '-colorspace', 'Gray', '-colors', '64', out('gif_grey', 'gif'))
    add('gif_grey', 'gif')

    # --- JPEG: 4 components. ImageMagick writes CMYK as YCCK (libjpeg's default for CMYK input; Adobe transform 2);
    # a small libjpeg program writes plain CMYK (transform 0), CMYK without an Adobe marker, and YCCK. The samples
    # are inverted (255 - v) first, as Photoshop stores CMYK and as Pillow reads it back ("CMYK;I").
    run('convert', src, '-colorspace', 'CMYK', '-quality', '90', out('jpeg_imagemagick_ycck', 'jpg'))
    add('jpeg_imagemagick_ycck', 'jpg')
    run('convert', src, '-colorspace', 'CMYK', '-sampling-factor', '2x2,1x1,1x1,1x1', '-quality', '85', out('jpeg_imagemagick_ycck_420', 'jpg'))
    add('jpeg_imagemagick_ycck_420', 'jpg')
    exe = os.path.join(tmp, 'cmykjpeg')
    with open(exe + '.c', 'w') as f:
        f.write(CMYK_C)
    run('gcc', '-O1', '-o', exe, exe + '.c', '-ljpeg')
    cmyk = 255 - np.asarray(Image.open(src).convert('CMYK'), np.uint8)
    for name, space in (('jpeg_ycck', 'ycck'), ('jpeg_cmyk', 'cmyk'), ('jpeg_cmyk_no_adobe', 'cmyk-no-adobe')):
        subprocess.run([exe, str(W), str(H), '90', out(name, 'jpg'), space], input=cmyk.tobytes(), check=True)
        add(name, 'jpg')

    # --- JPEG EXIF orientation 2..8 (Pillow writes the Exif APP1; 4:2:0 so the rotation meets upsampled chroma)
    for o in range(2, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        Image.open(src).save(out(f'jpeg_exif_orientation{o}', 'jpg'), quality=90, exif=exif.tobytes())
        add(f'jpeg_exif_orientation{o}', 'jpg')

    # --- WebP with an EXIF chunk (cwebp copies the JPEG's EXIF, orientation 6, into the extended format)
    run('cwebp', '-quiet', '-lossless', '-metadata', 'exif', out('jpeg_exif_orientation6', 'jpg'), '-o', out('webp_exif_orientation6', 'webp'))
    add('webp_exif_orientation6', 'webp')

    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(cases, f, indent=1)
    shutil.rmtree(tmp)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'{len(cases)} cases, {total} bytes in {OUT}')


if __name__ == '__main__':
    main()
