// On-disk cache of frozen image-tower features (fp16), content-addressed by image bytes, model and size.
using System.Text;
using VcpNative.Anomaly.Features;
using VcpNative.IO;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>
/// Later epochs read the features instead of running the image tower again (valid only when examples do not change
/// between epochs, i.e. without augmentation). Files are written atomically; a corrupt file is ignored and rebuilt.
/// </summary>
public sealed class FeatureCache
{
    private static readonly byte[] Magic = "VCPF1\0\0\0"u8.ToArray();
    private readonly string directory;
    private readonly string salt;

    /// <summary>A cache in <paramref name="directory"/> of features of one model (<paramref name="modelFingerprint"/>) at one <paramref name="imageSize"/>.</summary>
    public FeatureCache(string directory, string modelFingerprint, int imageSize)
    {
        this.directory = directory;
        salt = $"{modelFingerprint}|{imageSize}";
        Directory.CreateDirectory(directory);
    }

    /// <summary>Lookups that found a cached entry.</summary>
    public int Hits { get; private set; }

    /// <summary>Lookups that found no entry.</summary>
    public int Misses { get; private set; }

    /// <summary>A cheap identity of a weight file: size, name and hashes of its first and last megabyte.</summary>
    public static string Fingerprint(string path)
    {
        using var f = File.OpenRead(path);
        var length = f.Length;
        var chunk = (int)Math.Min(1 << 20, length);
        var head = new byte[chunk];
        f.ReadExactly(head);
        var tail = new byte[chunk];
        f.Seek(length - chunk, SeekOrigin.Begin);
        f.ReadExactly(tail);
        var sha = new Sha256(); // managed SHA-256: no libssl (IO/Sha256.cs)
        sha.Append(Encoding.UTF8.GetBytes($"{Path.GetFileName(path)}|{length}|"));
        sha.Append(head);
        sha.Append(tail);
        return sha.FinishHex()[..16];
    }

    /// <summary>The cache key of an image: SHA-256 of its file bytes and this cache's model and size.</summary>
    public string Key(byte[] imageBytes)
    {
        var sha = new Sha256(); // managed SHA-256: no libssl (IO/Sha256.cs)
        sha.Append(imageBytes);
        sha.Append(Encoding.UTF8.GetBytes(salt));
        return sha.FinishHex();
    }

    private string PathOf(string key) => Path.Combine(directory, key[..2], key + ".f16");

    /// <summary>Features of one image, or null when absent or unreadable.</summary>
    public ImageFeatures? TryLoad(string key)
    {
        var path = PathOf(key);
        if (!File.Exists(path))
        {
            Misses++;
            return null;
        }
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                Misses++;
                return null;
            }
            var count = reader.ReadInt32();
            var tensors = new Tensor[count];
            for (var t = 0; t < count; t++)
            {
                var rank = reader.ReadInt32();
                var shape = new int[rank];
                for (var d = 0; d < rank; d++)
                {
                    shape[d] = reader.ReadInt32();
                }
                var values = new float[Shapes.Numel(shape)];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = DTypes.HalfToSingle(reader.ReadUInt16());
                }
                tensors[t] = Tensor.FromArray(values, shape);
            }
            Hits++;
            return new ImageFeatures(tensors[..^1], tensors[^1]);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ArgumentException)
        {
            Misses++;
            return null;
        }
    }

    /// <summary>Stores <paramref name="features"/> under <paramref name="key"/> as fp16, written atomically.</summary>
    public void Save(string key, ImageFeatures features)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        using (var writer = new BinaryWriter(File.Create(temp)))
        {
            writer.Write(Magic);
            var all = features.BlockOutputs.Append(features.Global).ToList();
            writer.Write(all.Count);
            foreach (var t in all)
            {
                writer.Write(t.Rank);
                foreach (var d in t.Shape)
                {
                    writer.Write(d);
                }
                foreach (var v in t.ToArray())
                {
                    writer.Write(DTypes.SingleToHalf(v));
                }
            }
        }
        File.Move(temp, path, overwrite: true);
    }
}
