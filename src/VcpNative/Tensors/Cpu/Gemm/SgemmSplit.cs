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

    /// <summary>
    /// Column split: floats of op(A) packed once per call for all stripes (32 MiB: ViT-L's 1370 x 4096 in one chunk;
    /// taller products go in row chunks of this size). VCP_SGEMM_SHARE_A=0 packs A per stripe instead (for comparison).
    /// </summary>
    public static long SharedABudgetFloats { get; } =
        Environment.GetEnvironmentVariable("VCP_SGEMM_SHARE_A")?.Trim() == "0" ? 0 : 8L << 20;

    /// <summary>The narrowest stripe worth its own A packing (A is packed once per stripe).</summary>
    private const int MinStripeColumns = 256;

    /// <summary>Stripes are doubled (for balance) only while each stays this wide.</summary>
    private const int BalancedStripeColumns = 1024;

    internal static SgemmSplitMode Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => SgemmSplitMode.Auto,
        "shared" => SgemmSplitMode.SharedB,
        "columns" => SgemmSplitMode.Columns,
        _ => throw new ArgumentException($"VCP_SGEMM_SPLIT: expected auto, shared or columns, found '{text}'"),
    };

    /// <summary>
    /// Columns whenever every thread gets a stripe of at least <see cref="MinStripeColumns"/> columns. Measured on the
    /// nine ViT-L shapes (M 1370, K and N in 1024/3072/4096, 2 threads, a 2-core AMD EPYC, best of 9,
    /// bench/results/gemm-2026-12-05.md): column stripes 0.98-1.05x OpenBLAS with the AVX2 kernel against 0.88-1.00x for
    /// the shared B block, and +11% with the AVX-512 kernel. A is packed again per stripe (one float per 2 x stripe
    /// width flops), and the threads never wait for each other inside the call.
    /// </summary>
    public static bool UseColumns(SgemmSplitMode mode, int n, int nr, int threads) => mode switch
    {
        SgemmSplitMode.Columns => n >= threads * nr,
        SgemmSplitMode.SharedB => false,
        _ => n >= threads * MinStripeColumns,
    };

    /// <summary>Stripes per call: one per thread, doubled while each stays at least <see cref="BalancedStripeColumns"/> wide (room to balance a slowed thread).</summary>
    public static int ColumnStripes(int n, int threads)
    {
        var stripes = threads;
        while (stripes < 4 * threads && n / (2 * stripes) >= BalancedStripeColumns)
        {
            stripes *= 2;
        }
        return stripes;
    }
}
