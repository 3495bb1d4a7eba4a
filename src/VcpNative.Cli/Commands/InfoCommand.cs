// `vcp-native info`: version, SIMD support and thread settings of this machine.
using System.CommandLine;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Cli.Commands;

public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print version, CPU SIMD support and backend settings");
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"vcp-native {typeof(InfoCommand).Assembly.GetName().Version?.ToString(3)}");
            o.WriteLine($"runtime     .NET {Environment.Version} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription} ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture})");
            o.WriteLine($"cores       {Environment.ProcessorCount}; threads {CpuParallel.Threads}");
            o.WriteLine($"simd        Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}, Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, AVX2 {(Avx2.IsSupported ? "yes" : "no")}, FMA {(Fma.IsSupported ? "yes" : "no")}, AVX-512 {(Avx512F.IsSupported ? "yes" : "no")}, Vector128 {(Vector128.IsHardwareAccelerated ? "yes" : "no")}, AdvSimd {(AdvSimd.Arm64.IsSupported ? "yes" : "no")}");
            // Which executable runs and why (NativeAOT fixes its SIMD support when it compiles; see NativeBuild).
            var executable = NativeBuild.IsNativeAot ? Environment.ProcessPath : Path.Combine(AppContext.BaseDirectory, "vcp-native.dll");
            o.WriteLine($"build       {NativeBuild.Name} ({executable}): {NativeBuild.Reason}");
            o.WriteLine($"cpu gemm    {Sgemm.KernelName}");
            o.WriteLine($"device      {parse.GetValue(GlobalOptions.Device)}");
            if (parse.GetValue(GlobalOptions.Device) is "cuda" or "emulated")
            {
                // Opening the device proves the driver, the context and the PTX path work; errors are one line as usual.
                using var gpu = (VcpNative.Tensors.Cuda.GpuBackend)GlobalOptions.ResolveBackend(parse);
                var d = gpu.Driver.Device;
                o.WriteLine($"gpu         {d.Name}, sm_{d.ComputeCapabilityMajor}{d.ComputeCapabilityMinor}, {d.MultiprocessorCount} SMs, {d.TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB");
                o.WriteLine($"gpu matmul  {(gpu.UsesCublas ? "cuBLAS (fp32)" : "gemm_f32 kernel")}, precision {gpu.MatMulPrecision}");
                foreach (var line in KernelsCommand.GpuLibraries(gpu))
                {
                    o.WriteLine("library     " + line);
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
