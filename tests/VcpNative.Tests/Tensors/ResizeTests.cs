// Tests of the bilinear and antialiased-bicubic resize ops: float64 references, torch golden fixtures, gradients, shapes.
using System.Text.Json;
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public class ResizeTests
{
    [Fact]
    public void BicubicAntialiasWeightsMatchSpecVectors()
    {
        // Rows 0-2 of the 37x24 matrix from method-spec.md section 2.2 (printed to 6 decimals, hence 1e-6).
        var w = ResampleWeights.BicubicAntialias(24, 37);
        var dense = w.ToDenseMatrix();
        double[][] expected =
        [
            [1.068504, -0.068504],
            [0.562502, 0.492814, -0.055315],
            [-0.046918, 0.965719, 0.087696, -0.006496],
        ];
        for (var row = 0; row < expected.Length; row++)
        {
            for (var col = 0; col < 24; col++)
            {
                var want = col < expected[row].Length ? expected[row][col] : 0.0;
                Assert.True(Math.Abs(dense[row * 24 + col] - want) <= 1e-6, $"row {row} col {col}: {dense[row * 24 + col]:F7} vs {want}");
            }
        }
    }

    [Theory]
    [InlineData(24, 37)]
    [InlineData(37, 24)]
    [InlineData(5, 1)]
    [InlineData(1, 7)]
    [InlineData(13, 13)]
    public void WeightRowsSumToOneAndTransposeIsAdjoint(int inSize, int outSize)
    {
        foreach (var w in new[] { ResampleWeights.BicubicAntialias(inSize, outSize), ResampleWeights.Bilinear(inSize, outSize, false), ResampleWeights.Bilinear(inSize, outSize, true) })
        {
            var dense = w.ToDenseMatrix();
            var t = w.Transpose().ToDenseMatrix();
            for (var o = 0; o < outSize; o++)
            {
                double sum = 0;
                for (var i = 0; i < inSize; i++)
                {
                    sum += dense[o * inSize + i];
                    // the transpose holds the same numbers (exactly: it only moves them)
                    Assert.Equal(dense[o * inSize + i], t[i * outSize + o]);
                }
                // interpolation weights are normalised; float32 index arithmetic leaves ~1e-7
                Assert.True(Math.Abs(sum - 1) < 1e-6, $"row {o} sums to {sum}");
            }
        }
    }

    [Theory]
    [InlineData(1, 1, 7, 9, 23, 31, false)]
    [InlineData(2, 3, 7, 9, 23, 31, true)]
    [InlineData(1, 2, 13, 5, 1, 3, false)]
    [InlineData(1, 1, 1, 1, 5, 3, true)]
    [InlineData(1, 2, 29, 31, 11, 17, false)]
    public void BilinearMatchesFloat64Reference(int n, int c, int h, int w, int oh, int ow, bool alignCorners)
    {
        using var x = TestTensors.Uniform([n, c, h, w], 11);
        using var y = Ops.ResizeBilinear(x, oh, ow, alignCorners);
        Assert.Equal([n, c, oh, ow], y.Shape.ToArray());
        var expected = NaiveBilinear(x.ToArray(), n * c, h, w, oh, ow, alignCorners);
        // the op computes source indices in float32 as torch does (ulp of src ~ 2e-6 at src ~ 28, times |x1 - x0| <= 2),
        // the reference in float64
        GradientCheck.AssertClose(expected, y.ToArray(), 6e-6, 0, "bilinear");
    }

    [Theory]
    [InlineData(1, 2, 24, 24, 37, 37)]
    [InlineData(1, 1, 23, 17, 9, 6)]
    [InlineData(2, 1, 1, 7, 3, 2)]
    [InlineData(1, 3, 11, 13, 11, 13)]
    public void BicubicAntialiasMatchesDenseFloat64Reference(int n, int c, int h, int w, int oh, int ow)
    {
        using var x = TestTensors.Uniform([n, c, h, w], 12);
        using var y = Ops.ResizeBicubicAntialias(x, oh, ow);
        var wh = NaiveAaBicubic(h, oh);
        var ww = NaiveAaBicubic(w, ow);
        var xv = x.ToArray();
        var expected = new double[n * c * oh * ow];
        for (var p = 0; p < n * c; p++)
        {
            for (var i = 0; i < oh; i++)
            {
                for (var j = 0; j < ow; j++)
                {
                    double s = 0;
                    for (var a = 0; a < h; a++)
                    {
                        for (var b = 0; b < w; b++)
                        {
                            s += wh[i, a] * ww[j, b] * xv[(p * h + a) * w + b];
                        }
                    }
                    expected[(p * oh + i) * ow + j] = s;
                }
            }
        }
        // two float32 roundings (one per pass) of sums whose weights have |w| <= 1.2
        GradientCheck.AssertClose(expected, y.ToArray(), 5e-6, 0, "bicubic_aa");
    }

    [Fact]
    public void ResizeGradientsMatchFiniteDifferences()
    {
        using var x = TestTensors.Uniform([1, 2, 5, 4], 13, requiresGrad: true);
        GradientCheck.Check(t => Ops.ResizeBilinear(t[0], 7, 3, false), [x]);
        GradientCheck.Check(t => Ops.ResizeBilinear(t[0], 3, 9, true), [x]);
        GradientCheck.Check(t => Ops.ResizeBicubicAntialias(t[0], 8, 3), [x]);
    }

    [Theory]
    [InlineData("bicubic_aa_24_to_37")]
    [InlineData("bicubic_aa_down_23x17_to_9x6")]
    [InlineData("bilinear_ac0_7x9_to_23x31")]
    [InlineData("bilinear_ac1_7x9_to_23x31")]
    [InlineData("bilinear_ac0_24_to_37")]
    [InlineData("bilinear_ac1_down_23x31_to_7x9")]
    public void MatchesTorchGoldenFixture(string name)
    {
        var fixture = ResampleFixture.Load(name);
        using var x = Tensor.FromArray(fixture.Input, fixture.InputShape);
        var oh = fixture.Params.GetProperty("out_h").GetInt32();
        var ow = fixture.Params.GetProperty("out_w").GetInt32();
        using var y = fixture.Op == "bilinear"
            ? Ops.ResizeBilinear(x, oh, ow, fixture.Params.GetProperty("align_corners").GetBoolean())
            : Ops.ResizeBicubicAntialias(x, oh, ow);
        Assert.Equal(fixture.OutputShape, y.Shape.ToArray());
        // torch computes in float32 with another summation order; values are O(1)
        GradientCheck.AssertClose(ResampleFixture.ToDouble(fixture.Output), y.ToArray(), 1e-5, 0, name);
    }

    [Fact]
    public void BadShapesThrowNamingOpAndShapes()
    {
        using var x = TestTensors.Uniform([4], 1);
        var e = Assert.Throws<ShapeMismatchException>(() => Ops.ResizeBilinear(x, 3, 3, false));
        Assert.Contains("resize_bilinear", e.Message);
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[3,3]", e.Message);
        using var img = TestTensors.Uniform([1, 1, 4, 4], 1);
        var e2 = Assert.Throws<ShapeMismatchException>(() => Ops.ResizeBicubicAntialias(img, 0, 5));
        Assert.Contains("resize_bicubic_antialias", e2.Message);
        Assert.Contains("[1,1,4,4]", e2.Message);
        var e3 = Assert.Throws<ShapeMismatchException>(() => Ops.Resample2d(img, ResampleWeights.Bilinear(5, 3, false), ResampleWeights.Bilinear(4, 3, false)));
        Assert.Contains("[1,1,4,4] vs [5,4]", e3.Message);
    }

    [Fact]
    public void BufferPoolKeepsDoubleAndLongArraysApart()
    {
        // Resample2d rents float64 scratch; before the fix double[] and long[] shared one pool key and a rent could
        // hand back an array of the other type (InvalidCastException).
        var pool = new VcpNative.Tensors.Cpu.CpuBufferPool();
        pool.Return(new long[777]);
        var d = pool.Rent<double>(777, zero: true);
        Assert.Equal(777, d.Length);
        Assert.Equal(0, pool.Hits);
    }

    [Fact]
    public void StridedInputIsReadThroughItsView()
    {
        using var x = TestTensors.Uniform([1, 2, 6, 5], 14);
        using var xt = Ops.Transpose(x, 2, 3);
        using var dense = Ops.CopyOf(xt);
        using var a = Ops.ResizeBilinear(xt, 9, 4, false);
        using var b = Ops.ResizeBilinear(dense, 9, 4, false);
        // same arithmetic on the same numbers: bit-identical
        Assert.Equal(b.ToArray(), a.ToArray());
    }

    /// <summary>PyTorch's upsample_bilinear2d written directly in float64 from its index formulas.</summary>
    private static double[] NaiveBilinear(float[] x, int planes, int h, int w, int oh, int ow, bool alignCorners)
    {
        var result = new double[planes * oh * ow];
        for (var p = 0; p < planes; p++)
        {
            for (var i = 0; i < oh; i++)
            {
                var (h0, h1, lh) = Source(i, h, oh, alignCorners);
                for (var j = 0; j < ow; j++)
                {
                    var (w0, w1, lw) = Source(j, w, ow, alignCorners);
                    double At(int r, int c) => x[(p * h + r) * w + c];
                    result[(p * oh + i) * ow + j] = (1 - lh) * ((1 - lw) * At(h0, w0) + lw * At(h0, w1)) + lh * ((1 - lw) * At(h1, w0) + lw * At(h1, w1));
                }
            }
        }
        return result;
    }

    private static (int I0, int I1, double Lambda) Source(int dst, int inSize, int outSize, bool alignCorners)
    {
        double src = alignCorners
            ? (outSize > 1 ? (double)(inSize - 1) / (outSize - 1) * dst : 0)
            : Math.Max((double)inSize / outSize * (dst + 0.5) - 0.5, 0);
        var i0 = (int)Math.Floor(src);
        var i1 = Math.Min(i0 + 1, inSize - 1);
        return (i0, i1, src - i0);
    }

    /// <summary>Pillow/torch antialiased cubic weights as a dense [out, in] matrix, straight from the spec's pseudo-code.</summary>
    private static double[,] NaiveAaBicubic(int inSize, int outSize)
    {
        var m = new double[outSize, inSize];
        var scale = (double)inSize / outSize;
        var support = 2.0 * Math.Max(scale, 1.0);
        for (var i = 0; i < outSize; i++)
        {
            var center = scale * (i + 0.5);
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize);
            double total = 0;
            for (var j = xmin; j < xmax; j++)
            {
                m[i, j] = Cubic((j - center + 0.5) / Math.Max(scale, 1.0));
                total += m[i, j];
            }
            for (var j = xmin; j < xmax; j++)
            {
                m[i, j] /= total;
            }
        }
        return m;
    }

    private static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        return x < 1 ? (a + 2) * x * x * x - (a + 3) * x * x + 1
            : x < 2 ? a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a
            : 0;
    }
}

