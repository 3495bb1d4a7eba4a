// Raw CUDA driver API (libcuda.so.1) entry points as unmanaged function pointers, signatures as in cuda.h.
using System.Runtime.InteropServices;

namespace VcpNative.Tensors.Cuda.Driver;

internal sealed unsafe class CudaApi
{
    public const string LibraryName = "libcuda.so.1";

    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const uint CU_STREAM_NON_BLOCKING = 0x1;
    public const uint CU_EVENT_DISABLE_TIMING = 0x2;
    public const int CU_JIT_INFO_LOG_BUFFER = 3;
    public const int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    public const int CU_JIT_ERROR_LOG_BUFFER = 5;
    public const int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    // CUresult is an int enum; CUdevice an int; CUcontext/CUmodule/CUfunction/CUstream/CUevent are pointers;
    // CUdeviceptr is an unsigned 64-bit integer; size_t is nuint.
    public readonly delegate* unmanaged<uint, int> cuInit;
    public readonly delegate* unmanaged<int*, int> cuDriverGetVersion;
    public readonly delegate* unmanaged<int*, int> cuDeviceGetCount;
    public readonly delegate* unmanaged<int*, int, int> cuDeviceGet;
    public readonly delegate* unmanaged<byte*, int, int, int> cuDeviceGetName;
    public readonly delegate* unmanaged<int*, int, int, int> cuDeviceGetAttribute;
    public readonly delegate* unmanaged<nuint*, int, int> cuDeviceTotalMem_v2;
    public readonly delegate* unmanaged<nint*, uint, int, int> cuCtxCreate_v2;
    public readonly delegate* unmanaged<nint, int> cuCtxDestroy_v2;
    public readonly delegate* unmanaged<nint, int> cuCtxSetCurrent;
    public readonly delegate* unmanaged<nint*, int> cuCtxGetCurrent;
    public readonly delegate* unmanaged<int> cuCtxSynchronize;
    public readonly delegate* unmanaged<ulong*, nuint, int> cuMemAlloc_v2;
    public readonly delegate* unmanaged<ulong, int> cuMemFree_v2;
    public readonly delegate* unmanaged<ulong, void*, nuint, int> cuMemcpyHtoD_v2;
    public readonly delegate* unmanaged<void*, ulong, nuint, int> cuMemcpyDtoH_v2;
    public readonly delegate* unmanaged<ulong, ulong, nuint, int> cuMemcpyDtoD_v2;
    public readonly delegate* unmanaged<ulong, byte, nuint, int> cuMemsetD8_v2;
    public readonly delegate* unmanaged<void**, nuint, uint, int> cuMemHostAlloc;
    public readonly delegate* unmanaged<void*, int> cuMemFreeHost;
    public readonly delegate* unmanaged<ulong, void*, nuint, nint, int> cuMemcpyHtoDAsync_v2;
    public readonly delegate* unmanaged<nint*, uint, int> cuStreamCreate;
    public readonly delegate* unmanaged<nint, nint, uint, int> cuStreamWaitEvent;
    public readonly delegate* unmanaged<nint, int> cuStreamDestroy_v2;
    public readonly delegate* unmanaged<nint, int> cuStreamSynchronize;
    public readonly delegate* unmanaged<nint*, uint, int> cuEventCreate;
    public readonly delegate* unmanaged<nint, nint, int> cuEventRecord;
    public readonly delegate* unmanaged<nint, int> cuEventSynchronize;
    public readonly delegate* unmanaged<float*, nint, nint, int> cuEventElapsedTime;
    public readonly delegate* unmanaged<nint, int> cuEventDestroy_v2;
    public readonly delegate* unmanaged<nint*, void*, uint, int*, void**, int> cuModuleLoadDataEx;
    public readonly delegate* unmanaged<nint*, nint, byte*, int> cuModuleGetFunction;
    public readonly delegate* unmanaged<nint, int> cuModuleUnload;
    public readonly delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> cuLaunchKernel;
    public readonly delegate* unmanaged<int, byte**, int> cuGetErrorName;
    public readonly delegate* unmanaged<int, byte**, int> cuGetErrorString;

