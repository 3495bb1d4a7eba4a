// The GPU executor: IBackend on device memory through an IGpuDriver (libcuda, or the PTX emulator in tests).
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda.Driver;

namespace VcpNative.Tensors.Cuda;

/// <summary>
/// Kernels from kernels/*.cu (the embedded PTX) launched through an <see cref="IGpuDriver"/>, so the same code runs
/// on a real GPU (<see cref="CudaDriver"/>) and on <see cref="Emulator.PtxEmulator"/>. This file holds memory, copy
/// and launch plumbing; the op families live in <c>GpuBackend.*.cs</c>, and ops without a kernel yet in
/// <c>GpuBackend.HostFallback.cs</c>.
/// </summary>
public sealed partial class GpuBackend : IBackend, IDisposable
{
    private const int ElementwiseBlock = 256;
    private const int MaxGridX = 65535;
    // Warp-per-row kernels (layernorm, softmax, l2norm) run 4 rows per 128-thread block.
    private const int RowsPerBlock = 4;

    private readonly bool ownsDriver;
    private readonly Dictionary<string, GpuModule> modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GpuFunction> functions = new(StringComparer.Ordinal);
    private readonly Cublas? cublas;

    /// <summary>
    /// A backend over <paramref name="driver"/>. On <see cref="CudaDriver"/> MatMul uses cuBLAS when libcublas loads
    /// (<paramref name="useCublas"/> false forces our gemm_f32 kernel); on the emulator it always uses gemm_f32.
    /// </summary>
    public GpuBackend(IGpuDriver driver, bool ownsDriver = false, bool useCublas = true)
    {
        Driver = driver;
        this.ownsDriver = ownsDriver;
        Pool = new GpuBufferPool(driver);
        if (useCublas && driver is CudaDriver cuda)
        {
            try
            {
                cublas = new Cublas();
                cublas.SetStream(cuda.Stream);
            }
            catch (CudaUnavailableException e)
            {
                cublas = null; // no libcublas: gemm_f32 does the work, and says why
                CublasUnavailableReason = e.Message;
            }
        }
    }

    /// <summary>The driver (real CUDA or the PTX emulator) the kernels launch on.</summary>
    public IGpuDriver Driver { get; }

    /// <summary>Pool the device buffers of this backend's tensors come from.</summary>
    public GpuBufferPool Pool { get; }

    /// <summary>True when MatMul goes to cuBLAS, false when it runs our gemm_f32 kernel.</summary>
    public bool UsesCublas => cublas is not null;

    /// <summary>Why cuBLAS is not used although it was asked for (the loader's one-line error), else null.</summary>
    public string? CublasUnavailableReason { get; }

    /// <summary>The cuBLAS handle (on this backend's stream) for kernel timings against cuBLAS, when it is used.</summary>
    internal Cublas? CublasForTimings => cublas;

    /// <summary>Where libcublas was loaded from, when it is used.</summary>
    public NativeLibrarySearch? CublasSearch => cublas?.Search;

    /// <inheritdoc/>
    public string Name => Driver.Device.IsEmulated ? "gpu-emulated" : "cuda";

    /// <summary>Names of the kernels this backend has looked up (and launched) so far.</summary>
    public IReadOnlyCollection<string> KernelsUsed => functions.Keys;

    /// <inheritdoc/>
    public TensorStorage Allocate(DType dtype, long length, bool zero)
    {
        var bytes = length * DTypes.SizeOf(dtype);
        var ptr = Pool.Rent(bytes);
        if (zero && bytes > 0)
        {
            Driver.Memset(ptr, 0, bytes);
        }
        return new GpuStorage(this, dtype, length, Pool, ptr, bytes);
    }

    internal GpuStorage Gpu(Tensor t) => t.Storage is GpuStorage g && ReferenceEquals(g.Backend, this)
        ? g
        : throw new InvalidOperationException($"{t} is not on this {Name} backend");

    /// <summary>Device address of the first element of a view.</summary>
    internal DevicePtr Ptr(Tensor t) => Gpu(t).Pointer.Offset(t.Offset * DTypes.SizeOf(t.DType));

    internal DevicePtr PtrOrNull(Tensor? t) => t is null ? DevicePtr.Null : Ptr(t);

    /// <summary>Device address of a contiguous F32 view a kernel reads or writes densely.</summary>
    internal DevicePtr Dense(Tensor t)
    {
        if (t.DType != DType.F32 || !t.IsContiguous)
        {
            throw new InvalidOperationException($"GPU kernel needs a contiguous f32 tensor, got {t}");
        }
        return Ptr(t);
    }

    // ----- memory -----

    /// <inheritdoc/>
    public void Upload(ReadOnlySpan<float> source, Tensor dst)
    {
        if (dst.DType == DType.F32 && dst.IsContiguous)
        {
            Driver.CopyToDevice(Ptr(dst), source[..(int)dst.Numel]);
            return;
        }
        using var host = Tensor.Empty(dst.Shape, DType.F32, CpuBackend.Instance);
        CpuBackend.Instance.Upload(source, host);
        Copy(host, dst);
    }

