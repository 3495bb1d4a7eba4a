// The authors' training augmentation (albumentations defaults of VCP-CLIP's train.py), on 8-bit images and masks.
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Training;

/// <summary>Which augmentations run; each is switchable (all on = the authors' pipeline).</summary>
public sealed record AugmentationOptions
{
    /// <summary>Rotate(30, p=.5).</summary>
    public bool Rotate { get; init; } = true;
    /// <summary>RandomRotate90(p=.5).</summary>
    public bool Rotate90 { get; init; } = true;
    /// <summary>RandomBrightnessContrast(p=.5).</summary>
    public bool BrightnessContrast { get; init; } = true;
    /// <summary>GaussNoise(p=.5).</summary>
    public bool GaussNoise { get; init; } = true;
    /// <summary>OneOf([Blur(3), ColorJitter, GaussianBlur], p=.5).</summary>
    public bool BlurOrColourJitter { get; init; } = true;

    /// <summary>Every augmentation off.</summary>
    public static AugmentationOptions None => new() { Rotate = false, Rotate90 = false, BrightnessContrast = false, GaussNoise = false, BlurOrColourJitter = false };

    /// <summary>True when at least one augmentation is on.</summary>
    public bool Any => Rotate || Rotate90 || BrightnessContrast || GaussNoise || BlurOrColourJitter;
}

/// <summary>
/// A.Compose([Rotate(30, p=.5), RandomRotate90(p=.5), RandomBrightnessContrast(p=.5), GaussNoise(p=.5),
/// OneOf([Blur(3), ColorJitter, GaussianBlur], p=.5)]) with albumentations' defaults (method-spec 2.6): image
/// bilinear with reflect-101 borders, mask nearest. Written from the documented behaviour, not bit-exact with
/// albumentations (its random streams differ anyway).
/// </summary>
public static class Augmentation
{
    /// <summary>The image and mask after the enabled augmentations, each applied with probability 0.5 from <paramref name="rng"/>.</summary>
    public static (RgbImage Image, GreyImage Mask) Apply(RgbImage image, GreyImage mask, AugmentationOptions options, System.Random rng)
    {
        if (options.Rotate && rng.NextDouble() < 0.5)
        {
            var angle = (rng.NextDouble() * 2 - 1) * 30;
            (image, mask) = (RotateImage(image, angle), RotateMask(mask, angle));
        }
        if (options.Rotate90 && rng.NextDouble() < 0.5)
        {
            var turns = rng.Next(4);
            (image, mask) = (Rot90(image, turns), Rot90(mask, turns));
        }
        if (options.BrightnessContrast && rng.NextDouble() < 0.5)
        {
            var alpha = 1 + (rng.NextDouble() * 2 - 1) * 0.2;
            var beta = (rng.NextDouble() * 2 - 1) * 0.2 * 255;
            image = MapPixels(image, v => v * alpha + beta);
        }
        if (options.GaussNoise && rng.NextDouble() < 0.5)
        {
            var sigma = Math.Sqrt(10 + rng.NextDouble() * 40);
            var noisy = new RgbImage(image.Width, image.Height);
            for (var i = 0; i < image.Pixels.Length; i++)
            {
                noisy.Pixels[i] = Clip(image.Pixels[i] + sigma * Gaussian(rng));
            }
            image = noisy;
        }
        if (options.BlurOrColourJitter && rng.NextDouble() < 0.5)
        {
            // OneOf picks one transform (equal weights); each then applies with its own p = 0.5.
            var which = rng.Next(3);
            if (rng.NextDouble() < 0.5)
            {
                image = which switch
                {
                    0 => BoxBlur(image, 3),
                    1 => ColourJitter(image, rng),
                    _ => GaussianBlur(image, 3 + 2 * rng.Next(3)),
                };
            }
        }
        return (image, mask);
    }

