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

    public string MatMulPath => MatMulPrecision == MatMulPrecision.Bf16TensorCores
        ? "bf16 tensor cores (gemm_tc)"
        : UsesCublas ? "cuBLAS fp32" : "gemm_f32 kernel";

    public void Synchronize() => Driver.Synchronize();

    public DeviceMemoryUse Memory => new(Pool.AllocatedBytes, Pool.PeakAllocatedBytes, Driver.Device.TotalMemoryBytes);

    public void ResetPeakMemory() => Pool.ResetPeak();
}
