// Options every vcp-native command accepts: threads, device, verbosity.
using System.CommandLine;
using VcpNative.Tensors.Cpu;

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

    /// <summary>The backend named by --device; the GPU backends are refused with a clear line until they exist.</summary>
    public static VcpNative.Tensors.IBackend ResolveBackend(ParseResult parse)
    {
        var device = parse.GetValue(Device) ?? "cpu";
        return device switch
        {
            "cpu" => CpuBackend.Instance,
            _ => throw new NotSupportedException($"--device {device}: this build runs models on the CPU backend only so far; use --device cpu"),
        };
    }
}
