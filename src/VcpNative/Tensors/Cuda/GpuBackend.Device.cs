// GpuBackend as an IDeviceBackend: stage-accurate timing (synchronise) and device memory for benchmarks and reports.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend : IDeviceBackend
{
    /// <inheritdoc/>
    public string DeviceDescription
    {
        get
        {
            var d = Driver.Device;
            return $"{d.Name} (sm_{d.ComputeCapabilityMajor}{d.ComputeCapabilityMinor}, {d.MultiprocessorCount} SMs)";
        }
    }

    /// <inheritdoc/>
    public string MatMulPath => (MatMulPrecision, UsesCublas) switch
    {
        (MatMulPrecision.Bf16TensorCores, true) => "cuBLAS bf16 (inputs rounded to bf16, fp32 accumulation)",
        (MatMulPrecision.Bf16TensorCores, false) => "bf16 tensor cores (gemm_tc)",
        (_, true) => "cuBLAS fp32",
        _ => "gemm_f32 kernel",
    };

    /// <inheritdoc/>
    public void Synchronize() => Driver.Synchronize();

    /// <inheritdoc/>
    public DeviceMemoryUse Memory => new(Pool.AllocatedBytes, Pool.PeakAllocatedBytes, Driver.Device.TotalMemoryBytes);

    /// <inheritdoc/>
    public void ResetPeakMemory() => Pool.ResetPeak();
}
