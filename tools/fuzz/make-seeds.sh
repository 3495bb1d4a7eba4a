#!/usr/bin/env bash
# Builds raw seed corpora in tools/fuzz/seeds/<target>/ from files made by other software: afl++'s own test images
# (Debian afl++-doc), ImageMagick, libtiff-tools and libwebp (cwebp) conversions, Debian's torch 1.13 (torch.save and
# torch.jit.save), Python's json/csv, and our test fixtures. minimise.sh then keeps what adds coverage in corpus/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
fixtures="$repo/tests/VcpNative.Tests/Fixtures"
afl_images=/usr/share/doc/afl++-doc/afl/testcases/images
seeds="$here/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{png,jpeg,bmp,tiff,webp,gif,safetensors,pickle,torchzip,torchscript,threshold,metajson,visacsv}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A small natural base picture (afl's 32x32 kitty) and a 16x12 crop of it, so seeds stay under a few KB.
base="$afl_images/png/not_kitty.png"
convert "$base" -crop 16x12+8+8 +repage "$work/small.png"

cp "$afl_images"/png/*.png "$seeds/png/"
cp "$fixtures"/images/decode/*.png "$seeds/png/"
for v in "PNG8:" "PNG24:" "PNG32:" "PNG48:" "PNG64:"; do
  convert "$work/small.png" "$v$seeds/png/im_${v%:}.png"
done
convert "$work/small.png" -colorspace Gray "$seeds/png/im_grey.png"
convert "$work/small.png" -colorspace Gray -depth 16 "$seeds/png/im_grey16.png"
convert "$work/small.png" -interlace PNG "$seeds/png/im_adam7.png"
convert "$work/small.png" -monochrome "$seeds/png/im_mono.png"

cp "$afl_images"/jpeg/*.jpg "$seeds/jpeg/"
cp "$fixtures"/images/formats/jpeg_*.jpg "$fixtures"/images/regressions/*.jpg "$seeds/jpeg/"
for q in 10 90; do convert "$work/small.png" -quality $q "$seeds/jpeg/im_q$q.jpg"; done
convert "$work/small.png" -interlace JPEG "$seeds/jpeg/im_progressive.jpg"
convert "$work/small.png" -sampling-factor 4:2:0 -define jpeg:restart-interval=1 "$seeds/jpeg/im_420_restart.jpg"
convert "$work/small.png" -sampling-factor 4:2:2 "$seeds/jpeg/im_422.jpg"
convert "$work/small.png" -colorspace Gray "$seeds/jpeg/im_grey.jpg"
convert "$work/small.png" -define jpeg:arithmetic-coding=true "$seeds/jpeg/im_arith.jpg" 2>/dev/null || true
convert "$work/small.png" -colorspace CMYK "$seeds/jpeg/im_cmyk.jpg"

cp "$afl_images"/bmp/*.bmp "$fixtures"/images/decode/*.bmp "$seeds/bmp/"
for v in "BMP2:" "BMP3:" "BMP:"; do convert "$work/small.png" "$v$seeds/bmp/im_${v%:}.bmp"; done
convert "$work/small.png" -colors 16 "BMP3:$seeds/bmp/im_p4.bmp"
convert "$work/small.png" -compress RLE -colors 200 "BMP3:$seeds/bmp/im_rle8.bmp"

cp "$afl_images"/tiff/*.tiff "$seeds/tiff/"
cp "$fixtures"/images/formats/tiff_*.tif "$seeds/tiff/"
for c in None LZW Zip RLE; do convert "$work/small.png" -type TrueColor -compress $c "$seeds/tiff/im_$c.tif"; done
convert "$work/small.png" -monochrome -compress Group4 "$seeds/tiff/im_g4.tif"
convert "$work/small.png" -monochrome -compress Fax "$seeds/tiff/im_g3.tif"
tiffcp -c lzw:2 "$seeds/tiff/im_None.tif" "$seeds/tiff/tiffcp_lzw_pred.tif" || true
tiffcp -t -w 16 -l 16 "$seeds/tiff/im_None.tif" "$seeds/tiff/tiffcp_tiles.tif"
tiffcp -c jpeg "$seeds/tiff/im_None.tif" "$seeds/tiff/tiffcp_jpeg.tif" 2>/dev/null || true

cp "$afl_images"/webp/*.webp "$fixtures"/images/formats/webp_*.webp "$seeds/webp/"
cwebp -quiet -q 50 "$work/small.png" -o "$seeds/webp/cwebp_lossy.webp"
cwebp -quiet -lossless "$work/small.png" -o "$seeds/webp/cwebp_lossless.webp"
cwebp -quiet -q 50 -alpha_q 50 "$afl_images/png/not_kitty_alpha.png" -o "$seeds/webp/cwebp_alpha.webp"

cp "$afl_images"/gif/*.gif "$fixtures"/images/formats/gif_*.gif "$seeds/gif/"
convert "$work/small.png" "$seeds/gif/im.gif"
convert "$work/small.png" -interlace GIF "$seeds/gif/im_interlaced.gif"

# Weights and pickles from Debian's torch (system python3 carries torch 1.13).
/usr/bin/python3 "$here/make-weight-seeds.py" "$seeds" "$fixtures"

echo '{"Threshold":0.5,"Percentile":99,"Margin":0,"Images":3,"ScoreMin":0.1,"ScoreMax":0.9,"ScoreMean":0.4,"Method":"vcp","ImageSize":518,"Fingerprint":"abc"}' > "$seeds/threshold/threshold.json"
echo '{"Threshold":1e308,"Percentile":-1,"Margin":"x","Images":0}' > "$seeds/threshold/odd.json"
cat > "$seeds/metajson/meta.json" <<'JSON'
{"train": {}, "test": {"bottle": [
 {"img_path": "good.png", "mask_path": "", "cls_name": "bottle", "specie_name": "good", "anomaly": 0},
 {"img_path": "bad.png", "mask_path": "bad_mask.png", "cls_name": "bottle", "specie_name": "crack", "anomaly": 1}]}}
JSON
printf 'object,split,label,image,mask\ncandle,test,normal,good.png,\ncandle,test,anomaly,bad.png,bad_mask.png\ncandle,train,normal,good.png,\n' > "$seeds/visacsv/1cls.csv"
for t in "$seeds"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
