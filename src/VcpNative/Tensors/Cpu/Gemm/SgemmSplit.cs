// How one large sgemm is split over the CPU threads: a shared B block per depth step, or column stripes per thread.
namespace VcpNative.Tensors.Cpu;

/// <summary>The two parallel loop nests of <see cref="SgemmTask"/>.</summary>
internal enum SgemmSplitMode
{
    /// <summary>Column stripes for wide products, the shared B block otherwise (the rule in <see cref="SgemmSplit.UseColumns"/>).</summary>
    Auto,

    /// <summary>Per (NC, KC) step the threads pack one B block together, then share its A row blocks: two barriers per step.</summary>
    SharedB,

    /// <summary>Every thread runs the serial loop nest on its own NR-aligned column stripes of C: one barrier per call.</summary>
    Columns,
}

/// <summary>Chooses the split; VCP_SGEMM_SPLIT=auto|shared|columns overrides it (for benchmarking one against the other).</summary>
internal static class SgemmSplit
{
    /// <summary>The mode this process uses (read once, like VCP_SGEMM_KERNEL).</summary>
    public static SgemmSplitMode Current { get; } = Parse(Environment.GetEnvironmentVariable("VCP_SGEMM_SPLIT"));

    /// <summary>The narrowest stripe worth its own A packing: the stripe's product must dwarf packing all of A again.</summary>
    private const int MinStripeColumns = 1024;

    internal static SgemmSplitMode Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => SgemmSplitMode.Auto,
        "shared" => SgemmSplitMode.SharedB,
        "columns" => SgemmSplitMode.Columns,
        _ => throw new ArgumentException($"VCP_SGEMM_SPLIT: expected auto, shared or columns, found '{text}'"),
    };

    /// <summary>
    /// Columns when every thread gets at least one stripe of <see cref="MinStripeColumns"/> columns: then A (M x K) is
    /// packed once more per stripe (one float per 2 x 1024 flops: about 1% of the stripe's time), and the threads never wait
    /// for each other inside the call.
    /// </summary>
    public static bool UseColumns(SgemmSplitMode mode, int m, int n, int k, SgemmKernel kernel, int threads, bool prePacked) => mode switch
    {
        SgemmSplitMode.Columns => n >= threads * kernel.Nr,
        SgemmSplitMode.SharedB => false,
        _ => n >= threads * MinStripeColumns,
    };

    /// <summary>Stripes per call: one per thread, doubled while each stays at least <see cref="MinStripeColumns"/> wide (room to balance a slowed thread).</summary>
    public static int ColumnStripes(int m, int n, int k, SgemmKernel kernel, int threads)
    {
        var stripes = threads;
        while (stripes < 4 * threads && n / (2 * stripes) >= MinStripeColumns)
        {
            stripes *= 2;
        }
        return stripes;
    }
}