/// <summary>One case of tests/VcpNative.Tests/Fixtures/resize (written by tools/golden/make_resize_fixtures.py).</summary>
internal sealed record ResampleFixture(string Op, JsonElement Params, float[] Input, int[] InputShape, float[] Output, int[] OutputShape)
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "resize");

    public static ResampleFixture Load(string name)
    {
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "index.json")));
        foreach (var c in index.RootElement.GetProperty("cases").EnumerateArray())
        {
            if (c.GetProperty("name").GetString() != name)
            {
                continue;
            }
            var (input, inShape) = ReadArray(c.GetProperty("input"));
            var (output, outShape) = ReadArray(c.GetProperty("output"));
            return new ResampleFixture(c.GetProperty("op").GetString()!, c.GetProperty("params").Clone(), input, inShape, output, outShape);
        }
        throw new FileNotFoundException($"fixture case '{name}' not in {Folder}/index.json");
    }

    public static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static (float[] Data, int[] Shape) ReadArray(JsonElement entry)
    {
        var shape = entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var bytes = File.ReadAllBytes(Path.Combine(Folder, entry.GetProperty("file").GetString()!));
        var data = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, data, 0, data.Length * 4);
        Assert.Equal(Shapes.Numel(shape), data.Length);
        return (data, shape);
    }
}
