// Options every vcp-native command accepts: threads, device, GPU precision, verbosity.
using System.CommandLine;
using VcpNative.Tensors;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Driver;

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

    public static readonly Option<string> Precision = new("--precision")
    {
        Description = "GPU matmul and attention arithmetic: fp32, or bf16 (tensor cores: inputs rounded to bf16, fp32 accumulation; --device cuda|emulated)",
        Recursive = true,
        DefaultValueFactory = _ => "fp32",
    };

    public static readonly Option<string> GpuMatMul = new("--gpu-matmul")
    {
        Description = "fp32 matmuls on --device cuda: cublas (libcublas when it loads, else our kernel) or kernel (our gemm_f32 always); the emulator always runs the kernel",
        Recursive = true,
        DefaultValueFactory = _ => "cublas",
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print stack traces and extra diagnostics",
        Recursive = true,
    };

    static GlobalOptions()
    {
        Device.AcceptOnlyFromAmong("cpu", "cuda", "emulated");
        Precision.AcceptOnlyFromAmong("fp32", "bf16");
        GpuMatMul.AcceptOnlyFromAmong("cublas", "kernel");
        Threads.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--threads must be at least 1");
            }
        });
    }

    /// <summary>
    /// The backend named by --device: the CPU, a GPU through libcuda (CudaUnavailableException, one line, when there is
    /// no driver or device), or the same GPU backend over the PTX emulator. GPU backends live until the process ends.
    /// </summary>
    public static IBackend ResolveBackend(ParseResult parse) => ResolveBackend(parse, parse.GetValue(Device) ?? "cpu");

    /// <summary>As <see cref="ResolveBackend(ParseResult)"/> with the device chosen by the command (e.g. GPU-only tools).</summary>
    public static IBackend ResolveBackend(ParseResult parse, string device)
    {
        var bf16 = parse.GetValue(Precision) == "bf16";
        if (bf16 && device == "cpu")
        {
            throw new UsageException("--precision bf16 runs matmuls and attention on GPU tensor cores: use it with --device cuda or emulated (the CPU computes in fp32; for smaller CPU weights see convert --weights-format)");
        }
        var kernelMatMul = parse.GetValue(GpuMatMul) == "kernel";
        if (kernelMatMul && device == "cpu")
        {
            throw new UsageException("--gpu-matmul kernel chooses the GPU's fp32 matmul: use it with --device cuda or emulated");
        }
        var backend = DeviceBackends.Create(device, useCublas: !kernelMatMul, bf16);
        if (parse.GetValue(Verbose) && backend is GpuBackend { Driver.Device.IsEmulated: false } real)
        {
            // --verbose: where the CUDA libraries came from and everything searched before them.
            foreach (var search in new[] { CudaDriver.LibrarySearch, real.CublasSearch })
            {
                if (search is not null)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"{search.Describe()} (searched: {string.Join(", ", search.Tried)})");
                }
            }
            if (real.CublasUnavailableReason is { } reason)
            {
                parse.InvocationConfiguration.Error.WriteLine("libcublas: not used: " + reason);
            }
        }
        return backend;
    }
}