    private static double Gaussian(System.Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static byte Clip(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);

    private static RgbImage MapPixels(RgbImage image, Func<double, double> f)
    {
        var lut = new byte[256];
        for (var v = 0; v < 256; v++)
        {
            lut[v] = Clip(f(v));
        }
        var result = new RgbImage(image.Width, image.Height);
        for (var i = 0; i < image.Pixels.Length; i++)
        {
            result.Pixels[i] = lut[image.Pixels[i]];
        }
        return result;
    }

    /// <summary>Reflect-101 index (d c b | a b c d | c b a), as OpenCV's BORDER_REFLECT_101.</summary>
    private static int Reflect101(int i, int n)
    {
        if (n == 1)
        {
            return 0;
        }
        var period = 2 * (n - 1);
        i %= period;
        if (i < 0)
        {
            i += period;
        }
        return i < n ? i : period - i;
    }

    private static RgbImage RotateImage(RgbImage image, double degrees)
    {
        var (w, h) = (image.Width, image.Height);
        var result = new RgbImage(w, h);
        var rotation = new Rotation(w, h, degrees);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (sx, sy) = rotation.Source(x, y);
                var x0 = (int)Math.Floor(sx);
                var y0 = (int)Math.Floor(sy);
                var fx = sx - x0;
                var fy = sy - y0;
                for (var c = 0; c < 3; c++)
                {
                    double P(int xx, int yy) => image.Pixels[(Reflect101(yy, h) * w + Reflect101(xx, w)) * 3 + c];
                    var v = (1 - fy) * ((1 - fx) * P(x0, y0) + fx * P(x0 + 1, y0)) + fy * ((1 - fx) * P(x0, y0 + 1) + fx * P(x0 + 1, y0 + 1));
                    result.Pixels[(y * w + x) * 3 + c] = Clip(v);
                }
            }
        }
        return result;
    }

    private static GreyImage RotateMask(GreyImage mask, double degrees)
    {
        var (w, h) = (mask.Width, mask.Height);
        var result = new GreyImage(w, h);
        var rotation = new Rotation(w, h, degrees);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (sx, sy) = rotation.Source(x, y);
                result.Pixels[y * w + x] = mask.Pixels[Reflect101((int)Math.Round(sy), h) * w + Reflect101((int)Math.Round(sx), w)];
            }
        }
        return result;
    }

    /// <summary>Inverse mapping of a rotation about the image centre: where output pixel (x, y) samples the input.</summary>
    private readonly struct Rotation
    {
        private readonly double cos;
        private readonly double sin;
        private readonly double cx;
        private readonly double cy;

        public Rotation(int width, int height, double degrees)
        {
            (cos, sin) = (Math.Cos(degrees * Math.PI / 180), Math.Sin(degrees * Math.PI / 180));
            (cx, cy) = ((width - 1) / 2.0, (height - 1) / 2.0);
        }

        public (double X, double Y) Source(int x, int y) =>
            (cos * (x - cx) + sin * (y - cy) + cx, -sin * (x - cx) + cos * (y - cy) + cy);
    }

    /// <summary>Rotates by 90 degrees counter-clockwise <paramref name="turns"/> times (numpy.rot90), any channel count.</summary>
    public static T Rot90<T>(T image, int turns)
        where T : PixelImage
    {
        turns = ((turns % 4) + 4) % 4;
        var current = (PixelImage)image;
        for (var t = 0; t < turns; t++)
        {
            var (w, h, ch) = (current.Width, current.Height, current.Channels);
            var pixels = new byte[current.Pixels.Length];
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    // (x, y) -> (y, w - 1 - x) in a h-wide, w-high image
                    var dst = ((w - 1 - x) * h + y) * ch;
                    Array.Copy(current.Pixels, (y * w + x) * ch, pixels, dst, ch);
                }
            }
            current = ch == 3 ? new RgbImage(h, w, pixels) : new GreyImage(h, w, pixels);
        }
        return (T)current;
    }

    private static RgbImage BoxBlur(RgbImage image, int k) => Convolve(image, Enumerable.Repeat(1.0 / k, k).ToArray());

    private static RgbImage GaussianBlur(RgbImage image, int k)
    {
        // OpenCV's sigma for a kernel size when sigma is 0: 0.3 * ((k - 1) * 0.5 - 1) + 0.8.
        var sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
        var weights = new double[k];
        for (var i = 0; i < k; i++)
        {
            var d = i - k / 2;
            weights[i] = Math.Exp(-d * d / (2 * sigma * sigma));
        }
        var sum = weights.Sum();
        return Convolve(image, weights.Select(v => v / sum).ToArray());
    }

    private static RgbImage Convolve(RgbImage image, double[] kernel)
    {
        var (w, h) = (image.Width, image.Height);
        var r = kernel.Length / 2;
        var tmp = new double[image.Pixels.Length];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    double s = 0;
                    for (var i = 0; i < kernel.Length; i++)
                    {
                        s += kernel[i] * image.Pixels[(y * w + Reflect101(x + i - r, w)) * 3 + c];
                    }
                    tmp[(y * w + x) * 3 + c] = s;
                }
            }
        }
        var result = new RgbImage(w, h);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    double s = 0;
                    for (var i = 0; i < kernel.Length; i++)
                    {
                        s += kernel[i] * tmp[(Reflect101(y + i - r, h) * w + x) * 3 + c];
                    }
                    result.Pixels[(y * w + x) * 3 + c] = Clip(s);
                }
            }
        }
        return result;
    }

    /// <summary>ColorJitter(0.2, 0.2, 0.2, 0.2): brightness, contrast, saturation and a hue shift, in random order.</summary>
    private static RgbImage ColourJitter(RgbImage image, System.Random rng)
    {
        var brightness = 1 + (rng.NextDouble() * 2 - 1) * 0.2;
        var contrast = 1 + (rng.NextDouble() * 2 - 1) * 0.2;
        var saturation = 1 + (rng.NextDouble() * 2 - 1) * 0.2;
        var hue = (rng.NextDouble() * 2 - 1) * 0.2;
        var result = new RgbImage(image.Width, image.Height);
        double mean = 0;
        for (var i = 0; i < image.Pixels.Length; i += 3)
        {
            mean += RgbImage.Luma(image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
        }
        mean /= image.Width * image.Height;
        var angle = hue * 2 * Math.PI;
        var (cosH, sinH) = (Math.Cos(angle), Math.Sin(angle));
        for (var i = 0; i < image.Pixels.Length; i += 3)
        {
            double r = image.Pixels[i], g = image.Pixels[i + 1], b = image.Pixels[i + 2];
            (r, g, b) = (r * brightness, g * brightness, b * brightness);
            (r, g, b) = ((r - mean) * contrast + mean, (g - mean) * contrast + mean, (b - mean) * contrast + mean);
            var grey = 0.299 * r + 0.587 * g + 0.114 * b;
            (r, g, b) = (grey + (r - grey) * saturation, grey + (g - grey) * saturation, grey + (b - grey) * saturation);
            // hue: rotate the chroma vector around the grey axis (YIQ rotation)
            var yv = 0.299 * r + 0.587 * g + 0.114 * b;
            var iv = 0.596 * r - 0.274 * g - 0.322 * b;
            var qv = 0.211 * r - 0.523 * g + 0.312 * b;
            (iv, qv) = (iv * cosH - qv * sinH, iv * sinH + qv * cosH);
            result.Pixels[i] = Clip(yv + 0.956 * iv + 0.621 * qv);
            result.Pixels[i + 1] = Clip(yv - 0.272 * iv - 0.647 * qv);
            result.Pixels[i + 2] = Clip(yv - 1.106 * iv + 1.703 * qv);
        }
        return result;
    }

    /// <summary>VCP-CLIP's MVTec mosaic: four images (and masks) of one class tiled 2x2, each at half size.</summary>
    public static (RgbImage Image, GreyImage Mask) Mosaic(IReadOnlyList<(RgbImage Image, GreyImage Mask)> tiles, int size)
    {
        if (tiles.Count != 4)
        {
            throw new ArgumentException($"a mosaic needs 4 tiles, got {tiles.Count}");
        }
        var half = size / 2;
        var image = new RgbImage(size, size);
        var mask = new GreyImage(size, size);
        for (var t = 0; t < 4; t++)
        {
            var ox = t % 2 * half;
            var oy = t / 2 * half;
            var tw = t % 2 == 0 ? half : size - half;
            var th = t / 2 == 0 ? half : size - half;
            var small = Preprocessing.PillowResize.Resize(tiles[t].Image, tw, th, Preprocessing.PillowFilter.Bicubic);
            var smallMask = Preprocessing.PillowResize.Resize(tiles[t].Mask, tw, th, Preprocessing.PillowFilter.Bilinear);
            for (var y = 0; y < th; y++)
            {
                Array.Copy(small.Pixels, y * tw * 3, image.Pixels, ((oy + y) * size + ox) * 3, tw * 3);
                Array.Copy(smallMask.Pixels, y * tw, mask.Pixels, (oy + y) * size + ox, tw);
            }
        }
        return (image, mask);
    }
}
