// The blocked sgemm driver (GotoBLAS/BLIS loop nest) for one rectangle of C, and its split over CPU threads.
namespace VcpNative.Tensors.Cpu;

/// <summary>
/// One sgemm call's operands. <see cref="RunBlock"/> computes a rectangle of C serially: for each NC column block and KC
/// depth block it packs B (unless pre-packed), then for each MC row block packs A and sweeps the MR x NR micro-kernel.
/// As an <see cref="IParallelLoopBody"/> it computes the i-th of <see cref="Parts"/> slices of C, cut along rows or columns.
/// </summary>
internal sealed unsafe class SgemmTask : IParallelLoopBody
{
    // Two per thread: a batched call's task plus the per-batch task it rents while running on the same thread.
    [ThreadStatic]
    private static SgemmTask? cached0;

    [ThreadStatic]
    private static SgemmTask? cached1;

    private bool inUse;

    public SgemmKernel Kernel = SgemmKernel.Default;
    public bool TransA;
    public bool TransB;
    public int M;
    public int N;
    public int K;
    public float Alpha;
    public float* A;
    public long Lda;
    public float* B;
    public long Ldb;
    public PackedMatrix? PackedB;
    public float Beta;
    public float* C;
    public long Ldc;

    /// <summary>Number of slices of C the parallel loop runs.</summary>
    public int Parts;

    /// <summary>True: slices are row ranges (multiples of MR); false: column ranges (multiples of NR).</summary>
    public bool SplitRows;

    /// <summary>True: the parallel loop runs whole products of a batch, element strides below.</summary>
    public bool SplitBatch;
    public long StrideA;
    public long StrideB;
    public long StrideC;

    /// <summary>A task object reused by this thread (no allocation per call in steady state).</summary>
    public static SgemmTask Rent()
    {
        var task = cached0 ??= new SgemmTask();
        if (task.inUse)
        {
            task = cached1 ??= new SgemmTask();
            if (task.inUse)
            {
                task = new SgemmTask();
            }
        }
        task.inUse = true;
        SplitBatchReset(task);
        return task;
    }

    private static void SplitBatchReset(SgemmTask task)
    {
        task.SplitBatch = false;
        task.PackedB = null;
        task.StrideA = 0;
        task.StrideB = 0;
        task.StrideC = 0;
    }

    public void Return()
    {
        PackedB = null;
        A = null;
        B = null;
        C = null;
        inUse = false;
    }

    /// <summary>Runs the whole product, over <see cref="CpuParallel.Threads"/> threads when it is big enough to pay off.</summary>
    public void Execute(int threads)
    {
        var mr = Kernel.Mr;
        var nr = Kernel.Nr;
        var rowPanels = (M + mr - 1) / mr;
        var colPanels = (N + nr - 1) / nr;
        // Below ~2 MFLOP per thread, waking a helper costs more than it saves.
        var work = (long)M * N * K;
        var useful = (int)Math.Min(threads, Math.Max(1, work / (1L << 20)));
        if (useful <= 1)
        {
            RunBlock(0, M, 0, N);
            return;
        }
        // Slicing rows makes every thread pack all of B; slicing columns makes every thread pack all of A.
        // Pre-packed B costs nothing to share, so then rows are the natural cut.
        var preferRows = PackedB is not null || M > N;
        SplitRows = preferRows
            ? rowPanels >= useful || rowPanels >= colPanels
            : colPanels < useful && rowPanels > colPanels;
        var panels = SplitRows ? rowPanels : colPanels;
        Parts = Math.Min(useful, panels);
        if (Parts <= 1)
        {
            RunBlock(0, M, 0, N);
            return;
        }
        CpuParallel.For(Parts, this);
    }

    void IParallelLoopBody.Run(int index)
    {
        if (SplitBatch)
        {
            var one = Rent();
            one.Kernel = Kernel;
            one.TransA = TransA;
            one.TransB = TransB;
            one.M = M;
            one.N = N;
            one.K = K;
            one.Alpha = Alpha;
            one.A = A + (index * StrideA);
            one.Lda = Lda;
            one.B = B + (index * StrideB);
            one.Ldb = Ldb;
            one.PackedB = PackedB;
            one.Beta = Beta;
            one.C = C + (index * StrideC);
            one.Ldc = Ldc;
            try
            {
                one.RunBlock(0, M, 0, N);
            }
            finally
            {
                one.Return();
            }
        }
        else if (SplitRows)
        {
            var panels = (M + Kernel.Mr - 1) / Kernel.Mr;
            var start = CpuParallel.ChunkStart(panels, Parts, index) * Kernel.Mr;
            var end = Math.Min(M, CpuParallel.ChunkStart(panels, Parts, index + 1) * Kernel.Mr);
            RunBlock(start, end, 0, N);
        }
        else
        {
            var panels = (N + Kernel.Nr - 1) / Kernel.Nr;
            var start = CpuParallel.ChunkStart(panels, Parts, index) * Kernel.Nr;
            var end = Math.Min(N, CpuParallel.ChunkStart(panels, Parts, index + 1) * Kernel.Nr);
            RunBlock(0, M, start, end);
        }
    }

