// Reads one training batch: images (augmented or not), their masks and labels, and the frozen features, via the cache.
using VcpNative.Anomaly.Features;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>A batch ready for <see cref="IHeadTrainer.ComputeGradients"/>; <see cref="Count"/> 0 when no image could be read.</summary>
public sealed record TrainingBatch(ImageFeatures Features, Tensor Masks, int[] Labels, int Count);

/// <summary>Builds batches for the training loop; unreadable images are reported and left out of their batch.</summary>
public sealed class TrainingBatchLoader(IHeadTrainer trainer, TrainingData data, FeatureCache? cache, IBackend backend, Action<string, Exception> onFailure)
{
    /// <summary>Images that could not be read so far.</summary>
    public int Failures { get; private set; }

    /// <summary>Loads the examples <paramref name="members"/> of <paramref name="epoch"/> and stacks their features.</summary>
    public TrainingBatch Load(int[] members, int epoch)
    {
        var size = trainer.ImageSize;
        var parts = new List<ImageFeatures>();
        var maskData = new List<float>();
        var labels = new List<int>();
        foreach (var index in members)
        {
            TrainingExample example;
            try
            {
                example = data.Load(index, epoch);
            }
            catch (Exception e) when (e is IO.Images.ImageDecodeException or IOException or InvalidDataException)
            {
                Failures++;
                onFailure(data.Sample(index).ImagePath, e);
                continue;
            }
            parts.Add(Features(example, size));
            maskData.AddRange(example.Mask);
            labels.Add(example.IsAnomalous ? 1 : 0);
        }
        if (parts.Count == 0)
        {
            return new TrainingBatch(null!, null!, [], 0);
        }
        var stacked = parts.Count == 1 ? parts[0] : ImageFeatures.Stack(parts);
        if (parts.Count > 1)
        {
            foreach (var p in parts)
            {
                p.Dispose();
            }
        }
        var masks = Tensor.FromArray(maskData.ToArray(), [parts.Count, size, size], backend);
        return new TrainingBatch(stacked, masks, [.. labels], parts.Count);
    }

    private ImageFeatures Features(TrainingExample example, int size)
    {
        ImageFeatures? features = null;
        string? key = null;
        if (cache is not null)
        {
            key = cache.Key(example.SourceBytes);
            features = cache.TryLoad(key);
        }
        if (features is null)
        {
            using var image = Tensor.FromArray(example.Image, [1, 3, size, size], backend);
            features = trainer.ComputeFeatures(image);
            if (cache is not null)
            {
                // Train on the fp16-rounded features from the first epoch on, so every epoch sees the same values.
                cache.Save(key!, features);
                features.Dispose();
                features = cache.TryLoad(key!)!;
            }
        }
        return features;
    }
}
