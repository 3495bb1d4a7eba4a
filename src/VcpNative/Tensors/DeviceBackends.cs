// Creates the backend for a device name (cpu, cuda, emulated): the one switch behind --device and DetectorOptions.Device.
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Driver;
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Tensors;

/// <summary>Backends by device name.</summary>
public static class DeviceBackends
{
    /// <summary>The device names <see cref="Create"/> accepts.</summary>
    public static readonly string[] Names = ["cpu", "cuda", "emulated"];

    /// <summary>
    /// The CPU (shared singleton), a GPU through libcuda (<see cref="CudaUnavailableException"/> when there is no driver
    /// or device), or the same GPU backend over the PTX emulator. A GPU backend is new and owned by the caller; with
    /// <paramref name="bf16"/> its matmuls and attention run on bf16 tensor cores (the CPU has no such mode: refused).
    /// </summary>
    public static IBackend Create(string device, bool useCublas = true, bool bf16 = false)
    {
        if (bf16 && device == "cpu")
        {
            throw new ArgumentException("bf16 runs matmuls and attention on GPU tensor cores: choose the cuda or emulated device (the CPU computes in fp32)");
        }
        return device switch
        {
            "cpu" => CpuBackend.Instance,
            "cuda" => new GpuBackend(new CudaDriver(), ownsDriver: true, useCublas) { MatMulPrecision = Precision(bf16) },
            "emulated" => new GpuBackend(new PtxEmulator(), ownsDriver: true) { MatMulPrecision = Precision(bf16) },
            _ => throw new ArgumentException($"device '{device}': expected {string.Join(", ", Names)}"),
        };
    }

    private static MatMulPrecision Precision(bool bf16) => bf16 ? MatMulPrecision.Bf16TensorCores : MatMulPrecision.Fp32;
}