    /// <summary>C[m0:m1, n0:n1] = alpha * op(A)[m0:m1, :] * op(B)[:, n0:n1] + beta * C[m0:m1, n0:n1]; n0 is a multiple of NR.</summary>
    public void RunBlock(int m0, int m1, int n0, int n1)
    {
        if (m1 <= m0 || n1 <= n0)
        {
            return;
        }
        var kernel = Kernel;
        var mr = kernel.Mr;
        var nr = kernel.Nr;
        var kcMax = PackedB?.Kc ?? kernel.Kc;
        var mcMax = kernel.Mc;
        var ncMax = kernel.Nc;
        var arena = SgemmPackArena.ForCurrentThread();
        var aPack = arena.A((long)mcMax * kcMax);
        var bPack = PackedB is null ? arena.B((long)kcMax * ncMax) : null;
        var tile = arena.Tile((long)mr * nr);
        for (var jc = n0; jc < n1; jc += ncMax)
        {
            var nc = Math.Min(ncMax, n1 - jc);
            for (var pc = 0; pc < K; pc += kcMax)
            {
                var kc = Math.Min(kcMax, K - pc);
                // Later depth blocks accumulate onto what the first one wrote.
                var beta = pc == 0 ? Beta : 1f;
                float* bPanels;
                if (PackedB is not null)
                {
                    bPanels = PackedB.Data + (pc * PackedB.PaddedN) + ((long)jc * kc);
                }
                else
                {
                    bPanels = bPack;
                    PackB(pc, kc, jc, nc, bPanels);
                }
                for (var ic = m0; ic < m1; ic += mcMax)
                {
                    var mc = Math.Min(mcMax, m1 - ic);
                    PackA(ic, mc, pc, kc, aPack);
                    MacroKernel(mc, nc, kc, aPack, bPanels, C + (ic * Ldc) + jc, beta, tile);
                }
            }
        }
    }

    private void PackA(int ic, int mc, int pc, int kc, float* dst)
    {
        var mr = Kernel.Mr;
        for (var ir = 0; ir < mc; ir += mr)
        {
            var width = Math.Min(mr, mc - ir);
            var row = ic + ir;
            if (TransA)
            {
                SgemmPacking.PackPanel(A + (pc * Lda) + row, Lda, 1, kc, width, mr, dst + ((long)ir * kc));
            }
            else
            {
                SgemmPacking.PackPanel(A + (row * Lda) + pc, 1, Lda, kc, width, mr, dst + ((long)ir * kc));
            }
        }
    }

    private void PackB(int pc, int kc, int jc, int nc, float* dst) =>
        PackBPanels(B, Ldb, TransB, Kernel.Nr, pc, kc, jc, nc, dst);

    /// <summary>Packs op(B)[pc:pc+kc, jc:jc+nc] as consecutive NR-wide panels of kc steps (shared with <see cref="PackedMatrix"/>).</summary>
    public static void PackBPanels(float* b, long ldb, bool transB, int nr, int pc, int kc, int jc, int nc, float* dst)
    {
        for (var jr = 0; jr < nc; jr += nr)
        {
            var width = Math.Min(nr, nc - jr);
            var col = jc + jr;
            if (transB)
            {
                SgemmPacking.PackPanel(b + (col * ldb) + pc, 1, ldb, kc, width, nr, dst + ((long)jr * kc));
            }
            else
            {
                SgemmPacking.PackPanel(b + (pc * ldb) + col, ldb, 1, kc, width, nr, dst + ((long)jr * kc));
            }
        }
    }

    private void MacroKernel(int mc, int nc, int kc, float* aPanels, float* bPanels, float* c, float beta, float* tile)
    {
        var kernel = Kernel;
        var run = kernel.Run;
        var mr = kernel.Mr;
        var nr = kernel.Nr;
        var ldc = Ldc;
        var alpha = Alpha;
        for (var jr = 0; jr < nc; jr += nr)
        {
            var nrb = Math.Min(nr, nc - jr);
            var bPanel = bPanels + ((long)jr * kc);
            for (var ir = 0; ir < mc; ir += mr)
            {
                var mrb = Math.Min(mr, mc - ir);
                var aPanel = aPanels + ((long)ir * kc);
                var cTile = c + (ir * ldc) + jr;
                if (mrb == mr && nrb == nr)
                {
                    run(kc, aPanel, bPanel, cTile, ldc, alpha, beta);
                }
                else
                {
                    // Edge tile: the zero-padded panels let the full kernel run into a scratch tile; copy the valid part.
                    run(kc, aPanel, bPanel, tile, nr, 1f, 0f);
                    for (var i = 0; i < mrb; i++)
                    {
                        var cRow = cTile + (i * ldc);
                        var tRow = tile + (i * nr);
                        for (var j = 0; j < nrb; j++)
                        {
                            cRow[j] = beta == 0f ? alpha * tRow[j] : (alpha * tRow[j]) + (beta * cRow[j]);
                        }
                    }
                }
            }
        }
    }
}
