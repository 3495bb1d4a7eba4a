// One CLIP transformer block: x + MHA(LN1(x)), then x + MLP(LN2(x)).
using VcpNative.Tensors;

namespace VcpNative.Models.Clip;

/// <summary>Pre-norm residual block with fused-QKV multi-head attention (heads of 64) and a 4x MLP.</summary>
public sealed class ResidualAttentionBlock
{
    private readonly LayerNormWeights ln1;
    private readonly LayerNormWeights ln2;
    private readonly Tensor inProjWeight;
    private readonly Tensor inProjBias;
    private readonly Tensor outProjWeight;
    private readonly Tensor outProjBias;
    private readonly Tensor fcWeight;
    private readonly Tensor fcBias;
    private readonly Tensor projWeight;
    private readonly Tensor projBias;
    private readonly int width;
    private readonly int heads;
    private readonly ClipActivation activation;

    /// <summary>Loads block <paramref name="prefix"/> of <paramref name="width"/> channels and <paramref name="heads"/> heads.</summary>
    public ResidualAttentionBlock(ParameterSet p, string prefix, int width, int heads, ClipActivation activation)
    {
        this.width = width;
        this.heads = heads;
        this.activation = activation;
        ln1 = LayerNormWeights.Load(p, prefix + ".ln_1", width);
        ln2 = LayerNormWeights.Load(p, prefix + ".ln_2", width);
        inProjWeight = p.Get(prefix + ".attn.in_proj_weight", 3 * width, width);
        inProjBias = p.Get(prefix + ".attn.in_proj_bias", 3 * width);
        outProjWeight = p.Get(prefix + ".attn.out_proj.weight", width, width);
        outProjBias = p.Get(prefix + ".attn.out_proj.bias", width);
        var hidden = p.Get(prefix + ".mlp.c_fc.weight", -1, width).Shape[0];
        fcWeight = p.Get(prefix + ".mlp.c_fc.weight", hidden, width);
        fcBias = p.Get(prefix + ".mlp.c_fc.bias", hidden);
        projWeight = p.Get(prefix + ".mlp.c_proj.weight", width, hidden);
        projBias = p.Get(prefix + ".mlp.c_proj.bias", width);
    }

    /// <summary>x: [B, L, width] -> [B, L, width]. Intermediates are freed when the call returns.</summary>
    public Tensor Forward(Tensor x, bool causal)
    {
        using var scope = new TensorScope();
        var b = x.Shape[0];
        var l = x.Shape[1];
        var headDim = width / heads;
        var t = BlockProfile.Start();
        var normed1 = ln1.Apply(x);
        t = BlockProfile.Lap(0, t);
        var qkv = Ops.Linear(normed1, inProjWeight, inProjBias);
        t = BlockProfile.Lap(1, t);
        // [B, L, 3, H, D] -> three [B, H, L, D] views of the fused projection (no copy).
        var split = Ops.Reshape(qkv, b, l, 3, heads, headDim);
        var q = Ops.Permute(Ops.Select(split, 2, 0), 0, 2, 1, 3);
        var k = Ops.Permute(Ops.Select(split, 2, 1), 0, 2, 1, 3);
        var v = Ops.Permute(Ops.Select(split, 2, 2), 0, 2, 1, 3);
        var attended = Ops.Attention(q, k, v, scale: null, causal: causal);
        t = BlockProfile.Lap(2, t);
        var merged = Ops.Reshape(Ops.Permute(attended, 0, 2, 1, 3), b, l, width);
        t = BlockProfile.Lap(3, t);
        var h = Ops.Add(x, Ops.Linear(merged, outProjWeight, outProjBias));
        t = BlockProfile.Lap(4, t);
        var normed2 = ln2.Apply(h);
        t = BlockProfile.Lap(5, t);
        // c_fc with its activation fused into the product's epilogue (no separate pass over the 4x-wide hidden).
        var act = Ops.Linear(normed2, fcWeight, fcBias, activation == ClipActivation.Gelu ? LinearActivation.Gelu : LinearActivation.QuickGelu);
        t = BlockProfile.Lap(6, t);
        var result = Ops.Add(h, Ops.Linear(act, projWeight, projBias));
        BlockProfile.Lap(7, t);
        return scope.Keep(result);
    }
}
