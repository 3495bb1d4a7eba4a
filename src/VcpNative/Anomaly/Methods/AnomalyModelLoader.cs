// The one place that decides which method a head file belongs to and loads CLIP the way that method needs it.
using VcpNative.Anomaly.Inference;
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Anomaly.Methods;

/// <summary>
/// Method detection and loading for infer, eval, calibrate and compare. Each method builds its CLIP from the same file
/// (VCP-CLIP: exact GELU and antialiased bicubic position resizing; ViP2-CLIP: the original QuickGELU and bilinear).
/// </summary>
public static class AnomalyModelLoader
{
    /// <summary>VCP-CLIP's method name.</summary>
    public const string Vcp = "vcp";

    /// <summary>ViP2-CLIP's method name.</summary>
    public const string Vip2 = "vip2";

    /// <summary>Every method name, as <see cref="AnomalyMethods.Names"/>.</summary>
    public static string[] Methods => AnomalyMethods.Names;

    /// <summary>
    /// The method of a head file: its safetensors metadata <c>method</c> when present, else its key names
    /// (the first tensor some method recognises, e.g. <c>prompt_learner.*</c> is ViP2-CLIP, <c>trainable_linearlayer.*</c> VCP-CLIP).
    /// </summary>
    public static string DetectMethod(string headPath) => Detect(headPath).Name;

    /// <summary>The method descriptor of a head file, as <see cref="DetectMethod"/>.</summary>
    public static IAnomalyMethod Detect(string headPath)
    {
        using var weights = WeightLoader.LoadVerbatim(headPath);
        return DetectIn(weights) ?? throw new ModelFormatException(headPath, null, null,
            $"cannot tell the method: expected metadata 'method' or tensors named {string.Join(" or ", AnomalyMethods.All.Select(m => $"{m.TensorPrefix}* ({m.Title})"))}, found neither");
    }

    /// <summary>The method of an open weight file (metadata <c>method</c>, else key names), or null when nothing says.</summary>
    internal static IAnomalyMethod? DetectIn(WeightSet weights)
    {
        if (weights.Metadata.TryGetValue("method", out var declared))
        {
            return AnomalyMethods.ByName(declared, weights.SourcePath);
        }
        foreach (var name in weights.Names)
        {
            if (AnomalyMethods.Recognising(name) is { } method)
            {
                return method;
            }
        }
        return null;
    }

    /// <summary>
    /// The input size a head file was trained at: its safetensors metadata <c>train.image_size</c> (written by our
    /// trainer's checkpoints), or null when the file does not record it (the authors' .pth files, converted heads).
    /// </summary>
    public static int? TrainedImageSize(string headPath)
    {
        using var weights = WeightLoader.LoadVerbatim(headPath);
        return weights.Metadata.TryGetValue("train.image_size", out var value)
            && int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size) ? size : null;
    }

    /// <summary>
    /// Why <paramref name="imageSize"/> cannot be used with the CLIP in <paramref name="clipPath"/> (not a multiple of its
    /// patch size, or outside 1..4096), or null when it can; reads the file's tensor shapes only.
    /// </summary>
    public static string? ImageSizeProblem(string clipPath, int imageSize)
    {
        if (imageSize is < 1 or > MaxImageSize)
        {
            return $"{imageSize} px is outside 1..{MaxImageSize}";
        }
        using var weights = WeightLoader.Load(clipPath);
        var patch = ClipConfig.Infer(weights).PatchSize;
        return imageSize % patch == 0 ? null
            : $"{imageSize} px is not a multiple of the CLIP patch size {patch} (nearest: {Math.Max(patch, (imageSize + patch / 2) / patch * patch)})";
    }

    /// <summary>The largest input size accepted.</summary>
    public const int MaxImageSize = 4096;

    /// <summary>Loads CLIP and heads for <paramref name="method"/> (detected from the head file when null) at one input size.</summary>
    public static LoadedAnomalyModel Load(string clipPath, string headPath, int imageSize, IBackend? backend = null, string? method = null)
    {
        var m = method is null ? Detect(headPath) : AnomalyMethods.ByName(method, headPath);
        return m.Load(clipPath, headPath, imageSize, backend);
    }
}
