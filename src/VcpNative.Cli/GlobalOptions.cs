// Options every vcp-native command accepts: threads, device, verbosity.
using System.CommandLine;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Driver;
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Cli;

/// <summary>The global (recursive) options and how they configure the runtime.</summary>
public static class GlobalOptions
{
    public static readonly Option<int> Threads = new("--threads")
    {
        Description = "CPU threads for tensor ops (default: number of cores)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public static readonly Option<string> Device = new("--device")
    {
        Description = "Backend: cpu, cuda (NVIDIA GPU through libcuda), emulated (the PTX emulator)",
        Recursive = true,
        DefaultValueFactory = _ => "cpu",
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print stack traces and extra diagnostics",
        Recursive = true,
    };

    static GlobalOptions()
    {
        Device.AcceptOnlyFromAmong("cpu", "cuda", "emulated");
        Threads.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--threads must be at least 1");
            }
        });
    }

    public static void Apply(ParseResult parse)
    {
        CpuParallel.Threads = parse.GetValue(Threads);
    }

    /// <summary>
    /// The backend named by --device: the CPU, a GPU through libcuda (CudaUnavailableException, one line, when there is
    /// no driver or device), or the same GPU backend over the PTX emulator. GPU backends live until the process ends.
    /// </summary>
    public static VcpNative.Tensors.IBackend ResolveBackend(ParseResult parse) => ResolveBackend(parse.GetValue(Device) ?? "cpu");

    public static VcpNative.Tensors.IBackend ResolveBackend(string device) => device switch
    {
        "cpu" => CpuBackend.Instance,
        "cuda" => new GpuBackend(new CudaDriver(), ownsDriver: true),
        "emulated" => new GpuBackend(new PtxEmulator(), ownsDriver: true),
        _ => throw new ArgumentException($"--device {device}: expected cpu, cuda or emulated"),
    };
}
