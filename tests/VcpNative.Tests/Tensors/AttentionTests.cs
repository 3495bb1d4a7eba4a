// Tests of fused attention: float64 forward/backward references, gradient checks, strided views, memory bound, shapes.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

[CollectionDefinition(nameof(AttentionMemoryCollection), DisableParallelization = true)]
public sealed class AttentionMemoryCollection
{
}

public class AttentionTests
{
    [Theory]
    [InlineData(1, 1, 1, 1, 1, false, false)]
    [InlineData(1, 2, 5, 7, 8, false, false)]
    [InlineData(2, 3, 70, 130, 13, false, false)]    // Lk not a multiple of the 64-key tile, D not a multiple of 8
    [InlineData(1, 2, 77, 77, 64, false, true)]      // text tower: 77 tokens, causal
    [InlineData(1, 1, 130, 67, 5, true, true)]       // Lq > Lk, causal, no scaling
    [InlineData(1, 8, 2, 1369, 128, true, false)]    // Post-VCP: 2 queries over 1369 keys, scale 1
    [InlineData(1, 1, 129, 200, 72, false, false)]
    public void ForwardMatchesFloat64Reference(int b, int h, int lq, int lk, int d, bool unitScale, bool causal)
    {
        using var q = TestTensors.Uniform([b, h, lq, d], 31);
        using var k = TestTensors.Uniform([b, h, lk, d], 32);
        using var v = TestTensors.Uniform([b, h, lk, d], 33);
        float? scale = unitScale ? 1f : null;
        using var o = Ops.Attention(q, k, v, scale, causal);
        Assert.Equal([b, h, lq, d], o.Shape.ToArray());
        var reference = new NaiveAttention(q.ToArray(), k.ToArray(), v.ToArray(), b * h, lq, lk, d, unitScale ? 1.0 : 1.0 / Math.Sqrt(d), causal);
        // float32 logits (|logit| up to ~10 for D=128 unscaled) and float32 accumulation over Lk keys of values in [-1, 1]
        GradientCheck.AssertClose(reference.Output, o.ToArray(), 3e-5, 1e-4, "attention");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void GradientsMatchFiniteDifferences(bool unitScale, bool causal)
    {
        using var q = TestTensors.Uniform([1, 2, 5, 3], 41, requiresGrad: true);
        using var k = TestTensors.Uniform([1, 2, 7, 3], 42, requiresGrad: true);
        using var v = TestTensors.Uniform([1, 2, 7, 3], 43, requiresGrad: true);
        float? scale = unitScale ? 1f : null;
        GradientCheck.Check(t => Ops.Attention(t[0], t[1], t[2], scale, causal), [q, k, v]);
    }

    [Fact]
    public void FrozenInputsGetNoGradient()
    {
        using var q = TestTensors.Uniform([1, 1, 4, 3], 44, requiresGrad: true);
        using var k = TestTensors.Uniform([1, 1, 6, 3], 45);
        using var v = TestTensors.Uniform([1, 1, 6, 3], 46);
        GradientCheck.Check(t => Ops.Attention(t[0], t[1], t[2]), [q, k, v]);
        using var q2 = TestTensors.Uniform([1, 1, 4, 3], 47);
        using var v2 = TestTensors.Uniform([1, 1, 6, 3], 48, requiresGrad: true);
        GradientCheck.Check(t => Ops.Attention(t[0], t[1], t[2], causal: true), [q2, k, v2]);
    }

    [Theory]
    [InlineData(1, 2, 150, 140, 13, false)]
    [InlineData(2, 1, 130, 130, 64, true)]
    [InlineData(1, 1, 3, 200, 8, false)]
    [InlineData(1, 1, 150, 70, 8, true)]
    [InlineData(1, 1, 20, 140, 9, true)]
    public void MultiTileBackwardMatchesFloat64Reference(int b, int h, int lq, int lk, int d, bool causal)
    {
        using var q = TestTensors.Uniform([b, h, lq, d], 51, requiresGrad: true);
        using var k = TestTensors.Uniform([b, h, lk, d], 52, requiresGrad: true);
        using var v = TestTensors.Uniform([b, h, lk, d], 53, requiresGrad: true);
        using var seed = TestTensors.Uniform([b, h, lq, d], 54);
        using (var o = Ops.Attention(q, k, v, null, causal))
        {
            o.Backward(seed);
        }
        var reference = new NaiveAttention(q.ToArray(), k.ToArray(), v.ToArray(), b * h, lq, lk, d, 1.0 / Math.Sqrt(d), causal);
        var (dq, dk, dv) = reference.Gradients(seed.ToArray());
        // float32 tiles summed over up to 150 rows/keys of O(1) terms
        GradientCheck.AssertClose(dq, q.Grad!.ToArray(), 5e-5, 1e-3, "dq");
        GradientCheck.AssertClose(dk, k.Grad!.ToArray(), 5e-5, 1e-3, "dk");
        GradientCheck.AssertClose(dv, v.Grad!.ToArray(), 5e-5, 1e-3, "dv");
    }

    [Fact]
    public void BackwardIsDeterministic()
    {
        using var q = TestTensors.Uniform([1, 3, 140, 16], 55, requiresGrad: true);
        using var k = TestTensors.Uniform([1, 3, 150, 16], 56, requiresGrad: true);
        using var v = TestTensors.Uniform([1, 3, 150, 16], 57, requiresGrad: true);
        using var seed = TestTensors.Uniform([1, 3, 140, 16], 58);
        float[][] Run()
        {
            q.ZeroGrad();
            k.ZeroGrad();
            v.ZeroGrad();
            using (var o = Ops.Attention(q, k, v))
            {
                o.Backward(seed);
            }
            return [q.Grad!.ToArray(), k.Grad!.ToArray(), v.Grad!.ToArray()];
        }
        var first = Run();
        var second = Run();
        // no atomics and a fixed tile order: bit-identical on every run
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(first[i], second[i]);
        }
    }

