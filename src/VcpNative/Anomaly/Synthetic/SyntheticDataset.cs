// Generates a small MVTec-layout anomaly dataset (textures and objects with drawn defects and exact masks), deterministic from a seed.
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Synthetic;

/// <summary>
/// Writes <c>&lt;dir&gt;/&lt;class&gt;/train/good</c>, <c>test/good</c>, <c>test/&lt;defect&gt;</c> and
/// <c>ground_truth/&lt;defect&gt;/&lt;stem&gt;_mask.png</c> (0/255). A defect is drawn by first rasterising its shape into a mask
/// and then changing exactly the masked pixels, so the mask is the defect. Every class gets its own System.Random seeded from
/// (seed, class index), so the bytes depend only on the seed and the options.
/// </summary>
public static class SyntheticDataset
{
    /// <summary>Classes drawn as textures (defects anywhere in the image).</summary>
    public static readonly IReadOnlyList<string> TextureClasses = ["stripes", "checker", "wood", "dots"];
    /// <summary>Classes drawn as one object on a background (defects on the object).</summary>
    public static readonly IReadOnlyList<string> ObjectClasses = ["washer", "bolt", "capsule"];
    /// <summary>Every class, textures first.</summary>
    public static readonly IReadOnlyList<string> ClassNames = ["stripes", "checker", "wood", "dots", "washer", "bolt", "capsule"];

    private static readonly string[] TextureDefects = ["crack", "hole", "scratch", "stain"];
    private static readonly string[] ObjectDefects = ["crack", "missing", "scratch", "stain"];

    /// <summary>Defect types drawn for <paramref name="className"/>.</summary>
    public static IReadOnlyList<string> DefectTypes(string className) =>
        TextureClasses.Contains(className) ? TextureDefects : ObjectDefects;

    /// <summary>Writes the dataset in MVTec AD layout under <paramref name="dir"/>, deterministic from <paramref name="seed"/>, and returns the counts written.</summary>
    public static SyntheticSummary Generate(string dir, int seed, SyntheticOptions? options = null)
    {
        options ??= new SyntheticOptions();
        if (options.ImageSize < 32)
        {
            throw new ArgumentException($"synthetic images must be at least 32 px, got {options.ImageSize}");
        }

        IReadOnlyList<string> classes = options.Classes ?? ClassNames;
        foreach (string c in classes)
        {
            if (!ClassNames.Contains(c))
            {
                throw new ArgumentException($"unknown synthetic class '{c}'; known: {string.Join(",", ClassNames)}");
            }
        }

        int train = 0, good = 0, defective = 0;
        foreach (string cls in classes)
        {
            int classIndex = 0;
            while (ClassNames[classIndex] != cls)
            {
                classIndex++;
            }

            var rng = new Random(unchecked((seed * 1_000_003) + classIndex));
            string classDir = Path.Combine(dir, cls);
            train += WriteGood(Path.Combine(classDir, "train", "good"), cls, rng, options.TrainGoodPerClass, options.ImageSize);
            good += WriteGood(Path.Combine(classDir, "test", "good"), cls, rng, options.TestGoodPerClass, options.ImageSize);
            foreach (string defect in DefectTypes(cls))
            {
                string imageDir = Path.Combine(classDir, "test", defect);
                string maskDir = Path.Combine(classDir, "ground_truth", defect);
                Directory.CreateDirectory(imageDir);
                Directory.CreateDirectory(maskDir);
                for (int i = 0; i < options.TestImagesPerDefect; i++)
                {
                    var canvas = new SyntheticCanvas(options.ImageSize);
                    byte[] objectMask = RenderGood(canvas, cls, rng);
                    byte[] mask = DrawDefect(canvas, defect, objectMask, rng);
                    Save(canvas, cls, Path.Combine(imageDir, $"{i:D3}.png"));
                    for (int p = 0; p < mask.Length; p++)
                    {
                        mask[p] = mask[p] != 0 ? (byte)255 : (byte)0;
                    }

                    PngEncoder.Write(Path.Combine(maskDir, $"{i:D3}_mask.png"), new GreyImage(options.ImageSize, options.ImageSize, mask));
                    defective++;
                }
            }
        }

        return new SyntheticSummary(classes, train, good, defective);
    }

    private static int WriteGood(string dir, string cls, Random rng, int count, int size)
    {
        Directory.CreateDirectory(dir);
        for (int i = 0; i < count; i++)
        {
            var canvas = new SyntheticCanvas(size);
            RenderGood(canvas, cls, rng);
            Save(canvas, cls, Path.Combine(dir, $"{i:D3}.png"));
        }

        return count;
    }

    // "bolt" is a grey class (like MVTec's screw/grid) so both PNG colour types are exercised.
    private static void Save(SyntheticCanvas canvas, string cls, string path)
    {
        if (cls == "bolt")
        {
            PngEncoder.Write(path, new GreyImage(canvas.Size, canvas.Size, canvas.Grey()));
        }
        else
        {
            PngEncoder.Write(path, new RgbImage(canvas.Size, canvas.Size, canvas.Rgb));
        }
    }

