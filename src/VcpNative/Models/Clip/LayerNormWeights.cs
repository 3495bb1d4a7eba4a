// The affine parameters and epsilon of one LayerNorm.
using VcpNative.Tensors;

namespace VcpNative.Models.Clip;

/// <summary>gamma, beta and eps of a LayerNorm over the last axis.</summary>
public sealed record LayerNormWeights(Tensor Gamma, Tensor Beta, float Eps)
{
    /// <summary>Loads &lt;prefix&gt;.weight and &lt;prefix&gt;.bias of length <paramref name="width"/>.</summary>
    public static LayerNormWeights Load(ParameterSet p, string prefix, int width, float eps = 1e-5f) =>
        new(p.Get(prefix + ".weight", width), p.Get(prefix + ".bias", width), eps);

    /// <summary>LayerNorm of <paramref name="x"/> over its last axis with these weights.</summary>
    public Tensor Apply(Tensor x) => Ops.LayerNorm(x, Gamma, Beta, Eps);
}
