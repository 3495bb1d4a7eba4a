// A backend capability: work that completes asynchronously on a device with its own memory (a GPU).
namespace VcpNative.Tensors;

/// <summary>Device memory as the backend sees it: what it holds now and at most since the last reset, and the device's size.</summary>
public readonly record struct DeviceMemoryUse(long AllocatedBytes, long PeakAllocatedBytes, long TotalBytes);

/// <summary>
/// Implemented by backends whose ops only queue work on a device (GpuBackend). Backend-neutral code tests
/// <c>backend is IDeviceBackend</c>: to time stages truly (wait at each boundary) and to report device memory.
/// </summary>
public interface IDeviceBackend
{
    /// <summary>The device, e.g. "NVIDIA H200 (sm_90, 132 SMs)".</summary>
    string DeviceDescription { get; }

    /// <summary>How matmuls run, e.g. "cuBLAS fp32", "gemm_f32 kernel", "bf16 tensor cores (gemm_tc)".</summary>
    string MatMulPath { get; }

    /// <summary>Blocks until every operation issued so far has finished on the device.</summary>
    void Synchronize();

    /// <summary>
    /// Tensor memory the backend has taken from the device (its buffer pool's high-water mark, the weights included;
    /// not the CUDA context, cuBLAS workspaces or upload staging).
    /// </summary>
    DeviceMemoryUse Memory { get; }

    /// <summary>Starts a new peak from what is allocated now.</summary>
    void ResetPeakMemory();
}
