// Training samples as tensors: decode, the authors' augmentation and MVTec mosaic, resize, binarised masks; seeded order.
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;

namespace VcpNative.Anomaly.Training;

/// <summary>One preprocessed training example: CLIP input [3, S, S] and binary mask [S, S].</summary>
public sealed record TrainingExample(float[] Image, float[] Mask, byte[] SourceBytes, bool IsAnomalous);

/// <summary>
/// Randomness comes only from (seed, epoch, sample index), never from shared state, so any epoch or step can be
/// reproduced on its own: this is what makes `train --resume` equal to an uninterrupted run.
/// </summary>
public sealed class TrainingData
{
    /// <summary>The authors' aug_rate: probability of replacing an MVTec sample by a 2x2 mosaic of anomalous images.</summary>
    public const double MosaicProbability = 0.2;

    private readonly IReadOnlyList<DatasetSample> samples;
    private readonly int size;
    private readonly AugmentationOptions augmentation;
    private readonly bool mosaic;
    private readonly ulong seed;

    /// <summary>Training examples of <paramref name="samples"/> at <paramref name="size"/> pixels, augmented (and mosaicked) reproducibly from <paramref name="seed"/>.</summary>
    public TrainingData(IReadOnlyList<DatasetSample> samples, int size, AugmentationOptions augmentation, bool mosaic, ulong seed)
    {
        this.samples = samples;
        this.size = size;
        this.augmentation = augmentation;
        this.mosaic = mosaic;
        this.seed = seed;
    }

    /// <summary>Number of samples.</summary>
    public int Count => samples.Count;

    /// <summary>True when examples never change between epochs, so frozen image features can be cached.</summary>
    public bool IsDeterministic => !augmentation.Any && !mosaic;

    /// <summary>The dataset sample at <paramref name="index"/>.</summary>
    public DatasetSample Sample(int index) => samples[index];

    /// <summary>Sample order of an epoch: dataset order, or a permutation seeded by (seed, epoch).</summary>
    public int[] Order(int epoch, bool shuffle)
    {
        var order = Enumerable.Range(0, samples.Count).ToArray();
        if (shuffle)
        {
            new System.Random(Mix(seed, (ulong)epoch, 0x5eed)).Shuffle(order);
        }
        return order;
    }

    /// <summary>Decodes, augments and preprocesses sample <paramref name="index"/> as seen in <paramref name="epoch"/>.</summary>
    public TrainingExample Load(int index, int epoch)
    {
        var sample = samples[index];
        var bytes = File.ReadAllBytes(sample.ImagePath);
        var rng = new System.Random(Mix(seed, (ulong)epoch, (ulong)index));
        RgbImage image;
        GreyImage mask;
        var anomalous = sample.IsAnomalous;
        if (mosaic && rng.NextDouble() < MosaicProbability && TryMosaic(sample, rng, out var tiled))
        {
            (image, mask) = tiled;
            anomalous = true;
        }
        else
        {
            image = ImageDecoder.Decode(bytes, sample.ImagePath).ToRgb();
            mask = LoadMask(sample, image.Width, image.Height);
        }
        if (augmentation.Any)
        {
            (image, mask) = Augmentation.Apply(image, mask, augmentation, rng);
        }
        var resized = PillowResize.Resize(image, size, size, PillowFilter.Bicubic);
        return new TrainingExample(ClipPreprocess.ToTensorData(resized, size), MaskPreprocess.ToBinaryMask(mask, size), bytes, anomalous);
    }

    /// <summary>Mask as the authors' loader sees it: (mask > 0) * 255, zeros for normal images.</summary>
    private static GreyImage LoadMask(DatasetSample sample, int width, int height)
    {
        if (sample.MaskPath is null)
        {
            return new GreyImage(width, height);
        }
        var mask = ImageDecoder.Decode(sample.MaskPath).ToGrey();
        for (var i = 0; i < mask.Pixels.Length; i++)
        {
            mask.Pixels[i] = mask.Pixels[i] > 0 ? (byte)255 : (byte)0;
        }
        return mask;
    }

    private bool TryMosaic(DatasetSample sample, System.Random rng, out (RgbImage, GreyImage) tiled)
    {
        var pool = samples.Where(s => s.IsAnomalous && s.ClassName == sample.ClassName).ToList();
        if (pool.Count == 0)
        {
            tiled = default;
            return false;
        }
        var tiles = new List<(RgbImage, GreyImage)>(4);
        for (var t = 0; t < 4; t++)
        {
            var pick = pool[rng.Next(pool.Count)];
            var img = ImageDecoder.Decode(pick.ImagePath).ToRgb();
            tiles.Add((img, LoadMask(pick, img.Width, img.Height)));
        }
        tiled = Augmentation.Mosaic(tiles, Math.Max(tiles[0].Item1.Width, tiles[0].Item1.Height));
        return true;
    }

    private static int Mix(ulong a, ulong b, ulong c)
    {
        var h = a * 0x9E3779B97F4A7C15UL ^ (b + 0x632BE59BD9B4E019UL) * 0xC2B2AE3D27D4EB4FUL ^ (c + 0x165667B19E3779F9UL) * 0x27D4EB2F165667C5UL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return (int)(h & 0x7FFFFFFF);
    }
}
