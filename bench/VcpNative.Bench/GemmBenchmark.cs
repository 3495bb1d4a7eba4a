// BenchmarkDotNet comparison of our sgemm with OpenBLAS on the ViT-L/14 linear-layer shapes (x[1370,K] @ W[N,K]^T).
using BenchmarkDotNet.Attributes;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Bench;

/// <summary>OpenBLAS is the baseline, so the Ratio column reads as our time over theirs.</summary>
[MemoryDiagnoser]
public class GemmBenchmark
{
    private GemmOperands? operands;

    /// <summary>K x N of the four ViT-L/14 projections: qkv, out proj, fc, proj.</summary>
    [Params("1024x3072", "1024x1024", "1024x4096", "4096x1024")]
    public string Shape { get; set; } = "1024x1024";

    [Params(1, 2)]
    public int Threads { get; set; } = 2;

    private CpuThreadPool? pool;
    private CpuThreadPool.Scope poolScope;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        operands = new GemmOperands(1370, int.Parse(parts[0]), int.Parse(parts[1]), SgemmKernel.Default);
        OpenBlas.SetThreads(Threads);
        pool = new CpuThreadPool(Threads);
        poolScope = pool.Enter();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        operands?.Dispose();
        poolScope.Dispose();
        pool?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void OpenBlasSgemm()
    {
        if (OpenBlas.IsAvailable)
        {
            operands!.Peer();
        }
    }

    [Benchmark]
    public void Ours() => operands!.Ours(Threads);

    [Benchmark]
    public void OursPrepacked() => operands!.OursPacked(Threads);

    /// <summary>The AVX2 kernel even where AVX-512 is the default (falls back to the default kernel without AVX2).</summary>
    [Benchmark]
    public void OursAvx2() => operands!.OursWith(SgemmKernel.Avx2.IsSupported ? SgemmKernel.Avx2 : SgemmKernel.Default, Threads);
}
