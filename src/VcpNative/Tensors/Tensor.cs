// The n-dimensional array every layer above the backends works with: shape, strides, storage, gradient.
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Tensors;

/// <summary>
/// A strided view of a <see cref="TensorStorage"/>. Views (reshape, permute, narrow) share storage; the
/// storage returns to its pool when the last tensor using it is disposed. Tensors created inside a
/// <see cref="TensorScope"/> are disposed with the scope unless kept.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly int[] shape;
    private readonly long[] strides;
    private bool disposed;
    private bool requiresGrad;

    internal Tensor(TensorStorage storage, int[] shape, long[] strides, long offset)
    {
        Storage = storage;
        this.shape = shape;
        this.strides = strides;
        Offset = offset;
        Numel = Shapes.Numel(shape);
        IsContiguous = ComputeContiguous();
        TensorScope.Register(this);
    }

    /// <summary>The buffer this tensor is a view of (shared by views).</summary>
    public TensorStorage Storage { get; }

    /// <summary>The backend that owns the storage and runs ops on this tensor.</summary>
    public IBackend Backend => Storage.Backend;

    /// <summary>Element type of the storage.</summary>
    public DType DType => Storage.DType;

    /// <summary>Dimensions; do not mutate.</summary>
    public ReadOnlySpan<int> Shape => shape;

    /// <summary>Strides in elements; do not mutate.</summary>
    public ReadOnlySpan<long> Strides => strides;

    internal int[] ShapeArray => shape;

    internal long[] StridesArray => strides;

    /// <summary>Element offset of this view into its storage.</summary>
    public long Offset { get; }

    /// <summary>Number of axes.</summary>
    public int Rank => shape.Length;

    /// <summary>Number of elements.</summary>
    public long Numel { get; }

    /// <summary>True when elements are laid out densely in row-major order from <see cref="Offset"/>.</summary>
    public bool IsContiguous { get; }

    /// <summary>
    /// Per-row scales of an I8 weight [rows, cols] (F32 [rows], same backend): element [r, c] means q[r, c] * scale[r].
    /// Null for every other tensor; owned by this tensor (disposed with it). Views do not inherit it.
    /// </summary>
    public Tensor? ChannelScales { get; private set; }

    /// <summary>
    /// The form a backend prepared this linear weight in for another arithmetic (the CPU's packed int8 weight, see
    /// <see cref="IBackend.PrepareInt8Linear"/>); null computes with the weight as stored. Views do not inherit it.
    /// </summary>
    internal object? LinearComputeForm { get; set; }

    /// <summary>Optional name used in error messages and weight files.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Whether gradients flow to this tensor. Set on leaves (parameters, inputs); results of ops get it when any
    /// input has it and the tape is recording. Frozen weights leave it false and get no weight-gradient work.
    /// </summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set
        {
            if (value && !DTypes.IsFloat(DType))
            {
                throw new InvalidOperationException($"tensor {Name ?? Shapes.Format(shape)}: only float tensors can require gradients");
            }
            requiresGrad = value;
        }
    }

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward"/>.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The tape node that produced this tensor, when it was recorded.</summary>
    internal GradNode? GradFn { get; set; }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => disposed;

    /// <summary>Size of <paramref name="axis"/> (negative counts from the end).</summary>
    public int Size(int axis) => shape[Shapes.Axis("size", axis, shape.Length)];

    // ----- creation -----

    /// <summary>A new contiguous tensor with uninitialised values, on <paramref name="backend"/> (CPU when null).</summary>
    public static Tensor Empty(ReadOnlySpan<int> shape, DType dtype = DType.F32, IBackend? backend = null)
    {
        backend ??= CpuBackend.Instance;
        var copy = shape.ToArray();
        foreach (var d in copy)
        {
            if (d < 0)
            {
                throw new ShapeMismatchException("empty", $"negative dimension in {Shapes.Format(copy)}");
            }
        }
        var storage = backend.Allocate(dtype, Shapes.Numel(copy), zero: false);
        return new Tensor(storage, copy, Shapes.ContiguousStrides(copy), 0);
    }

    /// <summary>A new contiguous tensor of zeros, on <paramref name="backend"/> (CPU when null).</summary>
    public static Tensor Zeros(ReadOnlySpan<int> shape, DType dtype = DType.F32, IBackend? backend = null)
    {
        backend ??= CpuBackend.Instance;
        var copy = shape.ToArray();
        var storage = backend.Allocate(dtype, Shapes.Numel(copy), zero: true);
        return new Tensor(storage, copy, Shapes.ContiguousStrides(copy), 0);
    }

    /// <summary>A new f32 tensor with every element <paramref name="value"/>, on <paramref name="backend"/> (CPU when null).</summary>
    public static Tensor Full(ReadOnlySpan<int> shape, float value, IBackend? backend = null)
    {
        var t = Empty(shape, DType.F32, backend);
        t.Backend.Fill(t, value);
        return t;
    }

    /// <summary>A new f32 tensor of <paramref name="shape"/> holding a copy of <paramref name="data"/>, on <paramref name="backend"/> (CPU when null).</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, ReadOnlySpan<int> shape, IBackend? backend = null)
    {
        if (Shapes.Numel(shape) != data.Length)
        {
            throw new ShapeMismatchException("from_array", $"{data.Length} values do not fill shape {Shapes.Format(shape)}");
        }
        var t = Empty(shape, DType.F32, backend);
        t.Backend.Upload(data, t);
        return t;
    }

    /// <summary>A new rank-0 f32 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value, IBackend? backend = null) => FromArray([value], [], backend);

    /// <summary>Integer tensor (token ids, indices) on the CPU backend.</summary>
    public static Tensor FromInts(ReadOnlySpan<int> data, ReadOnlySpan<int> shape)
    {
        if (Shapes.Numel(shape) != data.Length)
        {
            throw new ShapeMismatchException("from_ints", $"{data.Length} values do not fill shape {Shapes.Format(shape)}");
        }
        var t = Empty(shape, DType.I32, CpuBackend.Instance);
        data.CopyTo(((CpuStorage)t.Storage).Ints.AsSpan(0, data.Length));
        return t;
    }

    /// <summary>Wraps an existing array without copying (CPU backend); the array must not be pooled elsewhere.</summary>
    public static Tensor Wrap(float[] data, ReadOnlySpan<int> shape)
    {
        if (Shapes.Numel(shape) > data.Length)
        {
            throw new ShapeMismatchException("wrap", $"{data.Length} values do not fill shape {Shapes.Format(shape)}");
        }
        var copy = shape.ToArray();
        return new Tensor(CpuStorage.Wrap(data), copy, Shapes.ContiguousStrides(copy), 0);
    }

    /// <summary>Attaches the per-row dequantisation scales of an I8 matrix (takes ownership of <paramref name="scales"/>).</summary>
    public void AttachChannelScales(Tensor scales)
    {
        if (DType != DType.I8 || Rank != 2 || !IsContiguous)
        {
            throw new InvalidOperationException($"channel scales belong to a contiguous 2-D i8 tensor, not {this}");
        }
        if (scales.DType != DType.F32 || scales.Rank != 1 || scales.Shape[0] != shape[0] || scales.Backend != Backend)
        {
            throw new ShapeMismatchException("channel_scales", shape, scales.Shape, $"expected f32 [{shape[0]}] on {Backend.Name}, found {scales}");
        }
        ChannelScales?.Dispose();
        ChannelScales = scales;
    }

    /// <summary>Wraps bfloat16 bits (CPU backend, no copy): a compressed linear weight the CPU GEMM widens while packing.</summary>
    public static Tensor WrapBFloat16(ushort[] bits, ReadOnlySpan<int> shape) =>
        WrapStorage(CpuStorage.WrapBFloat16(bits), bits.Length, shape, "wrap_bf16");

    /// <summary>Wraps an int8 matrix [rows, cols] and its per-row scales (CPU backend, no copy): value = q * scales[row].</summary>
    public static Tensor WrapInt8(sbyte[] q, float[] scales, ReadOnlySpan<int> shape)
    {
        var t = WrapStorage(CpuStorage.Wrap(q), q.Length, shape, "wrap_int8");
        try
        {
            // The scales belong to t, not to an enclosing scope that could free them while t is kept.
            using (TensorScope.Suspend())
            {
                t.AttachChannelScales(Wrap(scales, [scales.Length]));
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    private static Tensor WrapStorage(TensorStorage storage, int length, ReadOnlySpan<int> shape, string op)
    {
        if (Shapes.Numel(shape) != length)
        {
            throw new ShapeMismatchException(op, $"{length} values do not fill shape {Shapes.Format(shape)}");
        }
        var copy = shape.ToArray();
        return new Tensor(storage, copy, Shapes.ContiguousStrides(copy), 0);
    }

    // ----- host access -----

    /// <summary>Copies the elements, in row-major order, to a new float array.</summary>
    public float[] ToArray()
    {
        var result = new float[Numel];
        CopyTo(result);
        return result;
    }

    /// <summary>Copies the values, in row-major order, as f32 into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length < Numel)
        {
            throw new ShapeMismatchException("copy_to", $"destination holds {destination.Length} values, tensor {Shapes.Format(shape)} has {Numel}");
        }
        if (IsContiguous && DType == DType.F32)
        {
            Backend.Download(this, destination[..(int)Numel]);
            return;
        }
        using var dense = ToContiguousF32();
        Backend.Download(dense, destination[..(int)Numel]);
    }

    /// <summary>
    /// Contiguous CPU storage of this tensor as its raw element type (float for F32, ushort bits for F16/BF16, sbyte for
    /// I8, int, long); no copy. Throws when T does not match the dtype or the tensor is not a dense CPU tensor.
    /// </summary>
    public Span<T> AsSpanOf<T>()
        where T : unmanaged
    {
        if (Storage is not CpuStorage cpu || !IsContiguous)
        {
            throw new InvalidOperationException($"AsSpanOf needs a contiguous CPU tensor, got {this}{(IsContiguous ? "" : " (strided)")}");
        }
        Span<T> all = DType switch
        {
            DType.F32 when typeof(T) == typeof(float) => System.Runtime.InteropServices.MemoryMarshal.Cast<float, T>(cpu.Floats.AsSpan()),
            DType.F16 or DType.BF16 when typeof(T) == typeof(ushort) => System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, T>(cpu.Halves.AsSpan()),
            DType.I8 when typeof(T) == typeof(sbyte) => System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, T>(cpu.SBytes.AsSpan()),
            DType.I32 when typeof(T) == typeof(int) => System.Runtime.InteropServices.MemoryMarshal.Cast<int, T>(cpu.Ints.AsSpan()),
            DType.I64 when typeof(T) == typeof(long) => System.Runtime.InteropServices.MemoryMarshal.Cast<long, T>(cpu.Longs.AsSpan()),
            _ => throw new InvalidOperationException($"AsSpanOf<{typeof(T).Name}> does not match the storage of {this}"),
        };
        return all.Slice((int)Offset, (int)Numel);
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1)
        {
            throw new ShapeMismatchException("item", $"tensor {Shapes.Format(shape)} has {Numel} elements, expected 1");
        }
        Span<float> one = stackalloc float[1];
        CopyTo(one);
        return one[0];
    }

    /// <summary>Contiguous F32 span of a CPU tensor (no copy); throws when the tensor is not dense F32 on the CPU.</summary>
    public Span<float> AsSpan()
    {
        if (Storage is not CpuStorage cpu || DType != DType.F32 || !IsContiguous)
        {
            throw new InvalidOperationException($"AsSpan needs a contiguous f32 CPU tensor, got {DTypes.Name(DType)} {Shapes.Format(shape)} on {Backend.Name}{(IsContiguous ? "" : " (strided)")}");
        }
        return cpu.Floats.AsSpan((int)Offset, (int)Numel);
    }

    /// <summary>A dense F32 copy (no gradient tracking); I8 weights come out dequantised (q * row scale).</summary>
    internal Tensor ToContiguousF32()
    {
        var dense = Empty(shape, DType.F32, Backend);
        Backend.Copy(this, dense);
        if (DType == DType.I8)
        {
            if (ChannelScales is null)
            {
                dense.Dispose();
                throw new InvalidOperationException($"{this} has no channel scales: an i8 tensor cannot be read as f32 without them");
            }
            // Same rounding as the reference dequantisation: one f32 product q * scale per element.
            using var column = ChannelScales.View([shape[0], 1], [1, 1], ChannelScales.Offset);
            using var expanded = Ops.Expand(column, shape);
            Backend.Binary(BinaryOp.Mul, dense, expanded, dense);
        }
        return dense;
    }

    /// <summary>A new view on the same storage (no copy, no tape).</summary>
    internal Tensor View(int[] newShape, long[] newStrides, long newOffset)
    {
        Storage.AddReference();
        return new Tensor(Storage, newShape, newStrides, newOffset);
    }

    // ----- autograd -----

    /// <summary>Back-propagates from this tensor (a scalar, or with an explicit seed gradient).</summary>
    public void Backward(Tensor? seed = null) => Tape.Backward(this, seed);

    /// <summary>Drops the accumulated gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>This tensor without its tape history (shares storage).</summary>
    public Tensor Detach() => View(shape, strides, Offset);

    /// <summary>Shape, dtype, backend and name, for messages.</summary>
    public override string ToString() =>
        $"Tensor{Shapes.Format(shape)} {DTypes.Name(DType)} on {Backend.Name}{(Name is null ? "" : $" '{Name}'")}";

    /// <summary>Releases this view's reference to the storage; the buffer returns to its pool when the last view goes.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        ChannelScales?.Dispose();
        // GradFn stays: the tape may still walk through this tensor; its node holds its own storage reference.
        Storage.Release();
    }

    private bool ComputeContiguous()
    {
        long expected = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && strides[i] != expected)
            {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }
}
