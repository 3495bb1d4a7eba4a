// CPU memory of a tensor: one managed array of the storage dtype, rented from the backend's pool.
namespace VcpNative.Tensors.Cpu;

/// <summary>Managed-array storage; exactly one of the typed arrays is set, matching <see cref="TensorStorage.DType"/>.</summary>
public sealed class CpuStorage : TensorStorage
{
    private readonly CpuBufferPool? pool;

    internal CpuStorage(CpuBackend backend, DType dtype, long length, bool zero, CpuBufferPool? pool)
        : base(backend, dtype, length)
    {
        this.pool = pool;
        var rentFrom = pool ?? new CpuBufferPool();
        switch (dtype)
        {
            case DType.F32:
                Floats = rentFrom.Rent<float>(length, zero);
                break;
            case DType.F16:
            case DType.BF16:
                Halves = rentFrom.Rent<ushort>(length, zero);
                break;
            case DType.I32:
                Ints = rentFrom.Rent<int>(length, zero);
                break;
            case DType.I64:
                Longs = rentFrom.Rent<long>(length, zero);
                break;
            case DType.I8:
                SBytes = rentFrom.Rent<sbyte>(length, zero);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    private CpuStorage(float[] data)
        : base(CpuBackend.Instance, DType.F32, data.Length)
    {
        Floats = data;
    }

    private CpuStorage(DType dtype, ushort[] bits)
        : base(CpuBackend.Instance, dtype, bits.Length)
    {
        Halves = bits;
    }

    private CpuStorage(sbyte[] data)
        : base(CpuBackend.Instance, DType.I8, data.Length)
    {
        SBytes = data;
    }

    /// <summary>Values of F32 storage.</summary>
    public float[] Floats { get; } = [];

    /// <summary>Raw bits of F16 or BF16 storage.</summary>
    public ushort[] Halves { get; } = [];

    /// <summary>Values of I32 storage.</summary>
    public int[] Ints { get; } = [];

    /// <summary>Values of I64 storage.</summary>
    public long[] Longs { get; } = [];

    /// <summary>Quantised int8 weights (scaled per row by the tensor's channel scales).</summary>
    public sbyte[] SBytes { get; } = [];

    internal static CpuStorage Wrap(float[] data) => new(data);

    internal static CpuStorage WrapBFloat16(ushort[] bits) => new(DType.BF16, bits);

    internal static CpuStorage Wrap(sbyte[] data) => new(data);

    /// <inheritdoc/>
    protected override void Free()
    {
        if (pool is null)
        {
            return;
        }
        switch (DType)
        {
            case DType.F32:
                pool.Return(Floats);
                break;
            case DType.F16:
            case DType.BF16:
                pool.Return(Halves);
                break;
            case DType.I32:
                pool.Return(Ints);
                break;
            case DType.I64:
                pool.Return(Longs);
                break;
            case DType.I8:
                pool.Return(SBytes);
                break;
        }
    }
}
