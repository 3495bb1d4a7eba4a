// The CPU executor: SIMD, multithreaded implementations of the core kernels (copy, elementwise, reductions, matmul).
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Kernels on managed arrays. This file holds memory, elementwise, reduction and matmul kernels; the other ops
/// live in <c>CpuBackend.*.cs</c> files next to it.
/// </summary>
public sealed unsafe partial class CpuBackend : IBackend
{
    /// <summary>The one CPU backend instance; every CPU tensor belongs to it.</summary>
    public static readonly CpuBackend Instance = new();

    private CpuBackend()
    {
    }

    /// <inheritdoc/>
    public string Name => "cpu";

    /// <summary>Pool the CPU storages rent their arrays from and return them to when released.</summary>
    public CpuBufferPool Pool { get; } = new();

    /// <inheritdoc/>
    public TensorStorage Allocate(DType dtype, long length, bool zero)
    {
        if (length > Array.MaxLength)
        {
            throw new OutOfMemoryException($"tensor of {length} elements exceeds the CPU backend's per-tensor limit of {Array.MaxLength}");
        }
        return new CpuStorage(this, dtype, length, zero, Pool);
    }

    internal static CpuStorage Cpu(Tensor t) => t.Storage as CpuStorage
        ?? throw new InvalidOperationException($"{t} is not on the CPU backend");

    /// <summary>Dense F32 data of a contiguous CPU tensor.</summary>
    internal static Span<float> Dense(Tensor t)
    {
        if (t.DType != DType.F32 || !t.IsContiguous)
        {
            throw new InvalidOperationException($"CPU kernel needs a contiguous f32 tensor, got {t}");
        }
        return Cpu(t).Floats.AsSpan((int)t.Offset, (int)t.Numel);
    }

