// `vcp-native kernels verify`: every kernel-backed op on a GPU backend (emulated or real) against the CPU backend;
// `vcp-native kernels profile`: emulator counters, occupancy and a roofline estimate for one kernel on a named GPU.
using System.CommandLine;
using System.Diagnostics;
using VcpNative.Tensors;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Profiling;
using VcpNative.Verification;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Runs <see cref="KernelVerification.Cases"/> on the device and on the CPU, prints one aligned row per case
/// (op, shape, max |gpu - cpu|, pass/fail) and the ops still on the host fallback; exit 1 on any failure.
/// </summary>
public static class KernelsCommand
{
    public static Command Create()
    {
        var verify = new Command("verify", "Compare every kernel-backed op on the GPU backend with the CPU backend (--device emulated, the default here, or cuda)");
        verify.SetAction(parse =>
        {
            // --device defaults to cpu globally; verify compares a GPU backend with the CPU, so cpu means the emulator here.
            var device = parse.GetValue(GlobalOptions.Device) is "cuda" ? "cuda" : "emulated";
            var gpu = (GpuBackend)GlobalOptions.ResolveBackend(parse, device);
            try
            {
                return Verify(gpu, parse.InvocationConfiguration.Output);
            }
            finally
            {
                gpu.Dispose();
            }
        });
        var command = new Command("kernels", "CUDA kernel tools");
        command.Add(verify);
        command.Add(CreateProfile());
        command.Add(KernelsParityCommand.Create());
        command.Add(KernelsRegistersCommand.Create());
        command.Add(KernelsBenchCommand.Create());
        return command;
    }

    private static Command CreateProfile()
    {
        var names = string.Join(", ", KernelProfiler.Targets.Select(t => t.Name));
        var kernel = new Argument<string>("kernel") { Description = $"Kernel or op to profile: {names}" };
        var shape = new Option<string?>("--shape") { Description = "Problem shape, e.g. 1370x1024x1024 (M x N x K) for gemm; default per kernel" };
        var gpu = new Option<string>("--gpu") { Description = "GPU for occupancy and the roofline estimate: a100, h100, orin", DefaultValueFactory = _ => "h100" };
        gpu.AcceptOnlyFromAmong("a100", "h100", "orin");
        var trans = new Option<string>("--trans")
        {
            Description = "gemm/gemm_tc operand layouts: nn (A [M,K], B [K,N]), tn (A^T of a [K,M] tensor), nt (B^T of [N,K], the linear-layer weight), tt",
            DefaultValueFactory = _ => "nn",
        };
        trans.AcceptOnlyFromAmong("nn", "nt", "tn", "tt");
        var profile = new Command("profile", "Run one kernel on the PTX emulator with counters: instruction mix, global traffic, bank conflicts, divergence, occupancy, roofline time")
        {
            kernel, shape, gpu, trans,
        };
        profile.SetAction(parse =>
        {
            var target = KernelProfiler.Find(parse.GetValue(kernel)!);
            var layout = parse.GetValue(trans)!;
            if (layout != "nn")
            {
                target = target.Transposed?.Invoke(layout[0] == 't', layout[1] == 't')
                    ?? throw new UsageException($"--trans {layout}: only gemm and gemm_tc take operand layouts, not {target.Name}");
            }
            var dims = KernelProfiler.ParseShape(target, parse.GetValue(shape));
            var report = KernelProfiler.Profile(target, dims, GpuSpec.Parse(parse.GetValue(gpu)!));
            parse.InvocationConfiguration.Output.Write(KernelProfiler.Format(report));
            return ExitCodes.Ok;
        });
        return profile;
    }

    /// <summary>Where libcuda and libcublas were loaded from, or why cuBLAS is not used (real GPUs only).</summary>
    public static IEnumerable<string> GpuLibraries(GpuBackend gpu)
    {
        if (gpu.Driver.Device.IsEmulated)
        {
            yield break;
        }
        if (VcpNative.Tensors.Cuda.Driver.CudaDriver.LibrarySearch is { } cuda)
        {
            yield return cuda.Describe();
        }
        if (gpu.CublasSearch is { } cublas)
        {
            yield return cublas.Describe();
        }
        else if (gpu.CublasUnavailableReason is { } reason)
        {
            yield return "libcublas: not used: " + reason;
        }
    }

    public static int Verify(GpuBackend gpu, TextWriter o)
    {
        o.WriteLine($"device: {gpu.Driver.Device.Name}; matmul: {(gpu.UsesCublas ? "cuBLAS" : "gemm_f32 kernel")}");
        foreach (var line in GpuLibraries(gpu))
        {
            o.WriteLine(line);
        }
        var rows = new List<string[]> { new[] { "op", "shape", "kernels", "max |gpu-cpu|", "tolerance", "result" } };
        var failed = 0;
        var clock = Stopwatch.StartNew();
        foreach (var c in KernelVerification.Cases)
        {
            var r = KernelVerification.Check(c, gpu);
            failed += r.Passed ? 0 : 1;
            rows.Add([c.Op, c.Shape, c.Kernels, r.MaxAbsError.ToString("E2"), $"{c.Atol:G2}+{c.Rtol:G2}|x|", r.Passed ? "pass" : "FAIL"]);
            if (!r.Passed)
            {
                rows.Add(["", "", "  -> " + r.Failure, "", "", ""]);
            }
        }
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        foreach (var row in rows)
        {
            o.WriteLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }
        o.WriteLine();
        o.WriteLine($"{KernelVerification.Cases.Count - failed} passed, {failed} failed in {clock.Elapsed.TotalSeconds:F1} s; kernels launched: {gpu.KernelsUsed.Count}");
        o.WriteLine($"ops still on the host fallback (CpuBackend kernels with device<->host copies): {string.Join(", ", GpuBackend.HostFallbackOps)}");
        foreach (var partial in GpuBackend.PartialHostFallbackOps)
        {
            o.WriteLine($"  partly on the host: {partial}");
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failure;
    }
}
