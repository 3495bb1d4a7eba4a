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
    /// or device), or the same GPU backend over the PTX emulator. A GPU backend is new and owned by the caller.
    /// </summary>
    public static IBackend Create(string device, bool useCublas = true) => device switch
    {
        "cpu" => CpuBackend.Instance,
        "cuda" => new GpuBackend(new CudaDriver(), ownsDriver: true, useCublas),
        "emulated" => new GpuBackend(new PtxEmulator(), ownsDriver: true),
        _ => throw new ArgumentException($"--device {device}: expected cpu, cuda or emulated"),
    };
}
