// The authors' "Zero_try" cross-attention (VCP-CLIP's Post-VCP, ViP2-CLIP's FGP): text queries attend over patches.
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Models.Heads;

/// <summary>
/// q = Conv1x1(text), k/v = Conv1x1(patches), 8 heads with NO 1/sqrt(d) scaling (beta_t = 1), softmax over patches,
/// output projection, L2-normalised. VCP-CLIP runs it at the vision width (1024), ViP2-CLIP at the joint width (768);
/// both read the same checkpoint names <c>{prefix}.q_proj_pre</c>, <c>k_proj_pre_1</c>, <c>v_proj_pre_1</c>, <c>proj_post_t</c>.
/// </summary>
public sealed class TextPatchCrossAttention
{
    /// <summary>Attention heads (fixed in the authors' code).</summary>
    public const int Heads = 8;

    private readonly ParameterSet p;
    private readonly string prefix;

    /// <summary>Validates the four projections: q from <paramref name="textWidth"/>, k/v from <paramref name="patchWidth"/>.</summary>
    public TextPatchCrossAttention(ParameterSet parameters, string prefix, int textWidth, int patchWidth)
    {
        p = parameters;
        this.prefix = prefix;
        OutputWidth = p.Get($"{prefix}.q_proj_pre.weight", -1, textWidth, 1).Shape[0];
        if (OutputWidth % Heads != 0)
        {
            throw new ModelFormatException(p.Source, null, $"{prefix}.q_proj_pre.weight", $"output width {OutputWidth} must be divisible by {Heads} heads");
        }
        p.Get($"{prefix}.q_proj_pre.bias", OutputWidth);
        p.Get($"{prefix}.k_proj_pre_1.weight", OutputWidth, patchWidth, 1);
        p.Get($"{prefix}.v_proj_pre_1.weight", OutputWidth, patchWidth, 1);
        p.Get($"{prefix}.proj_post_t.weight", OutputWidth, OutputWidth, 1);
        foreach (var name in new[] { "k_proj_pre_1", "v_proj_pre_1", "proj_post_t" })
        {
            p.Get($"{prefix}.{name}.bias", OutputWidth);
        }
    }

    /// <summary>Width of the refined text features (dim_out).</summary>
    public int OutputWidth { get; }

    /// <summary>textFeatures [B, T, Dt], normalisedPatches [B, N, Dv] -> refined text [B, T, OutputWidth], L2-normalised.</summary>
    public Tensor Forward(Tensor textFeatures, Tensor normalisedPatches)
    {
        using var scope = new TensorScope();
        var b = textFeatures.Shape[0];
        var states = textFeatures.Shape[1];
        var patches = normalisedPatches.Shape[1];
        var hd = OutputWidth / Heads;
        var q = Conv1x1(textFeatures, "q_proj_pre");
        var k = Conv1x1(normalisedPatches, "k_proj_pre_1");
        var v = Conv1x1(normalisedPatches, "v_proj_pre_1");
        var qh = Ops.Permute(Ops.Reshape(q, b, states, Heads, hd), 0, 2, 1, 3);
        var kh = Ops.Permute(Ops.Reshape(k, b, patches, Heads, hd), 0, 2, 1, 3);
        var vh = Ops.Permute(Ops.Reshape(v, b, patches, Heads, hd), 0, 2, 1, 3);
        var attended = Ops.Attention(qh, kh, vh, scale: 1f);
        var merged = Ops.Reshape(Ops.Permute(attended, 0, 2, 1, 3), b, states, OutputWidth);
        return scope.Keep(Ops.L2Normalize(Conv1x1(merged, "proj_post_t")));
    }

    /// <summary>A Conv1d with kernel 1 on [B, L, C] tokens is a linear layer over channels.</summary>
    private Tensor Conv1x1(Tensor x, string name)
    {
        var w = p.Get($"{prefix}.{name}.weight");
        using var w2 = Ops.Reshape(w, w.Shape[0], w.Shape[1]);
        return Ops.Linear(x, w2, p.Get($"{prefix}.{name}.bias"));
    }
}