    // ----- memory -----

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        var srcStorage = Cpu(src);
        var dstStorage = Cpu(dst);
        if (!Shapes.SameShape(src.Shape, dst.Shape))
        {
            throw new ShapeMismatchException("copy", src.Shape, dst.Shape, "source vs destination");
        }
        if (src.Numel == 0)
        {
            return;
        }
        var srcRows = new RowIterator(src);
        var dstRows = new RowIterator(dst);
        var inner = srcRows.InnerLength;
        CpuParallel.ForRange(srcRows.Rows, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                CopyRow(srcStorage, srcRows.RowOffset(r), srcRows.InnerStride, dstStorage, dstRows.RowOffset(r), dstRows.InnerStride, inner);
            }
        }, minChunk: Math.Max(1, 16384 / Math.Max(1, inner)));
    }

    private static void CopyRow(CpuStorage src, long s, long stride, CpuStorage dst, long d, long dstStride, int n)
    {
        if (src.DType == DType.F32 && dst.DType == DType.F32 && stride == 1 && dstStride == 1)
        {
            src.Floats.AsSpan((int)s, n).CopyTo(dst.Floats.AsSpan((int)d, n));
            return;
        }
        if (src.DType is DType.I32 or DType.I64 && dst.DType is DType.I32 or DType.I64)
        {
            for (var i = 0; i < n; i++)
            {
                var v = src.DType == DType.I32 ? src.Ints[s + i * stride] : src.Longs[s + i * stride];
                if (dst.DType == DType.I32)
                {
                    dst.Ints[d + i * dstStride] = checked((int)v);
                }
                else
                {
                    dst.Longs[d + i * dstStride] = v;
                }
            }
            return;
        }
        for (var i = 0; i < n; i++)
        {
            WriteF32(dst, d + i * dstStride, ReadF32(src, s + i * stride));
        }
    }

    internal static float ReadF32(CpuStorage s, long i) => s.DType switch
    {
        DType.F32 => s.Floats[i],
        DType.F16 => DTypes.HalfToSingle(s.Halves[i]),
        DType.BF16 => DTypes.BFloat16ToSingle(s.Halves[i]),
        DType.I32 => s.Ints[i],
        DType.I8 => s.SBytes[i],
        _ => s.Longs[i],
    };

    internal static void WriteF32(CpuStorage s, long i, float v)
    {
        switch (s.DType)
        {
            case DType.F32: s.Floats[i] = v; break;
            case DType.F16: s.Halves[i] = DTypes.SingleToHalf(v); break;
            case DType.BF16: s.Halves[i] = DTypes.SingleToBFloat16(v); break;
            case DType.I32: s.Ints[i] = (int)v; break;
            case DType.I8: s.SBytes[i] = (sbyte)Math.Clamp(MathF.Round(v), -128f, 127f); break;
            default: s.Longs[i] = (long)v; break;
        }
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, float value)
    {
        if (dst.DType == DType.F32 && dst.IsContiguous)
        {
            Dense(dst).Fill(value);
            return;
        }
        var storage = Cpu(dst);
        var rows = new RowIterator(dst);
        for (var r = 0; r < rows.Rows; r++)
        {
            var o = rows.RowOffset(r);
            for (var i = 0; i < rows.InnerLength; i++)
            {
                WriteF32(storage, o + i * rows.InnerStride, value);
            }
        }
    }

    /// <inheritdoc/>
    public void Upload(ReadOnlySpan<float> source, Tensor dst) => source.CopyTo(Dense(dst));

    /// <inheritdoc/>
    public void Download(Tensor src, Span<float> destination) => Dense(src).CopyTo(destination);

    // ----- elementwise -----

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor output)
    {
        var o = Dense(output);
        if (a.IsContiguous && b.IsContiguous && a.DType == DType.F32 && b.DType == DType.F32)
        {
            var ad = Cpu(a).Floats.AsSpan((int)a.Offset, (int)a.Numel);
            var bd = Cpu(b).Floats.AsSpan((int)b.Offset, (int)b.Numel);
            BinaryDense(op, ad, bd, o);
            return;
        }
        if (a.DType != DType.F32 || b.DType != DType.F32)
        {
            throw new InvalidOperationException($"binary {op}: operands must be f32 (got {DTypes.Name(a.DType)}, {DTypes.Name(b.DType)})");
        }
        var ra = new RowIterator(a);
        var rb = new RowIterator(b);
        var inner = ra.InnerLength;
        var af = Cpu(a).Floats;
        var bf = Cpu(b).Floats;
        var outArray = Cpu(output).Floats;
        var outOffset = output.Offset;
        CpuParallel.ForRange(ra.Rows, (start, end) =>
        {
            Span<float> tmpA = inner <= 4096 ? stackalloc float[inner] : new float[inner];
            Span<float> tmpB = inner <= 4096 ? stackalloc float[inner] : new float[inner];
            for (var r = start; r < end; r++)
            {
                var dst = outArray.AsSpan((int)(outOffset + (long)r * inner), inner);
                var sa = Gather(af, ra.RowOffset(r), ra.InnerStride, inner, tmpA);
                var sb = Gather(bf, rb.RowOffset(r), rb.InnerStride, inner, tmpB);
                if (sb.Length == 1 && inner > 1)
                {
                    BinaryScalarRight(op, sa, sb[0], dst);
                }
                else if (sa.Length == 1 && inner > 1)
                {
                    tmpA[..inner].Fill(sa[0]);
                    BinaryDense(op, tmpA[..inner], sb, dst);
                }
                else
                {
                    BinaryDense(op, sa, sb, dst);
                }
            }
        }, minChunk: Math.Max(1, 16384 / Math.Max(1, inner)));
    }

    /// <summary>A row as a span: the storage itself when dense, one element when broadcast, else gathered.</summary>
    private static ReadOnlySpan<float> Gather(float[] data, long offset, long stride, int n, Span<float> scratch)
    {
        if (stride == 1)
        {
            return data.AsSpan((int)offset, n);
        }
        if (stride == 0)
        {
            return data.AsSpan((int)offset, 1);
        }
        for (var i = 0; i < n; i++)
        {
            scratch[i] = data[offset + i * stride];
        }
        return scratch[..n];
    }

    private static void BinaryDense(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> o)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, o); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, o); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, o); break;
            case BinaryOp.Max: TensorPrimitives.Max(a, b, o); break;
            case BinaryOp.Min: TensorPrimitives.Min(a, b, o); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    private static void BinaryScalarRight(BinaryOp op, ReadOnlySpan<float> a, float b, Span<float> o)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, o); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, o); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, o); break;
            case BinaryOp.Max: TensorPrimitives.Max(a, b, o); break;
            case BinaryOp.Min: TensorPrimitives.Min(a, b, o); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y, float alpha)
    {
        var xa = Cpu(x).Floats;
        var xo = (int)x.Offset;
        var ya = Cpu(y).Floats;
        var yo = (int)y.Offset;
        _ = Dense(x);
        _ = Dense(y);
        CpuParallel.ForRange((int)x.Numel, (start, end) =>
        {
            UnaryRange(op, xa.AsSpan(xo + start, end - start), ya.AsSpan(yo + start, end - start), alpha);
        }, minChunk: 32768);
    }

    private static void UnaryRange(UnaryOp op, ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Scale: TensorPrimitives.Multiply(x, alpha, y); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(x, alpha, y); break;
            case UnaryOp.PowScalar: TensorPrimitives.Pow(x, alpha, y); break;
            case UnaryOp.Gelu: Activations.Gelu(x, y); break;
            case UnaryOp.QuickGelu: Activations.QuickGelu(x, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <inheritdoc/>
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, float alpha)
    {
        var xs = Dense(x);
        var ys = Dense(y);
        var g = Dense(gy);
        var o = Dense(gx);
        for (var i = 0; i < o.Length; i++)
        {
            var xi = xs[i];
            var yi = ys[i];
            var d = op switch
            {
                UnaryOp.Neg => -1f,
                UnaryOp.Exp => yi,
                UnaryOp.Log => 1f / xi,
                UnaryOp.Sqrt => 0.5f / yi,
                UnaryOp.Abs => xi > 0 ? 1f : xi < 0 ? -1f : 0f,
                UnaryOp.Square => 2f * xi,
                UnaryOp.Relu => xi > 0 ? 1f : 0f,
                UnaryOp.Sigmoid => yi * (1f - yi),
                UnaryOp.Tanh => 1f - yi * yi,
                UnaryOp.Scale => alpha,
                UnaryOp.AddScalar => 1f,
                UnaryOp.PowScalar => alpha * MathF.Pow(xi, alpha - 1f),
                UnaryOp.Gelu => VectorMath.GeluGrad(xi),
                UnaryOp.QuickGelu => QuickGeluGrad(xi),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
            o[i] = g[i] * d;
        }
    }

    private static float QuickGeluGrad(float x)
    {
        var s = VectorMath.Sigmoid(1.702f * x);
        return s + x * 1.702f * s * (1f - s);
    }

    // ----- reductions -----

    /// <inheritdoc/>
    public void SumTo(Tensor x, Tensor y)
    {
        var xs = Dense(x);
        var ys = Dense(y);
        if (x.Rank != y.Rank)
        {
            throw new ShapeMismatchException("sum_to", x.Shape, y.Shape, "ranks differ");
        }
        var rank = x.Rank;
        if (rank == 0)
        {
            ys[0] = xs[0];
            return;
        }
        var inner = x.Shape[rank - 1];
        var lastReduced = y.Shape[rank - 1] == 1 && inner != 1;
        // y strides with 0 on reduced axes, so a row of x maps to a y offset by plain index arithmetic.
        var yStrides = Shapes.ContiguousStrides(y.Shape);
        for (var d = 0; d < rank; d++)
        {
            if (y.Shape[d] == 1)
            {
                yStrides[d] = 0;
            }
        }
        var rows = (int)(x.Numel / Math.Max(1, inner));
        var acc = new double[ys.Length];
        Span<int> index = stackalloc int[rank];
        for (var r = 0; r < rows; r++)
        {
            long yo = 0;
            var rem = r;
            for (var d = rank - 2; d >= 0; d--)
            {
                index[d] = rem % x.Shape[d];
                rem /= x.Shape[d];
                yo += index[d] * yStrides[d];
            }
            var row = xs.Slice(r * inner, inner);
            if (lastReduced)
            {
                acc[yo] += TensorPrimitives.Sum(row);
            }
            else
            {
                for (var i = 0; i < inner; i++)
                {
                    acc[yo + i] += row[i];
                }
            }
        }
        for (var i = 0; i < ys.Length; i++)
        {
            ys[i] = (float)acc[i];
        }
    }

    // ----- matmul -----

    /// <inheritdoc/>
    public void MatMul(Tensor a, bool transA, Tensor b, bool transB, Tensor c, float alpha, float beta)
    {
        var (m, k) = transA ? (a.Shape[^1], a.Shape[^2]) : (a.Shape[^2], a.Shape[^1]);
        var n = transB ? b.Shape[^2] : b.Shape[^1];
        var cs = Dense(c);
        var ldc = n;
        var (ta, lda) = GemmLayout(a, transA);
        var (tb, ldb) = GemmLayout(b, transB);
        var batchShape = c.ShapeArray.AsSpan(0, c.Rank - 2);
        var batches = (int)Shapes.Numel(batchShape);
        var af = Cpu(a).Floats;
        var bf = Cpu(b).Floats;
        var cf = Cpu(c).Floats;
        fixed (float* ap = af, bp = bf, cp = cf)
        {
            for (var bi = 0; bi < batches; bi++)
            {
                var ao = BatchOffset(a, bi, batchShape);
                var bo = BatchOffset(b, bi, batchShape);
                var co = c.Offset + (long)bi * m * n;
                Sgemm.Multiply(ta, tb, m, n, k, alpha, ap + ao, lda, bp + bo, ldb, beta, cp + co, ldc);
            }
        }
        _ = cs;
    }

    /// <summary>Maps a matrix view to a GEMM operand: row-major (stride[-1]==1) or column-major (stride[-2]==1, flip transpose).</summary>
    /// <summary>Whether a matrix view can be fed to GEMM without a copy (one of its two strides is 1).</summary>
    internal static bool IsGemmOperand(Tensor t) => MatrixLayout.TryGemmOperand(t, false, out _, out _);

    private static (bool Trans, int Ld) GemmLayout(Tensor t, bool trans) =>
        MatrixLayout.TryGemmOperand(t, trans, out var tr, out var ld)
            ? (tr, ld)
            : throw new InvalidOperationException($"matmul operand {t} has no unit stride; the op layer must make it contiguous");

    private static long BatchOffset(Tensor t, int batchIndex, ReadOnlySpan<int> batchShape)
    {
        long offset = t.Offset;
        var tBatchRank = t.Rank - 2;
        var rem = batchIndex;
        for (var d = batchShape.Length - 1; d >= 0; d--)
        {
            var i = rem % batchShape[d];
            rem /= batchShape[d];
            var td = d - (batchShape.Length - tBatchRank);
            if (td >= 0 && t.Shape[td] != 1)
            {
                offset += i * t.Strides[td];
            }
        }
        return offset;
    }
}

/// <summary>Small CPU-only helpers used by backward rules.</summary>
public sealed partial class CpuBackend
{
    /// <summary>1 where a (broadcast to result's shape) equals result, else 0: which operand max/min picked.</summary>
    public void EqualMask(Tensor a, Tensor b, Tensor mask) => Tensors.EqualMask.Compare(Dense(a), Dense(b), Dense(mask));
}
