// Selects which of the two upstream F1 formulas is used (pixel: +1e-8 in the denominator; image: none, NaNs dropped).
namespace VcpNative.Anomaly.Metrics;

/// <summary>Which of the two upstream F1 formulas an F1-max uses.</summary>
public enum F1Variant
{
    /// <summary>F1 = 2PR/(P+R+1e-8), as the authors' pixel-level F1-max.</summary>
    PixelWithEpsilon,

    /// <summary>F1 = 2PR/(P+R) with non-finite values removed, as the authors' image-level F1-max.</summary>
    ImageNoEpsilon,
}