    [Fact]
    public void StridedHeadsOfFusedQkvAreReadInPlaceAndMatchDenseCopies()
    {
        const int b = 2, l = 67, heads = 3, d = 12;
        using var qkv = TestTensors.Uniform([b, l, 3 * heads * d], 61, requiresGrad: true);
        Tensor[] Split(Tensor fused)
        {
            using var r = Ops.Reshape(fused, b, l, 3, heads, d);
            var parts = new Tensor[3];
            for (var i = 0; i < 3; i++)
            {
                using var s = Ops.Select(r, 2, i);
                parts[i] = Ops.Permute(s, 0, 2, 1, 3);
            }
            return parts;
        }
        var views = Split(qkv);
        Assert.False(views[0].IsContiguous);
        Assert.Equal(1, views[0].Strides[3]);
        using var strided = Ops.Attention(views[0], views[1], views[2], causal: true);
        using var q = Ops.CopyOf(views[0]);
        using var k = Ops.CopyOf(views[1]);
        using var v = Ops.CopyOf(views[2]);
        using var dense = Ops.Attention(q, k, v, causal: true);
        // identical numbers through identical arithmetic: bit-equal
        Assert.Equal(dense.ToArray(), strided.ToArray());
        // a transposed (non-unit last stride) view takes the copy path and still agrees
        using var kt = Ops.Transpose(k, 2, 3);
        using var ktt = Ops.Transpose(kt, 2, 3);
        using var viaCopy = Ops.Attention(q, ktt, v, causal: true);
        Assert.Equal(dense.ToArray(), viaCopy.ToArray());
        foreach (var t in views)
        {
            t.Dispose();
        }
        using var small = TestTensors.Uniform([1, 4, 3 * 2 * 3], 62, requiresGrad: true);
        GradientCheck.Check(t =>
        {
            using var r = Ops.Reshape(t[0], 1, 4, 3, 2, 3);
            using var s0 = Ops.Select(r, 2, 0);
            using var s1 = Ops.Select(r, 2, 1);
            using var s2 = Ops.Select(r, 2, 2);
            using var q0 = Ops.Permute(s0, 0, 2, 1, 3);
            using var k0 = Ops.Permute(s1, 0, 2, 1, 3);
            using var v0 = Ops.Permute(s2, 0, 2, 1, 3);
            return Ops.Attention(q0, k0, v0);
        }, [small]);
    }

    [Fact]
    public void BadShapesThrowNamingOpAndShapes()
    {
        using var q = TestTensors.Uniform([1, 2, 5, 8], 1);
        using var k = TestTensors.Uniform([1, 2, 7, 4], 2);
        var e = Assert.Throws<ShapeMismatchException>(() => Ops.Attention(q, k, k));
        Assert.Contains("attention", e.Message);
        Assert.Contains("[1,2,5,8] vs [1,2,7,4]", e.Message);
        using var v = TestTensors.Uniform([1, 2, 6, 8], 3);
        using var k8 = TestTensors.Uniform([1, 2, 7, 8], 4);
        var e2 = Assert.Throws<ShapeMismatchException>(() => Ops.Attention(q, k8, v));
        Assert.Contains("[1,2,7,8] vs [1,2,6,8]", e2.Message);
        using var flat = TestTensors.Uniform([5, 8], 5);
        var e3 = Assert.Throws<ShapeMismatchException>(() => Ops.Attention(flat, flat, flat));
        Assert.Contains("[5,8]", e3.Message);
    }

