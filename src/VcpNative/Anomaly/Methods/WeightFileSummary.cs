// What a weight file is, read from its index and metadata only: for `vcp-native info FILE` and for hosts that check files.
using VcpNative.Models.Clip;
using VcpNative.WeightsConverter;

namespace VcpNative.Anomaly.Methods;

/// <summary>
/// A weight file described without reading its tensor data: its container format, what it holds (CLIP weights, a
/// method's heads, or neither), the CLIP architecture, training metadata, and tensor counts by dtype.
/// </summary>
/// <param name="Path">The file.</param>
/// <param name="Format">Container: safetensors, PyTorch zip (torch.save), TorchScript.</param>
/// <param name="Kind">"clip", "heads" or "unknown".</param>
/// <param name="Method">The method of a head file ("vcp", "vip2"), else null.</param>
/// <param name="Clip">The CLIP architecture of a CLIP file, else null.</param>
/// <param name="Tensors">Number of tensors.</param>
/// <param name="Elements">Total number of tensor elements.</param>
/// <param name="DTypes">Tensor count per dtype name, ordered by name.</param>
/// <param name="Metadata">The file's metadata (safetensors <c>__metadata__</c>; training checkpoints' <c>train.*</c> keys among them).</param>
public sealed record WeightFileSummary(string Path, string Format, string Kind, string? Method, ClipConfig? Clip, int Tensors, long Elements,
    IReadOnlyDictionary<string, int> DTypes, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Describes <paramref name="path"/> (tensor data is mapped, not read).</summary>
    /// <param name="path">A safetensors, PyTorch or TorchScript weight file.</param>
    /// <exception cref="ModelFormatException">The file is not a weight file we read.</exception>
    public static WeightFileSummary Read(string path)
    {
        using var weights = WeightLoader.LoadVerbatim(path);
        var method = AnomalyModelLoader.DetectIn(weights);
        var clip = method is null && weights.Contains("visual.conv1.weight") ? ClipConfig.Infer(weights) : null;
        var dtypes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        long elements = 0;
        foreach (var t in weights.Tensors)
        {
            var name = t.DType.ToString();
            dtypes[name] = dtypes.GetValueOrDefault(name) + 1;
            elements += t.ElementCount;
        }
        var format = weights.Format switch
        {
            WeightFileFormat.Safetensors => "safetensors",
            WeightFileFormat.TorchSave => "PyTorch zip (torch.save)",
            WeightFileFormat.TorchScript => "TorchScript",
            _ => weights.Format.ToString(),
        };
        return new WeightFileSummary(path, format, method is not null ? "heads" : clip is not null ? "clip" : "unknown", method?.Name, clip,
            weights.Count, elements, dtypes, new SortedDictionary<string, string>(weights.Metadata.ToDictionary(), StringComparer.Ordinal));
    }
}