    private CudaApi(nint lib)
    {
        nint E(string s) => NativeLibraryLoader.Export(lib, LibraryName, s);
        cuInit = (delegate* unmanaged<uint, int>)E("cuInit");
        cuDriverGetVersion = (delegate* unmanaged<int*, int>)E("cuDriverGetVersion");
        cuDeviceGetCount = (delegate* unmanaged<int*, int>)E("cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, int>)E("cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)E("cuDeviceGetName");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)E("cuDeviceGetAttribute");
        cuDeviceTotalMem_v2 = (delegate* unmanaged<nuint*, int, int>)E("cuDeviceTotalMem_v2");
        cuCtxCreate_v2 = (delegate* unmanaged<nint*, uint, int, int>)E("cuCtxCreate_v2");
        cuCtxDestroy_v2 = (delegate* unmanaged<nint, int>)E("cuCtxDestroy_v2");
        cuCtxSetCurrent = (delegate* unmanaged<nint, int>)E("cuCtxSetCurrent");
        cuCtxGetCurrent = (delegate* unmanaged<nint*, int>)E("cuCtxGetCurrent");
        cuCtxSynchronize = (delegate* unmanaged<int>)E("cuCtxSynchronize");
        cuMemAlloc_v2 = (delegate* unmanaged<ulong*, nuint, int>)E("cuMemAlloc_v2");
        cuMemFree_v2 = (delegate* unmanaged<ulong, int>)E("cuMemFree_v2");
        cuMemcpyHtoD_v2 = (delegate* unmanaged<ulong, void*, nuint, int>)E("cuMemcpyHtoD_v2");
        cuMemcpyDtoH_v2 = (delegate* unmanaged<void*, ulong, nuint, int>)E("cuMemcpyDtoH_v2");
        cuMemcpyDtoD_v2 = (delegate* unmanaged<ulong, ulong, nuint, int>)E("cuMemcpyDtoD_v2");
        cuMemsetD8_v2 = (delegate* unmanaged<ulong, byte, nuint, int>)E("cuMemsetD8_v2");
        cuMemHostAlloc = (delegate* unmanaged<void**, nuint, uint, int>)E("cuMemHostAlloc");
        cuMemFreeHost = (delegate* unmanaged<void*, int>)E("cuMemFreeHost");
        cuMemcpyHtoDAsync_v2 = (delegate* unmanaged<ulong, void*, nuint, nint, int>)E("cuMemcpyHtoDAsync_v2");
        cuStreamCreate = (delegate* unmanaged<nint*, uint, int>)E("cuStreamCreate");
        cuStreamWaitEvent = (delegate* unmanaged<nint, nint, uint, int>)E("cuStreamWaitEvent");
        cuStreamDestroy_v2 = (delegate* unmanaged<nint, int>)E("cuStreamDestroy_v2");
        cuStreamSynchronize = (delegate* unmanaged<nint, int>)E("cuStreamSynchronize");
        cuEventCreate = (delegate* unmanaged<nint*, uint, int>)E("cuEventCreate");
        cuEventRecord = (delegate* unmanaged<nint, nint, int>)E("cuEventRecord");
        cuEventSynchronize = (delegate* unmanaged<nint, int>)E("cuEventSynchronize");
        cuEventElapsedTime = (delegate* unmanaged<float*, nint, nint, int>)E("cuEventElapsedTime");
        cuEventDestroy_v2 = (delegate* unmanaged<nint, int>)E("cuEventDestroy_v2");
        cuModuleLoadDataEx = (delegate* unmanaged<nint*, void*, uint, int*, void**, int>)E("cuModuleLoadDataEx");
        cuModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)E("cuModuleGetFunction");
        cuModuleUnload = (delegate* unmanaged<nint, int>)E("cuModuleUnload");
        cuLaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)E("cuLaunchKernel");
        cuGetErrorName = (delegate* unmanaged<int, byte**, int>)E("cuGetErrorName");
        cuGetErrorString = (delegate* unmanaged<int, byte**, int>)E("cuGetErrorString");
    }

    private static CudaApi? _instance;

    /// <summary>The process-wide binding, or CudaUnavailableException when libcuda.so.1 cannot be loaded.</summary>
    public static CudaApi Load()
    {
        if (_instance is not null) return _instance;
        if (!NativeLibraryLoader.TryLoad("libcuda", [LibraryName, "libcuda.so"], NativeLibraryLoader.CudaFolders("cuda_runtime"), out nint lib, out var search))
            throw new CudaUnavailableException($"{LibraryName} not found: no NVIDIA driver on this machine (tried {string.Join(", ", search.Tried)}); use the cpu or emulated device");
        Search = search;
        return _instance = new CudaApi(lib);
    }

    /// <summary>Where libcuda was loaded from (null before the first <see cref="Load"/>).</summary>
    public static NativeLibrarySearch? Search { get; private set; }

    public void Check(int result, string call, string? detail = null)
    {
        if (result == 0) return;
        byte* name = null;
        string codeName = cuGetErrorName(result, &name) == 0 && name != null ? Marshal.PtrToStringUTF8((nint)name) ?? "?" : "CUDA_ERROR_UNKNOWN";
        byte* text = null;
        string description = cuGetErrorString(result, &text) == 0 && text != null ? Marshal.PtrToStringUTF8((nint)text) ?? "" : "";
        string full = detail is null ? description : $"{description}; {detail}";
        throw new CudaException(call, result, codeName, full.Replace('\n', ' ').Trim());
    }
}