    /// <summary>Naive attention and its gradients in float64, materialising the full matrices.</summary>
    private sealed class NaiveAttention
    {
        private readonly float[] q;
        private readonly float[] k;
        private readonly float[] v;
        private readonly int heads;
        private readonly int lq;
        private readonly int lk;
        private readonly int d;
        private readonly double scale;
        private readonly double[] p;

        public NaiveAttention(float[] q, float[] k, float[] v, int heads, int lq, int lk, int d, double scale, bool causal)
        {
            (this.q, this.k, this.v, this.heads, this.lq, this.lk, this.d, this.scale) = (q, k, v, heads, lq, lk, d, scale);
            p = new double[heads * lq * lk];
            Output = new double[heads * lq * d];
            for (var h = 0; h < heads; h++)
            {
                for (var i = 0; i < lq; i++)
                {
                    var row = (h * lq + i) * lk;
                    var max = double.NegativeInfinity;
                    for (var j = 0; j < lk; j++)
                    {
                        double s = 0;
                        for (var c = 0; c < d; c++)
                        {
                            s += (double)q[(h * lq + i) * d + c] * k[(h * lk + j) * d + c];
                        }
                        p[row + j] = causal && j > i ? double.NegativeInfinity : s * scale;
                        max = Math.Max(max, p[row + j]);
                    }
                    double sum = 0;
                    for (var j = 0; j < lk; j++)
                    {
                        p[row + j] = Math.Exp(p[row + j] - max);
                        sum += p[row + j];
                    }
                    for (var j = 0; j < lk; j++)
                    {
                        p[row + j] /= sum;
                        for (var c = 0; c < d; c++)
                        {
                            Output[(h * lq + i) * d + c] += p[row + j] * v[(h * lk + j) * d + c];
                        }
                    }
                }
            }
        }

        public double[] Output { get; }

        public (double[] Dq, double[] Dk, double[] Dv) Gradients(float[] dOut)
        {
            var dq = new double[q.Length];
            var dk = new double[k.Length];
            var dv = new double[v.Length];
            for (var h = 0; h < heads; h++)
            {
                for (var i = 0; i < lq; i++)
                {
                    var o = (h * lq + i) * d;
                    double delta = 0;
                    for (var c = 0; c < d; c++)
                    {
                        delta += dOut[o + c] * Output[o + c];
                    }
                    for (var j = 0; j < lk; j++)
                    {
                        var pij = p[(h * lq + i) * lk + j];
                        double dp = 0;
                        for (var c = 0; c < d; c++)
                        {
                            dp += dOut[o + c] * (double)v[(h * lk + j) * d + c];
                            dv[(h * lk + j) * d + c] += pij * dOut[o + c];
                        }
                        var ds = pij * (dp - delta) * scale;
                        for (var c = 0; c < d; c++)
                        {
                            dq[o + c] += ds * k[(h * lk + j) * d + c];
                            dk[(h * lk + j) * d + c] += ds * q[o + c];
                        }
                    }
                }
            }
            return (dq, dk, dv);
        }
    }
}

[Collection(nameof(AttentionMemoryCollection))]
public class AttentionMemoryTests
{
    [Fact]
    public void FusedForwardAllocatesNothingProportionalToLqTimesLk()
    {
        // Lq·Lk = 4M floats = 16 MB; the fused path should need only per-thread tiles (a few hundred KB at most).
        using var q = TestTensors.Uniform([1, 2, 2048, 16], 71);
        using var k = TestTensors.Uniform([1, 2, 2048, 16], 72);
        using var v = TestTensors.Uniform([1, 2, 2048, 16], 73);
        using (Ops.Attention(q, k, v))
        {
            // warm-up: per-thread scratch, pooled output array, JIT
        }
        var before = GC.GetTotalAllocatedBytes(precise: true);
        using (Ops.Attention(q, k, v))
        {
        }
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        // This collection runs alone, so the counter sees only this call (plus thread-pool bookkeeping).
        Assert.True(allocated < 1 << 20, $"attention allocated {allocated} bytes; Lq*Lk floats would be {2048L * 2048 * 4}");
    }
}
