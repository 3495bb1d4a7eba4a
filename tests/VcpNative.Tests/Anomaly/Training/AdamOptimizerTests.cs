// Adam against torch.optim.Adam over three steps (tools/golden/make_vcp_train_fixtures.py), grouping and state round trip.
using VcpNative.Anomaly.Training;
using VcpNative.Models;
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Anomaly.Training;

public class AdamOptimizerTests
{
    private static readonly string[] Names = ["a", "b", "never", "New_Lan_Embed.prompt_temp", "Zero_try.prompt_temp_l1"];

    private static ParameterSet Initial(VcpNative.WeightsConverter.WeightSet fx)
    {
        var set = new ParameterSet("adam-test");
        foreach (var n in Names)
        {
            var w = fx["init." + n];
            set.Add(n, Tensor.FromArray(w.ToFloat32(), Array.ConvertAll(w.Shape, d => (int)d)));
        }
        return set;
    }

    [Fact]
    public void ThreeStepsMatchTorchAdamWithAuthorsGroups()
    {
        using var fx = Fixtures.Expected("train", "adam.safetensors");
        using var set = Initial(fx);
        var adam = AdamOptimizer.ForVcpHeads(set);     // lr 4e-5 / temperatures 0.01, betas (0.5, 0.999)
        Assert.Equal(["New_Lan_Embed.prompt_temp", "Zero_try.prompt_temp_l1"], adam.Groups[1].Parameters.Select(p => p.Name).ToArray());
        for (var step = 0; step < 3; step++)
        {
            adam.ZeroGrad();
            foreach (var n in Names)
            {
                if (fx.TryGet($"grad{step}.{n}", out var g))
                {
                    set.Get(n).Grad = Tensor.FromArray(g.ToFloat32(), set.Get(n).Shape);
                }
            }
            adam.Step();
            foreach (var n in Names)
            {
                var want = Array.ConvertAll(fx[$"after{step}.{n}"].ToFloat32(), v => (double)v);
                // Same float32 operation order as PyTorch's single-tensor Adam; 1 ulp-level slack for FMA contraction.
                VcpNative.Tests.Tensors.GradientCheck.AssertClose(want, set.Get(n).ToArray(), 1e-9, 1e-6, $"step {step} {n}");
            }
        }
        Assert.Null(adam.StateOf("never"));          // never had a gradient: skipped, no state (as PyTorch)
        Assert.Equal(3, adam.StateOf("a")!.Step);
        foreach (var n in Names)
        {
            if (n == "never")
            {
                continue;
            }
            VcpNative.Tests.Tensors.GradientCheck.AssertClose(Array.ConvertAll(fx["exp_avg." + n].ToFloat32(), v => (double)v), adam.StateOf(n)!.ExpAvg, 1e-12, 1e-6, "exp_avg " + n);
            VcpNative.Tests.Tensors.GradientCheck.AssertClose(Array.ConvertAll(fx["exp_avg_sq." + n].ToFloat32(), v => (double)v), adam.StateOf(n)!.ExpAvgSq, 1e-15, 1e-6, "exp_avg_sq " + n);
        }
    }

    [Fact]
    public void ExportedStateRestoresExactly()
    {
        using var fx = Fixtures.Expected("train", "adam.safetensors");
        using var set = Initial(fx);
        var adam = AdamOptimizer.ForVcpHeads(set);
        set.Get("a").Grad = Tensor.FromArray(fx["grad0.a"].ToFloat32(), [5, 3]);
        adam.Step();
        var tensors = new List<(string Name, float[] Data, int[] Shape)>();
        var meta = new Dictionary<string, string>();
        adam.ExportState(tensors, meta);
        var copy = AdamOptimizer.ForVcpHeads(set);
        copy.ImportState(n => tensors.Find(t => t.Name == n).Data, meta, "memory");
        Assert.Equal(1, copy.StateOf("a")!.Step);
        Assert.Equal(adam.StateOf("a")!.ExpAvgSq, copy.StateOf("a")!.ExpAvgSq);
        Assert.Null(copy.StateOf("b"));
    }

    [Fact]
    public void DuplicateParameterAcrossGroupsIsRefused()
    {
        using var t = Tensor.Zeros([2]);
        var ex = Assert.Throws<ArgumentException>(() => new AdamOptimizer(
            [new AdamParameterGroup("x", 1e-3, [("w", t)]), new AdamParameterGroup("y", 1e-2, [("w", t)])]));
        Assert.Contains("'w'", ex.Message);
    }
}
