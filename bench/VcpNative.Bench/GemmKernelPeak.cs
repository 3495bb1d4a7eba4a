// Peak of each micro-kernel alone on L1-resident panels: the ceiling the blocked driver can approach.
using System.Diagnostics;
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Bench;

/// <summary>`gemm-kernels`: GFLOP/s of one thread calling each supported micro-kernel on the same packed panels.</summary>
internal static unsafe class GemmKernelPeak
{
    public static int Run()
    {
        const int kc = 256;
        foreach (var kernel in SgemmKernel.Supported)
        {
            var a = (float*)NativeMemory.AlignedAlloc((nuint)(kernel.Mr * kc * sizeof(float)), 64);
            var b = (float*)NativeMemory.AlignedAlloc((nuint)(kernel.Nr * kc * sizeof(float)), 64);
            var c = (float*)NativeMemory.AlignedAlloc((nuint)(kernel.Mr * kernel.Nr * sizeof(float)), 64);
            new Span<float>(a, kernel.Mr * kc).Fill(0.001f);
            new Span<float>(b, kernel.Nr * kc).Fill(0.001f);
            var best = double.MaxValue;
            var calls = 20000;
            for (var rep = 0; rep < 7; rep++)
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < calls; i++)
                {
                    kernel.Run(kc, a, b, c, kernel.Nr, 1f, 0f);
                }
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            var gflops = 2.0 * kernel.Mr * kernel.Nr * kc * calls / best / 1e9;
            Console.WriteLine($"{kernel.Name,-16} {gflops,7:F1} GFLOP/s (best of 7, one thread)");
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
        return 0;
    }
}
