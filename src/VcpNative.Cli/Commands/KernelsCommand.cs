// `vcp-native kernels verify`: every kernel-backed op on a GPU backend (emulated or real) against the CPU backend.
using System.CommandLine;
using System.Diagnostics;
using VcpNative.Tensors;
using VcpNative.Tensors.Cuda;

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
            var gpu = (GpuBackend)GlobalOptions.ResolveBackend(device);
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
        return command;
    }

    public static int Verify(GpuBackend gpu, TextWriter o)
    {
        o.WriteLine($"device: {gpu.Driver.Device.Name}; matmul: {(gpu.UsesCublas ? "cuBLAS" : "gemm_f32 kernel")}");
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
