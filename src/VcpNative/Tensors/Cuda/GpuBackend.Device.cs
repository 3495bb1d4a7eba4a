// GpuBackend as an IDeviceBackend: stage-accurate timing (synchronise) and device memory for benchmarks and reports.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend : IDeviceBackend
{
    public string DeviceDescription
    {
        get
        {
            var d = Driver.Device;
            return $"{d.Name} (sm_{d.ComputeCapabilityMajor}{d.ComputeCapabilityMinor}, {d.MultiprocessorCount} SMs)";
        }
    }

    public string MatMulPath => (MatMulPrecision, UsesCublas) switch
    {
        (MatMulPrecision.Bf16TensorCores, true) => "cuBLAS bf16 (inputs rounded to bf16, fp32 accumulation)",
        (MatMulPrecision.Bf16TensorCores, false) => "bf16 tensor cores (gemm_tc)",
        (_, true) => "cuBLAS fp32",
        _ => "gemm_f32 kernel",
    };

    public void Synchronize() => Driver.Synchronize();

    public DeviceMemoryUse Memory => new(Pool.AllocatedBytes, Pool.PeakAllocatedBytes, Driver.Device.TotalMemoryBytes);

    public void ResetPeakMemory() => Pool.ResetPeak();
}
