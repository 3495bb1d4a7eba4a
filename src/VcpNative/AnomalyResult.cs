// What AnomalyDetector returns for one image: the raw score, the verdict when a threshold is set, the map and its mask.
using VcpNative.IO.Images;

namespace VcpNative;

/// <summary>
/// One image's result, exactly what <c>vcp-native infer</c> computes: <see cref="Score"/> is the score written to
/// results.json and <see cref="Map"/> the map written by <c>--save-maps</c>. Immutable; safe to share between threads.
/// </summary>
public sealed class AnomalyResult
{
    private readonly float[] map;
    private readonly float pixelThreshold;

    internal AnomalyResult(string name, float score, bool? isAnomalous, float[] map, int mapSize, int originalWidth, int originalHeight, float pixelThreshold)
    {
        Name = name;
        Score = score;
        IsAnomalous = isAnomalous;
        this.map = map;
        MapSize = mapSize;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        this.pixelThreshold = pixelThreshold;
    }

    /// <summary>The image's path, or the name given to an in-memory image ("image 3" for the fourth of a sequence).</summary>
    public string Name { get; }

    /// <summary>The raw image score (no normalisation), as <c>infer</c> writes it.</summary>
    public float Score { get; }

    /// <summary>Score &gt; threshold when the detector has a threshold, else null.</summary>
    public bool? IsAnomalous { get; }

    /// <summary>Side of the square map in pixels: the detector's image size.</summary>
    public int MapSize { get; }

    /// <summary>Width of the image before it was resized to the model's input.</summary>
    public int OriginalWidth { get; }

    /// <summary>Height of the image before it was resized to the model's input.</summary>
    public int OriginalHeight { get; }

    /// <summary>The anomaly map at model resolution: float32 [<see cref="MapSize"/>, <see cref="MapSize"/>], row-major.</summary>
    public ReadOnlySpan<float> Map => map;

    /// <summary>
    /// The map resized to [<see cref="OriginalHeight"/>, <see cref="OriginalWidth"/>] (row-major) with PyTorch's
    /// bilinear interpolation (align_corners=False); a new array on every call.
    /// </summary>
    public float[] MapAtOriginalSize() => Anomaly.Visualization.MapResize.ToSize(map, MapSize, OriginalWidth, OriginalHeight);

    /// <summary>
    /// <see cref="MapAtOriginalSize"/> in jet colours (fixed scale 0..1) blended over <paramref name="image"/>, the image
    /// this result is for as decoded: what <c>infer</c> writes to overlays/.
    /// </summary>
    /// <param name="image">The decoded image, <see cref="OriginalWidth"/> x <see cref="OriginalHeight"/>.</param>
    /// <exception cref="ArgumentException">The image has another size.</exception>
    public RgbImage OverlayOn(RgbImage image)
    {
        if (image.Width != OriginalWidth || image.Height != OriginalHeight)
        {
            throw new ArgumentException($"image is {image.Width}x{image.Height}; this result is for a {OriginalWidth}x{OriginalHeight} image", nameof(image));
        }
        return Anomaly.Visualization.HeatmapOverlay.Render(image, MapAtOriginalSize());
    }

    /// <summary>The mask at model resolution: 255 where the map exceeds the detector's pixel threshold, else 0 (as <c>infer</c>'s masks/).</summary>
    public GreyImage Mask() => Anomaly.Visualization.HeatmapOverlay.Mask(map, MapSize, MapSize, pixelThreshold);

    /// <summary>The mask of <see cref="MapAtOriginalSize"/>: 255 where it exceeds the detector's pixel threshold, else 0.</summary>
    public GreyImage MaskAtOriginalSize() => Anomaly.Visualization.HeatmapOverlay.Mask(MapAtOriginalSize(), OriginalWidth, OriginalHeight, pixelThreshold);
}