    /// <summary>Draws a defect-free image; returns the mask of pixels where defects may go (the object, or everything for textures).</summary>
    private static byte[] RenderGood(SyntheticCanvas c, string cls, Random rng)
    {
        int n = c.Size;
        var where = new byte[n * n];
        float jitter = (float)rng.NextDouble();
        float Noise() => (float)(rng.NextDouble() - 0.5) * 12f;
        switch (cls)
        {
            case "stripes":
            {
                float period = 8 + (jitter * 6), angle = (float)(rng.NextDouble() - 0.5) * 0.4f;
                float ca = MathF.Cos(angle), sa = MathF.Sin(angle);
                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        bool band = ((int)MathF.Floor(((x * ca) + (y * sa)) / period) & 1) == 0;
                        float v = Noise();
                        c.Set(x, y, (band ? 200 : 60) + v, (band ? 180 : 70) + v, (band ? 90 : 140) + v);
                    }
                }

                Array.Fill(where, (byte)1);
                break;
            }

            case "checker":
            {
                int cell = 12 + (int)(jitter * 6);
                int ox = rng.Next(cell), oy = rng.Next(cell);
                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        bool dark = ((((x + ox) / cell) + ((y + oy) / cell)) & 1) == 0;
                        float v = (dark ? 70 : 170) + Noise();
                        c.Set(x, y, v, v, v + 10);
                    }
                }

                Array.Fill(where, (byte)1);
                break;
            }

            case "wood":
            {
                float cx = -n * (0.5f + jitter), cy = n * (float)rng.NextDouble(), freq = 0.35f + (jitter * 0.15f);
                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        float r = MathF.Sqrt(((x - cx) * (x - cx)) + ((y - cy) * (y - cy)));
                        float ring = 0.5f + (0.5f * MathF.Sin((r * freq) + (2f * MathF.Sin(y * 0.05f))));
                        float v = Noise() * 0.5f;
                        c.Set(x, y, 150 + (50 * ring) + v, 100 + (35 * ring) + v, 55 + (20 * ring) + v);
                    }
                }

                Array.Fill(where, (byte)1);
                break;
            }

            case "dots":
            {
                var dots = new byte[n * n];
                int spacing = 14, ox = rng.Next(spacing), oy = rng.Next(spacing);
                for (int gy = -1; gy <= n / spacing; gy++)
                {
                    for (int gx = -1; gx <= n / spacing; gx++)
                    {
                        SyntheticCanvas.Disc(dots, n, (gx * spacing) + ox + ((float)rng.NextDouble() * 2), (gy * spacing) + oy + ((float)rng.NextDouble() * 2), 3.2f);
                    }
                }

                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        float v = Noise();
                        bool dot = dots[(y * n) + x] != 0;
                        c.Set(x, y, (dot ? 40 : 220) + v, (dot ? 90 : 215) + v, (dot ? 160 : 200) + v);
                    }
                }

                Array.Fill(where, (byte)1);
                break;
            }

            case "washer":
            {
                float cx = (n / 2f) + ((jitter - 0.5f) * 4), cy = (n / 2f) + (((float)rng.NextDouble() - 0.5f) * 4);
                float outer = n * 0.36f, inner = n * 0.14f;
                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        float r = MathF.Sqrt(((x - cx) * (x - cx)) + ((y - cy) * (y - cy)));
                        float v = Noise() * 0.5f;
                        if (r <= outer && r >= inner)
                        {
                            where[(y * n) + x] = 1;
                            float shade = 150 + (60 * (r - inner) / (outer - inner));
                            c.Set(x, y, shade + v, shade + v, shade + 8 + v);
                        }
                        else
                        {
                            c.Set(x, y, 25 + v, 30 + v, 35 + v);
                        }
                    }
                }

                break;
            }

            case "bolt":
            {
                int top = (n / 2) - (n / 10) + rng.Next(-2, 3), bottom = top + (n / 5), left = n / 5, right = n - (n / 8);
                int headRight = left + (n / 6), headTop = top - (n / 10), headBottom = bottom + (n / 10);
                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        bool shaft = y >= top && y < bottom && x >= left && x < right;
                        bool head = y >= headTop && y < headBottom && x >= left && x < headRight;
                        float v = Noise() * 0.5f;
                        float g = head ? 190 : shaft ? 150 + (20 * (((x - left) / 4) & 1)) : 235;
                        where[(y * n) + x] = shaft || head ? (byte)1 : (byte)0;
                        c.Set(x, y, g + v, g + v, g + v);
                    }
                }

                break;
            }

            case "capsule":
            {
                float cy = (n / 2f) + ((jitter - 0.5f) * 4), half = n * 0.16f, x0 = n * 0.2f, x1 = n * 0.8f;
                for (int y = 0; y < n; y++)
                {
                    for (int x = 0; x < n; x++)
                    {
                        float nx = Math.Clamp(x, x0, x1);
                        bool inside = ((x - nx) * (x - nx)) + ((y - cy) * (y - cy)) <= half * half;
                        float v = Noise() * 0.5f;
                        where[(y * n) + x] = inside ? (byte)1 : (byte)0;
                        if (!inside)
                        {
                            c.Set(x, y, 230 + v, 230 + v, 225 + v);
                        }
                        else if (x < n / 2)
                        {
                            c.Set(x, y, 200 + v, 40 + v, 40 + v);
                        }
                        else
                        {
                            c.Set(x, y, 235 + v, 225 + v, 200 + v);
                        }
                    }
                }

                break;
            }

            default:
                throw new ArgumentException($"unknown synthetic class '{cls}'");
        }

        return where;
    }

    /// <summary>Rasterises one defect shape inside <paramref name="allowed"/>, recolours exactly those pixels, returns the mask (0/1).</summary>
    private static byte[] DrawDefect(SyntheticCanvas c, string defect, byte[] allowed, Random rng)
    {
        int n = c.Size;
        var mask = new byte[n * n];
        for (int attempt = 0; ; attempt++)
        {
            Array.Clear(mask);
            (float px, float py) = PointIn(allowed, n, rng);
            switch (defect)
            {
                case "scratch":
                {
                    float angle = (float)(rng.NextDouble() * Math.PI), length = n * (0.15f + (0.2f * (float)rng.NextDouble()));
                    SyntheticCanvas.Line(mask, n, px, py, px + (length * MathF.Cos(angle)), py + (length * MathF.Sin(angle)), 0.8f);
                    break;
                }

                case "stain":
                    for (int k = 0; k < 3; k++)
                    {
                        SyntheticCanvas.Disc(mask, n, px + rng.Next(-6, 7), py + rng.Next(-6, 7), 4 + (5 * (float)rng.NextDouble()));
                    }

                    break;
                case "hole":
                    SyntheticCanvas.Disc(mask, n, px, py, 4 + (4 * (float)rng.NextDouble()));
                    break;
                case "crack":
                {
                    float x = px, y = py, heading = (float)(rng.NextDouble() * 2 * Math.PI);
                    int steps = 15 + rng.Next(16);
                    for (int s = 0; s < steps; s++)
                    {
                        heading += (float)(rng.NextDouble() - 0.5) * 1.2f;
                        float nx = x + (2.5f * MathF.Cos(heading)), ny = y + (2.5f * MathF.Sin(heading));
                        SyntheticCanvas.Line(mask, n, x, y, nx, ny, 0.6f);
                        x = nx;
                        y = ny;
                    }

                    break;
                }

                case "missing":
                    // A bite out of the object's edge: a disc centred on a boundary pixel.
                    (px, py) = BoundaryPoint(allowed, n, rng);
                    SyntheticCanvas.Disc(mask, n, px, py, n * (0.08f + (0.05f * (float)rng.NextDouble())));
                    break;
                default:
                    throw new ArgumentException($"unknown defect '{defect}'");
            }

            int count = 0;
            for (int i = 0; i < mask.Length; i++)
            {
                mask[i] &= allowed[i];
                count += mask[i];
            }

            if (count >= 8 || attempt >= 20)
            {
                break;
            }
        }

        // Background colour for a missing piece is taken from a pixel outside the object.
        int background = Array.IndexOf(allowed, (byte)0);
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0)
            {
                continue;
            }

            int o = i * 3;
            byte r = c.Rgb[o], g = c.Rgb[o + 1], b = c.Rgb[o + 2];
            (float nr, float ng, float nb) = defect switch
            {
                "scratch" => (r > 128 ? 40f : 235f, g > 128 ? 40f : 235f, b > 128 ? 40f : 235f),
                "stain" => (r * 0.55f, g * 0.75f + 30, b * 0.35f),
                "hole" => (8f, 8f, 10f),
                "crack" => (r * 0.25f, g * 0.25f, b * 0.25f),
                _ => background >= 0 ? (c.Rgb[background * 3], c.Rgb[(background * 3) + 1], c.Rgb[(background * 3) + 2]) : (0f, 0f, 0f),
            };
            c.Set(i % n, i / n, nr, ng, nb);
        }

        return mask;
    }

    private static (float X, float Y) PointIn(byte[] allowed, int n, Random rng)
    {
        int margin = n / 8;
        for (int k = 0; k < 1000; k++)
        {
            int x = rng.Next(margin, n - margin), y = rng.Next(margin, n - margin);
            if (allowed[(y * n) + x] != 0)
            {
                return (x, y);
            }
        }

        return (n / 2f, n / 2f);
    }

    private static (float X, float Y) BoundaryPoint(byte[] allowed, int n, Random rng)
    {
        for (int k = 0; k < 5000; k++)
        {
            int x = rng.Next(1, n - 1), y = rng.Next(1, n - 1);
            int i = (y * n) + x;
            if (allowed[i] != 0 && (allowed[i - 1] == 0 || allowed[i + 1] == 0 || allowed[i - n] == 0 || allowed[i + n] == 0))
            {
                return (x, y);
            }
        }

        return PointIn(allowed, n, rng);
    }
}
