// Published peak throughputs and SM limits of the GPUs `kernels profile` estimates for.
namespace VcpNative.Tensors.Cuda.Profiling;

/// <summary>One GPU's datasheet numbers: peaks for the roofline, per-SM limits for occupancy.</summary>
/// <param name="Key">Short name used on the command line, e.g. "h100".</param>
/// <param name="Name">Marketing name of the GPU.</param>
/// <param name="Fp32Tflops">Dense fp32 SIMT peak (an FMA counts as 2 operations).</param>
/// <param name="TensorTflops">Dense bf16 (Orin: fp16) tensor-core peak with fp32 accumulation, without sparsity.</param>
/// <param name="BandwidthGBs">DRAM bandwidth in GB/s (10^9 bytes).</param>
/// <param name="Sms">Number of streaming multiprocessors.</param>
/// <param name="RegistersPerSm">32-bit registers per SM.</param>
/// <param name="MaxThreadsPerSm">Most resident threads per SM.</param>
/// <param name="MaxBlocksPerSm">Most resident blocks per SM.</param>
/// <param name="SharedBytesPerSm">Shared memory per SM in bytes.</param>
public sealed record GpuSpec(string Key, string Name, double Fp32Tflops, double TensorTflops, double BandwidthGBs, int Sms,
                             int RegistersPerSm, int MaxThreadsPerSm, int MaxBlocksPerSm, int SharedBytesPerSm)
{
    // NVIDIA A100 datasheet (SXM4): 19.5 TFLOPS FP32, 312 TFLOPS BF16 tensor core (dense), 1,555 GB/s HBM2 (40 GB);
    // 108 SMs; sm_80 limits from the CUDA C++ Programming Guide: 64K registers, 2048 threads, 32 blocks, 164 KB shared per SM.
    /// <summary>NVIDIA A100 SXM4 (sm_80).</summary>
    public static readonly GpuSpec A100 = new("a100", "NVIDIA A100 SXM4", 19.5, 312, 1555, 108, 65536, 2048, 32, 164 * 1024);

    // NVIDIA H100 datasheet (SXM5): 67 TFLOPS FP32, 989 TFLOPS BF16 tensor core (dense; 1,979 with sparsity),
    // 3.35 TB/s HBM3; 132 SMs; sm_90: 64K registers, 2048 threads, 32 blocks, 228 KB shared per SM.
    /// <summary>NVIDIA H100 SXM5 (sm_90).</summary>
    public static readonly GpuSpec H100 = new("h100", "NVIDIA H100 SXM5", 67, 989, 3350, 132, 65536, 2048, 32, 228 * 1024);

    // NVIDIA Jetson AGX Orin 64GB module datasheet: 2048-core Ampere GPU (16 SMs) at 1.3 GHz = 5.3 TFLOPS FP32,
    // 170 sparse INT8 TOPS from 64 tensor cores = 85 sparse / 42.5 dense FP16 TFLOPS; LPDDR5 204.8 GB/s shared with
    // the CPU. sm_87: 64K registers, 1536 threads, 16 blocks, 164 KB shared per SM.
    /// <summary>NVIDIA Jetson AGX Orin 64GB (sm_87).</summary>
    public static readonly GpuSpec Orin = new("orin", "NVIDIA Jetson AGX Orin 64GB", 5.3, 42.5, 204.8, 16, 65536, 1536, 16, 164 * 1024);

    /// <summary>Every GPU `kernels profile` can estimate for.</summary>
    public static IReadOnlyList<GpuSpec> All { get; } = [A100, H100, Orin];

    /// <summary>The GPU whose <see cref="Key"/> is <paramref name="key"/> (case-insensitive); throws for an unknown key.</summary>
    public static GpuSpec Parse(string key)
    {
        foreach (var g in All)
        {
            if (string.Equals(g.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return g;
            }
        }
        throw new ArgumentException($"GPU {key}: expected one of a100, h100, orin");
    }
}