    /// <inheritdoc/>
    public void Download(Tensor src, Span<float> destination)
    {
        if (src.DType == DType.F32 && src.IsContiguous)
        {
            Driver.CopyToHost(Ptr(src), destination[..(int)src.Numel]);
            return;
        }
        using var dense = Tensor.Empty(src.Shape, DType.F32, this);
        Copy(src, dense);
        Driver.CopyToHost(Ptr(dense), destination[..(int)src.Numel]);
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (!Shapes.SameShape(src.Shape, dst.Shape))
        {
            throw new ShapeMismatchException("copy", src.Shape, dst.Shape, "source vs destination");
        }
        if (src.Numel == 0)
        {
            return;
        }
        if (src.Storage is GpuStorage && src.DType == DType.F32 && dst.DType == DType.F32)
        {
            if (src.IsContiguous && dst.IsContiguous)
            {
                Driver.CopyDeviceToDevice(Ptr(dst), Ptr(src), dst.Numel * sizeof(float));
                return;
            }
            if (TryStridedCopy(Ptr(dst), dst.Strides, Ptr(src), src.Strides, src.Shape))
            {
                return;
            }
        }
        if (TryCopy16Bit(src, dst))
        {
            return;
        }
        CopyOnHost(src, dst);
    }

    /// <summary>dst[i] = src[i] over a strided shape with the strided_copy_f32 kernel; false when rank &gt; 6 after merging.</summary>
    private bool TryStridedCopy(DevicePtr dst, ReadOnlySpan<long> dstStrides, DevicePtr src, ReadOnlySpan<long> srcStrides, ReadOnlySpan<int> shape)
    {
        var layout = new StridedLayout(stackalloc int[StridedLayout.MaxRank], stackalloc long[3 * StridedLayout.MaxRank]);
        if (!layout.TryBuild(shape, dstStrides, srcStrides, default, 2))
        {
            return false;
        }
        var d = layout.Dims;
        var s = layout.Strides;
        LaunchElementwise("strided", "strided_copy_f32", Shapes.Numel(shape),
        [
            dst, src, Shapes.Numel(shape), d[0], d[1], d[2], d[3], d[4], d[5],
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11],
        ]);
        return true;
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, float value)
    {
        if (dst.Numel == 0)
        {
            return;
        }
        if (dst.DType == DType.F32 && dst.IsContiguous)
        {
            LaunchElementwise("elementwise", "fill_f32", dst.Numel, [Ptr(dst), value, dst.Numel]);
            return;
        }
        if (dst.DType == DType.F32)
        {
            // A strided fill is a copy from one value broadcast with stride 0.
            var one = Pool.Rent(sizeof(float));
            try
            {
                LaunchElementwise("elementwise", "fill_f32", 1, [one, value, 1L]);
                Span<long> zeros = stackalloc long[dst.Rank];
                zeros.Clear();
                if (TryStridedCopy(Ptr(dst), dst.Strides, one, zeros, dst.Shape))
                {
                    return;
                }
            }
            finally
            {
                Pool.Return(one, sizeof(float));
            }
        }
        using var host = Tensor.Full(dst.Shape, value, CpuBackend.Instance);
        Copy(host, dst);
    }

    // ----- launching -----

    internal GpuFunction Kernel(string module, string name)
    {
        if (functions.TryGetValue(name, out var f))
        {
            return f;
        }
        if (!modules.TryGetValue(module, out var m))
        {
            m = Driver.LoadModule(ShippedKernels.LoadPtx(module), module);
            modules[module] = m;
        }
        f = Driver.GetFunction(m, name);
        functions[name] = f;
        return f;
    }

    /// <summary>A grid-stride kernel over <paramref name="n"/> elements: block 256, grid min(ceil(n / 256), 65535).</summary>
    internal void LaunchElementwise(string module, string name, long n, ReadOnlySpan<KernelArg> args)
    {
        if (n == 0)
        {
            return;
        }
        var blocks = (uint)Math.Min((n + ElementwiseBlock - 1) / ElementwiseBlock, MaxGridX);
        Driver.Launch(Kernel(module, name), new Dim3(blocks), new Dim3(ElementwiseBlock), 0, args);
    }

    /// <summary>A warp-per-row kernel: 4 rows per 128-thread block.</summary>
    internal void LaunchRows(string module, string name, int rows, ReadOnlySpan<KernelArg> args)
    {
        if (rows == 0)
        {
            return;
        }
        var blocks = (uint)((rows + RowsPerBlock - 1) / RowsPerBlock);
        Driver.Launch(Kernel(module, name), new Dim3(blocks), new Dim3(32 * RowsPerBlock), 0, args);
    }

    /// <summary>Rows and columns of a tensor seen as [rows, last axis].</summary>
    internal static (int Rows, int Cols) RowsCols(Tensor t)
    {
        var cols = t.Rank == 0 ? 1 : t.Shape[^1];
        return (cols == 0 ? 0 : (int)(t.Numel / cols), cols);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        DisposeStaging();
        Pool.Dispose();
        cublas?.Dispose();
        if (ownsDriver)
        {
            Driver.Dispose();
        }
    }
}
