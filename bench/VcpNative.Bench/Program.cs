// Benchmark entry point: `gemm [options]` for the quick GEMM table, `metrics` for the metric timing, `bdn [BenchmarkDotNet args]` for BenchmarkDotNet proper.
using BenchmarkDotNet.Running;
using VcpNative.Bench;

if (args.Length > 0 && args[0] == "gemm")
{
    return GemmQuickBench.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "gemm-kernels")
{
    return GemmKernelPeak.Run();
}
if (args.Length > 0 && args[0] == "attention")
{
    return AttentionBench.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "int8-kernels")
{
    return Int8KernelBench.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "metrics")
{
    MetricsBenchmark.RunQuick(Console.Out);
    return 0;
}
if (args.Length > 0 && args[0] == "batch-job")
{
    return BatchJobBench.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "bdn")
{
    BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmark).Assembly).Run(args[1..]);
    return 0;
}
Console.WriteLine("usage: VcpNative.Bench gemm [--threads N] [--repeats R] [--m M] [--sizes 1024,3072,4096] [--kernel avx2|avx512|vector128|scalar] [--blocking KC,MC,NC]");
Console.WriteLine("       VcpNative.Bench gemm-kernels");
Console.WriteLine("       VcpNative.Bench attention [--threads N] [--repeats R] [--strips 24,48,96] [--lk 1370]   (CPU attention strip heights compared)");
Console.WriteLine("       VcpNative.Bench int8-kernels [--threads N] [--repeats R] [--m M] [--kernels a,b] [--peer name]   (int8 linear per kernel, ViT-L shapes, interleaved)");
Console.WriteLine("       VcpNative.Bench metrics      (pixel metrics of one 200-image class at 518 px, against Array.Sort in the same run)");
Console.WriteLine("       VcpNative.Bench batch-job --images N [--batch-size B] [--image-size S]   (infer as a batch job: last/first tenth img/s, resume skip time)");
Console.WriteLine("       VcpNative.Bench bdn --filter *Gemm*");
return 1;
