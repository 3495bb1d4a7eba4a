// cuBLAS entry points (libcublas.so.13/.12/.11) as unmanaged function pointers, and a row-major strided-batched GEMM.
namespace VcpNative.Tensors.Cuda.Driver;

/// <summary>Element type of GEMM operands (cudaDataType_t values).</summary>
public enum GemmDataType
{
    /// <summary>CUDA_R_32F.</summary>
    Float32 = 0,   // CUDA_R_32F
    /// <summary>CUDA_R_16F.</summary>
    Float16 = 2,   // CUDA_R_16F
    /// <summary>CUDA_R_16BF.</summary>
    BFloat16 = 14, // CUDA_R_16BF
}

/// <summary>Accumulation mode (cublasComputeType_t values); all accumulate in fp32.</summary>
public enum GemmCompute
{
    /// <summary>CUBLAS_COMPUTE_32F: full fp32.</summary>
    Float32 = 68,        // CUBLAS_COMPUTE_32F
    /// <summary>CUBLAS_COMPUTE_32F_FAST_TF32: tensor cores, inputs rounded to TF32.</summary>
    Float32FastTf32 = 77, // CUBLAS_COMPUTE_32F_FAST_TF32: tensor cores, inputs rounded to TF32
    /// <summary>CUBLAS_COMPUTE_32F_FAST_16F: tensor cores, inputs rounded to fp16.</summary>
    Float32Fast16F = 74,  // CUBLAS_COMPUTE_32F_FAST_16F
    /// <summary>CUBLAS_COMPUTE_32F_FAST_16BF: tensor cores, inputs rounded to bf16.</summary>
    Float32Fast16BF = 75, // CUBLAS_COMPUTE_32F_FAST_16BF
}

/// <summary>A cuBLAS handle (libcublas loaded at run time) that runs GEMMs on the driver's stream.</summary>
public sealed unsafe class Cublas : IDisposable
{
    private const int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_GEMM_DEFAULT = -1;
    private const int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;

    private readonly delegate* unmanaged<nint*, int> _create;
    private readonly delegate* unmanaged<nint, int> _destroy;
    private readonly delegate* unmanaged<nint, nint, int> _setStream;
    private readonly delegate* unmanaged<nint, int, int> _setMathMode;
    private readonly delegate* unmanaged<nint, int, int, int, int, int, void*, ulong, int, int, long, ulong, int, int, long, void*, ulong, int, int, long, int, int, int, int> _gemmStridedBatchedEx;
    private nint _handle;

    /// <summary>Newest first: CUDA 13, 12, 11, then an unversioned development link.</summary>
    private static readonly string[] Names = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"];

    /// <summary>The file (or soname) the library was loaded from.</summary>
    public string LibraryName { get; }

    /// <summary>How the library was found: where, and everything tried before it.</summary>
    public NativeLibrarySearch Search { get; }

    /// <summary>Needs a current CUDA context (create the <see cref="CudaDriver"/> first).</summary>
    public Cublas(bool allowTf32 = false)
    {
        if (!NativeLibraryLoader.TryLoad("libcublas", Names, NativeLibraryLoader.CudaFolders("cublas"), out nint lib, out var search,
                                         companion: n => n.Replace("libcublas.", "libcublasLt.", StringComparison.Ordinal)))
            throw new CudaUnavailableException($"libcublas not found (tried {string.Join(", ", search.Tried)}; add its folder to {NativeLibraryLoader.PathVariable}): install the CUDA runtime libraries or use --gpu-matmul kernel");
        Search = search;
        string name = LibraryName = search.LoadedFrom!;
        nint E(string s) => NativeLibraryLoader.Export(lib, name, s);
        _create = (delegate* unmanaged<nint*, int>)E("cublasCreate_v2");
        _destroy = (delegate* unmanaged<nint, int>)E("cublasDestroy_v2");
        _setStream = (delegate* unmanaged<nint, nint, int>)E("cublasSetStream_v2");
        _setMathMode = (delegate* unmanaged<nint, int, int>)E("cublasSetMathMode");
        _gemmStridedBatchedEx = (delegate* unmanaged<nint, int, int, int, int, int, void*, ulong, int, int, long, ulong, int, int, long, void*, ulong, int, int, long, int, int, int, int>)E("cublasGemmStridedBatchedEx");
        nint h;
        Check(_create(&h), "cublasCreate_v2");
        _handle = h;
        Check(_setMathMode(_handle, allowTf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    }

    /// <summary>Makes later cuBLAS calls run on <paramref name="stream"/> (a CUstream).</summary>
    public void SetStream(nint stream) => Check(_setStream(_handle, stream), "cublasSetStream_v2");

    /// <summary>
    /// Row-major C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] (op(A): M x K, op(B): K x N, C: M x N, strides in elements).
    /// cuBLAS is column-major: a row-major matrix is its transpose in column-major, so we compute C^T = op(B)^T op(A)^T
    /// by swapping the operands (and M with N) and keeping each operand's transpose flag.
    /// </summary>
    public void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
                                   DevicePtr a, GemmDataType aType, int lda, long strideA,
                                   DevicePtr b, GemmDataType bType, int ldb, long strideB, float beta,
                                   DevicePtr c, GemmDataType cType, int ldc, long strideC, int batch, GemmCompute compute)
    {
        if (compute == GemmCompute.Float32FastTf32 && (aType != GemmDataType.Float32 || bType != GemmDataType.Float32))
            throw new ArgumentException("TF32 compute needs fp32 inputs");
        int status = _gemmStridedBatchedEx(_handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
            &alpha, b.Address, (int)bType, ldb, strideB, a.Address, (int)aType, lda, strideA,
            &beta, c.Address, (int)cType, ldc, strideC, batch, (int)compute, CUBLAS_GEMM_DEFAULT);
        Check(status, "cublasGemmStridedBatchedEx");
    }

    private static void Check(int status, string call)
    {
        if (status == 0) return;
        string name = status switch
        {
            1 => "CUBLAS_STATUS_NOT_INITIALIZED", 3 => "CUBLAS_STATUS_ALLOC_FAILED", 7 => "CUBLAS_STATUS_INVALID_VALUE",
            8 => "CUBLAS_STATUS_ARCH_MISMATCH", 11 => "CUBLAS_STATUS_MAPPING_ERROR", 13 => "CUBLAS_STATUS_EXECUTION_FAILED",
            14 => "CUBLAS_STATUS_INTERNAL_ERROR", 15 => "CUBLAS_STATUS_NOT_SUPPORTED", 16 => "CUBLAS_STATUS_LICENSE_ERROR",
            _ => "CUBLAS_STATUS_UNKNOWN",
        };
        throw new CudaException(call, status, name);
    }

    /// <summary>Destroys the cuBLAS handle.</summary>
    public void Dispose()
    {
        if (_handle != 0) _destroy(_handle);
        _handle = 0;
    }
}
