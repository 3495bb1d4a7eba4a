// Runs a method over a labelled dataset class by class and computes each class's metrics.
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Inference;
using VcpNative.IO.Images;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Evaluation;

/// <summary>Callbacks of a dataset evaluation, for writing results and progress as they come.</summary>
public sealed class EvaluationEvents
{
    /// <summary>Called with each image's result as it is collected.</summary>
    public Action<DatasetSample, AnomalyImageResult>? ImageDone { get; init; }

    /// <summary>Called with the path and error of each image or mask that could not be read.</summary>
    public Action<string, Exception>? ImageFailed { get; init; }

    /// <summary>Called after each batch with its image count.</summary>
    public Action<int>? BatchDone { get; init; }

    /// <summary>Called with each class's metrics once it is complete.</summary>
    public Action<ClassMetrics>? ClassDone { get; init; }

    /// <summary>
    /// For the HTML report: called before <see cref="ClassDone"/> with the class's metrics, the curves of the walks that
    /// computed them, and the scored images (maps raw, as inference gave them); set, the metrics record their curves.
    /// </summary>
    internal Action<ClassMetrics, ClassCurves, ScoredClass>? ClassReport { get; init; }
}

/// <summary>One class's scored images, index-aligned: samples, raw maps (size x size), ground-truth masks, scores, 0/1 labels.</summary>
internal sealed record ScoredClass(IReadOnlyList<DatasetSample> Samples, IReadOnlyList<float[]> Maps, IReadOnlyList<byte[]> Masks, IReadOnlyList<float> Scores,
    IReadOnlyList<byte> Labels, int Size, ClassNormalisation Normalisation);

/// <summary>Evaluates a method on a labelled dataset, class by class.</summary>
public static class DatasetEvaluation
{
    /// <summary>
    /// Per class: inference on every test image, ground-truth masks at the model's size, then
    /// <see cref="ClassMetrics.Compute"/>. A class none of whose images could be read is skipped (reported via ImageFailed).
    /// </summary>
    public static IReadOnlyList<ClassMetrics> Run(IAnomalyInference inference, IBackend backend, IReadOnlyList<DatasetSample> samples, int batchSize, EvaluationEvents? events = null) =>
        Run(inference, backend, samples, batchSize, events, metrics: true);

    /// <summary>As the public overload; with <paramref name="metrics"/> false (a shard of a sharded eval) no metrics are computed and none are returned.</summary>
    internal static IReadOnlyList<ClassMetrics> Run(IAnomalyInference inference, IBackend backend, IReadOnlyList<DatasetSample> samples, int batchSize, EvaluationEvents? events,
        bool metrics)
    {
        events ??= new EvaluationEvents();
        var size = inference.ImageSize;
        var loop = new ImageInferenceLoop(inference, backend, batchSize);
        var rows = new List<ClassMetrics>();
        foreach (var group in samples.GroupBy(s => s.ClassName, StringComparer.Ordinal))
        {
            var classSamples = group.ToList();
            var bySample = classSamples.ToDictionary(s => s.ImagePath, StringComparer.Ordinal);
            var maps = new List<float[]>();
            var masks = new List<byte[]>();
            var scores = new List<float>();
            var labels = new List<byte>();
            var scored = new List<DatasetSample>();
            loop.Run(
                classSamples.Select(s => s.ImagePath).ToList(),
                (path, _, result) =>
                {
                    var sample = bySample[path];
                    byte[] mask;
                    try
                    {
                        mask = LoadMask(sample, size);
                    }
                    catch (Exception e) when (e is ImageDecodeException or IOException)
                    {
                        events.ImageFailed?.Invoke(sample.MaskPath!, e);
                        return;
                    }
                    maps.Add(result.Map);
                    masks.Add(mask);
                    scores.Add(result.Score);
                    labels.Add(sample.IsAnomalous ? (byte)1 : (byte)0);
                    scored.Add(sample);
                    events.ImageDone?.Invoke(sample, result);
                },
                (path, e) => events.ImageFailed?.Invoke(path, e),
                events.BatchDone);
            if (scores.Count == 0 || !metrics)
            {
                continue;
            }
            var (row, curves) = ClassMetrics.ComputeWithCurves(group.Key, Concat(maps), Concat(masks), size, [.. scores], [.. labels], inference.Normalisation,
                recordCurves: events.ClassReport is not null);
            rows.Add(row);
            events.ClassReport?.Invoke(row, curves, new ScoredClass(scored, maps, masks, scores, labels, size, inference.Normalisation));
            events.ClassDone?.Invoke(row);
        }
        return rows;
    }

    /// <summary>Ground truth at the model's size: Pillow bilinear resize of the 'L' mask, then > 0.5; zeros for normal images.</summary>
    public static byte[] LoadMask(DatasetSample sample, int size)
    {
        var mask = new byte[size * size];
        if (sample.MaskPath is null)
        {
            return mask;
        }
        var grey = ImageDecoder.Decode(sample.MaskPath).ToGrey();
        var binary = MaskPreprocess.ToBinaryMask(grey, size);
        for (var i = 0; i < mask.Length; i++)
        {
            mask[i] = binary[i] > 0.5f ? (byte)1 : (byte)0;
        }
        return mask;
    }

    private static T[] Concat<T>(List<T[]> parts)
    {
        var result = new T[parts.Sum(p => (long)p.Length)];
        var offset = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, offset);
            offset += p.Length;
        }
        return result;
    }
}
