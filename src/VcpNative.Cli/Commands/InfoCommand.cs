// `vcp-native info`: version, SIMD support and thread settings of this machine.
using System.CommandLine;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using VcpNative.Anomaly.Methods;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Cli.Commands;

public static class InfoCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "A weight file to describe instead (format, CLIP or heads, method, architecture, training metadata, tensors and dtypes)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("info", "Print version, CPU SIMD support and backend settings, or describe a weight file") { file };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(file) is string path)
            {
                return DescribeWeights(path, o);
            }
            o.WriteLine($"vcp-native {typeof(InfoCommand).Assembly.GetName().Version?.ToString(3)}");
            o.WriteLine($"runtime     .NET {Environment.Version} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription} ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture})");
            o.WriteLine($"cores       {Environment.ProcessorCount}; threads {CpuParallel.Threads}");
            o.WriteLine($"simd        Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}, Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, AVX2 {(Avx2.IsSupported ? "yes" : "no")}, FMA {(Fma.IsSupported ? "yes" : "no")}, AVX-512 {(Avx512F.IsSupported ? "yes" : "no")}, Vector128 {(Vector128.IsHardwareAccelerated ? "yes" : "no")}, AdvSimd {(AdvSimd.Arm64.IsSupported ? "yes" : "no")}");
            // Which executable runs and why (NativeAOT fixes its SIMD support when it compiles; see NativeBuild).
            var executable = NativeBuild.IsNativeAot ? Environment.ProcessPath : Path.Combine(AppContext.BaseDirectory, "vcp-native.dll");
            o.WriteLine($"build       {NativeBuild.Name} ({executable}): {NativeBuild.Reason}");
            o.WriteLine($"cpu gemm    {Sgemm.KernelName} ({Sgemm.KernelBlocking})");
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

    /// <summary>`info FILE`: what the file holds, read from its index and metadata (no tensor data is read).</summary>
    private static int DescribeWeights(string path, TextWriter o)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{path}: no such file");
        }
        var w = WeightFileSummary.Read(path);
        o.WriteLine($"file        {w.Path} ({new FileInfo(path).Length / (1024.0 * 1024):F1} MiB)");
        o.WriteLine($"format      {w.Format}");
        var title = w.Method is null ? null : AnomalyMethods.ByName(w.Method, path).Title;
        o.WriteLine($"holds       {w.Kind switch { "heads" => $"{title} heads (method {w.Method})", "clip" => "CLIP weights", _ => "neither CLIP weights nor heads of a known method" }}");
        if (w.Clip is { } c)
        {
            o.WriteLine($"clip        vision {c.VisionWidth} wide x {c.VisionLayers} layers, {c.VisionHeads} heads, patch {c.PatchSize}, native {c.NativeImageSize} px; text {c.TextWidth} x {c.TextLayers}; embed {c.EmbedDim}");
        }
        o.WriteLine($"tensors     {w.Tensors} ({w.Elements:N0} values): {string.Join(", ", w.DTypes.Select(d => $"{d.Value} {d.Key}"))}");
        var training = w.Metadata.Where(m => m.Key.StartsWith("train.", StringComparison.Ordinal) && m.Key != "train.rng").ToList();
        if (training.Count > 0)
        {
            o.WriteLine($"training    {string.Join(", ", training.Select(m => $"{m.Key["train.".Length..]} {m.Value}"))}");
        }
        foreach (var (key, value) in w.Metadata.Where(m => !m.Key.StartsWith("train.", StringComparison.Ordinal)))
        {
            o.WriteLine($"metadata    {key} = {(value.Length > 120 ? value[..117] + "..." : value)}");
        }
        return ExitCodes.Ok;
    }
}
