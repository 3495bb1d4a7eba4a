// The blocked sgemm driver (GotoBLAS/BLIS loop nest) for one rectangle of C, and its split over CPU threads.
namespace VcpNative.Tensors.Cpu;

/// <summary>
/// One sgemm call's operands. <see cref="RunBlock"/> computes a rectangle of C serially: for each NC column block and KC
/// depth block it packs B (unless pre-packed), then for each MC row block packs A and sweeps the MR x NR micro-kernel.
/// As an <see cref="IParallelLoopBody"/> it runs one work item of the parallel loop nest (see <see cref="RunShared"/>) or one product of a batch.
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

    /// <summary>How <see cref="Execute"/> splits the product over threads (tests pin it; otherwise the process's mode).</summary>
    public SgemmSplitMode Split = SgemmSplit.Current;

    /// <summary>Column split: floats of op(A) packed once for all stripes per row chunk; 0 packs A per stripe instead.</summary>
    public long SharedABudget = SgemmSplit.SharedABudgetFloats;

    /// <summary>
    /// How B is stored: F32 reads <see cref="B"/>; BFloat16 / Int8 read <see cref="CompressedB"/> (a weight W[N,K], so
    /// TransB) and decode it while packing, so the weights stay compressed in memory and the kernels are unchanged.
    /// </summary>
    public WeightEncoding BEncoding;
    public void* CompressedB;

    /// <summary>Per-row (output channel) scales of an Int8 B, applied while packing.</summary>
    public float* BRowScales;
    public float Beta;
    public float* C;
    public long Ldc;

    /// <summary>What to apply to each finished block of C (after its last depth block, while it is still in cache).</summary>
    public GemmEpilogue Epilogue;

    /// <summary>Per-column bias [N] for the epilogue, or null.</summary>
    public float* Bias;

    /// <summary>What <see cref="IParallelLoopBody.Run"/> does: whole products of a batch, a share of the B block, or one A block.</summary>
    private enum Phase
    {
        Batch,
        PackB,
        Compute,
        Columns,
        PackAShared,
    }

    private Phase phase;

    // The (jc, pc) step the parallel phases work on.
    private int stepJc;
    private int stepNc;
    private int stepPc;
    private int stepKc;
    private float stepBeta;
    private float* stepB;
    private int stepPanels;
    private int stepParts;
    private int stepColumnChunks;
    private int stepMc;

    // Column split: op(A) rows sharedAM0..sharedAM1 packed once for all stripes (null: each stripe packs its own A
    // blocks). Depth block pc starts at pc * sharedARows and holds MR-row panels of kc steps, so the block (ic, pc) is at
    // pc * sharedARows + (ic - sharedAM0) * kc.
    private float* sharedA;
    private long sharedARows;
    private int sharedARowBlocks;
    private int sharedAM0;
    private int sharedAM1;

    /// <summary>True: the parallel loop runs whole products of a batch, element strides below.</summary>
    public bool SplitBatch
    {
        get => phase == Phase.Batch;
        set => phase = value ? Phase.Batch : Phase.Compute;
    }
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
        task.Split = SgemmSplit.Current;
        task.SharedABudget = SgemmSplit.SharedABudgetFloats;
    }

    public void Return()
    {
        Epilogue = GemmEpilogue.None;
        Bias = null;
        PackedB = null;
        BEncoding = WeightEncoding.F32;
        CompressedB = null;
        BRowScales = null;
        A = null;
        B = null;
        C = null;
        inUse = false;
    }

    /// <summary>Runs the whole product, over up to <paramref name="threads"/> threads when it is big enough to pay off.</summary>
    public void Execute(int threads, long minWorkPerThread)
    {
        var work = (long)M * N * K;
        var useful = (int)Math.Min(threads, Math.Max(1, work / Math.Max(1, minWorkPerThread)));
        if (useful <= 1)
        {
            RunBlock(0, M, 0, N);
            return;
        }
        if (SgemmSplit.UseColumns(Split, N, Kernel.Nr, useful))
        {
            RunColumns(useful);
            return;
        }
        RunShared(useful);
    }

    /// <summary>
    /// Each thread takes whole column stripes of C (NR-aligned) and runs the serial loop nest on them with its own B and
    /// A packing: no barrier per depth step and no B block shared between cores, at the price of packing A once per
    /// stripe. Stripes are claimed from the shared counter, so a thread slowed by another process takes fewer of them.
    /// </summary>
    private void RunColumns(int threads)
    {
        stepPanels = (N + Kernel.Nr - 1) / Kernel.Nr;
        stepParts = Math.Min(stepPanels, SgemmSplit.ColumnStripes(N, threads));
        if (stepParts <= 1 || SharedABudget <= 0)
        {
            phase = Phase.Columns;
            CpuParallel.For(stepParts, this);
            return;
        }
        // Pack op(A) once, all threads together, instead of once per stripe: one more barrier, (stripes - 1) fewer passes
        // over A; the blocks are then read from L3 rather than from the L2 they were just packed into. Tall products
        // (large batches) go in row chunks so the packed copy stays within SharedABudget floats (at least one MC block).
        var mr = Kernel.Mr;
        var mcMax = Kernel.Mc;
        var kcMax = PackedB?.Kc ?? Kernel.Kc;
        var chunkRows = (int)Math.Min(M, Math.Max(mcMax, SharedABudget / Math.Max(1, K) / mcMax * mcMax));
        sharedARows = (chunkRows + mr - 1) / mr * mr;
        sharedA = SgemmPackArena.ForCurrentThread().SharedA(sharedARows * K);
        stepKc = kcMax;
        try
        {
            for (var m0 = 0; m0 < M; m0 += chunkRows)
            {
                sharedAM0 = m0;
                sharedAM1 = Math.Min(M, m0 + chunkRows);
                sharedARowBlocks = (sharedAM1 - m0 + mcMax - 1) / mcMax;
                phase = Phase.PackAShared;
                CpuParallel.For(sharedARowBlocks * ((K + kcMax - 1) / kcMax), this);
                phase = Phase.Columns;
                CpuParallel.For(stepParts, this);
            }
        }
        finally
        {
            sharedA = null;
            sharedAM0 = 0;
            sharedAM1 = 0;
        }
    }

    /// <summary>
    /// The parallel loop nest: per (NC, KC) step the threads first pack the B block together (one shared copy, no
    /// thread packs what another already did), then take A blocks (x column chunks) from a shared counter, so a thread
    /// slowed by another process just takes fewer blocks.
    /// </summary>
    private void RunShared(int threads)
    {
        var kernel = Kernel;
        var nr = kernel.Nr;
        var kcMax = PackedB?.Kc ?? kernel.Kc;
        var mcMax = kernel.Mc;
        var ncMax = kernel.Nc;
        var sharedB = PackedB is null ? SgemmPackArena.ForCurrentThread().B((long)kcMax * ncMax) : null;
        // Equal row blocks, a multiple of the thread count of them: M = 1370 in blocks of 144 would leave one thread
        // a 74-row block at every depth step; ten blocks of 138 (or less) keep both threads busy to the end.
        var mr = kernel.Mr;
        var rowBlocks = (M + mcMax - 1) / mcMax;
        rowBlocks = (rowBlocks + threads - 1) / threads * threads;
        stepMc = Math.Min(mcMax, ((M + rowBlocks - 1) / rowBlocks + mr - 1) / mr * mr);
        rowBlocks = (M + stepMc - 1) / stepMc;
        for (var jc = 0; jc < N; jc += ncMax)
        {
            var nc = Math.Min(ncMax, N - jc);
            stepJc = jc;
            stepNc = nc;
            stepPanels = (nc + nr - 1) / nr;
            // At least ~4 work items per thread; few A blocks (small M) are cut into column chunks as well.
            stepColumnChunks = Math.Clamp(((4 * threads) + rowBlocks - 1) / rowBlocks, 1, stepPanels);
            for (var pc = 0; pc < K; pc += kcMax)
            {
                var kc = Math.Min(kcMax, K - pc);
                stepPc = pc;
                stepKc = kc;
                stepBeta = pc == 0 ? Beta : 1f;
                if (PackedB is not null)
                {
                    stepB = PackedB.Data + (pc * PackedB.PaddedN) + ((long)jc * kc);
                }
                else
                {
                    stepB = sharedB;
                    phase = Phase.PackB;
                    stepParts = Math.Min(stepPanels, 4 * threads);
                    CpuParallel.For(stepParts, this);
                }
                phase = Phase.Compute;
                CpuParallel.For(rowBlocks * stepColumnChunks, this);
            }
        }
    }

    void IParallelLoopBody.Run(int index)
    {
        switch (phase)
        {
            case Phase.Batch:
                RunBatchItem(index);
                break;
            case Phase.Columns:
            {
                var nr = Kernel.Nr;
                var j0 = CpuParallel.ChunkStart(stepPanels, stepParts, index) * nr;
                var j1 = Math.Min(N, CpuParallel.ChunkStart(stepPanels, stepParts, index + 1) * nr);
                if (sharedA != null)
                {
                    RunBlock(sharedAM0, sharedAM1, j0, j1);
                }
                else
                {
                    RunBlock(0, M, j0, j1);
                }
                break;
            }
            case Phase.PackAShared:
            {
                var mcMax = Kernel.Mc;
                var pc = index / sharedARowBlocks * stepKc;
                var i0 = index % sharedARowBlocks * mcMax;
                var kc = Math.Min(stepKc, K - pc);
                PackA(sharedAM0 + i0, Math.Min(mcMax, sharedAM1 - sharedAM0 - i0), pc, kc, sharedA + (pc * sharedARows) + ((long)i0 * kc));
                break;
            }
            case Phase.PackB:
            {
                var nr = Kernel.Nr;
                var p0 = CpuParallel.ChunkStart(stepPanels, stepParts, index);
                var p1 = CpuParallel.ChunkStart(stepPanels, stepParts, index + 1);
                var j0 = p0 * nr;
                var j1 = Math.Min(stepNc, p1 * nr);
                PackB(stepPc, stepKc, stepJc + j0, j1 - j0, stepB + ((long)j0 * stepKc));
                break;
            }
            default:
            {
                var nr = Kernel.Nr;
                var rowBlock = index / stepColumnChunks;
                var chunk = index % stepColumnChunks;
                var ic = rowBlock * stepMc;
                var mc = Math.Min(stepMc, M - ic);
                var j0 = CpuParallel.ChunkStart(stepPanels, stepColumnChunks, chunk) * nr;
                var j1 = Math.Min(stepNc, CpuParallel.ChunkStart(stepPanels, stepColumnChunks, chunk + 1) * nr);
                var arena = SgemmPackArena.ForCurrentThread();
                var aPack = arena.A((long)stepMc * stepKc);
                var tile = arena.Tile((long)Kernel.Mr * nr);
                PackA(ic, mc, stepPc, stepKc, aPack);
                MacroKernel(mc, j1 - j0, stepKc, aPack, stepB + ((long)j0 * stepKc), C + (ic * Ldc) + stepJc + j0, stepBeta, tile);
                if (stepPc + stepKc == K)
                {
                    ApplyEpilogue(ic, mc, stepJc + j0, j1 - j0);
                }
                break;
            }
        }
    }

    private void RunBatchItem(int index)
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
                    float* aPanels;
                    if (sharedA != null)
                    {
                        aPanels = sharedA + (pc * sharedARows) + ((long)(ic - sharedAM0) * kc);
                    }
                    else
                    {
                        aPanels = aPack;
                        PackA(ic, mc, pc, kc, aPack);
                    }
                    MacroKernel(mc, nc, kc, aPanels, bPanels, C + (ic * Ldc) + jc, beta, tile);
                    if (pc + kc == K)
                    {
                        ApplyEpilogue(ic, mc, jc, nc);
                    }
                }
            }
        }
    }

    /// <summary>Bias and activation on C[i0:i0+rows, j0:j0+cols], a block that just got its final depth block.</summary>
    private void ApplyEpilogue(int i0, int rows, int j0, int cols)
    {
        if (Epilogue == GemmEpilogue.None || cols <= 0)
        {
            return;
        }
        for (var i = 0; i < rows; i++)
        {
            var row = new Span<float>(C + ((i0 + i) * Ldc) + j0, cols);
            if (Bias != null)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(Bias + j0, cols), row);
            }
            switch (Epilogue)
            {
                case GemmEpilogue.Gelu:
                    Activations.Gelu(row, row);
                    break;
                case GemmEpilogue.QuickGelu:
                    Activations.QuickGelu(row, row);
                    break;
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

    private void PackB(int pc, int kc, int jc, int nc, float* dst)
    {
        if (BEncoding == WeightEncoding.F32)
        {
            PackBPanels(B, Ldb, TransB, Kernel.Nr, pc, kc, jc, nc, dst);
        }
        else
        {
            PackCompressedBPanels(pc, kc, jc, nc, dst);
        }
    }

    /// <summary>
    /// Per NR-wide panel: decode its rows of W[N,K] (columns pc..pc+kc) into a small f32 scratch (L1-sized, per thread),
    /// then pack that with the f32 transposing packer. Scaling int8 here rather than in the epilogue keeps every packed
    /// value equal to the dequantised weight (float)q * scale, so beta, bias and activation need no change and the
    /// product is the f32 product of the dequantised matrix in the same summation order.
    /// </summary>
    private void PackCompressedBPanels(int pc, int kc, int jc, int nc, float* dst)
    {
        var nr = Kernel.Nr;
        var scratch = SgemmPackArena.ForCurrentThread().Decode((long)nr * kc);
        for (var jr = 0; jr < nc; jr += nr)
        {
            var width = Math.Min(nr, nc - jr);
            CompressedWeightRows.DecodeBlock(BEncoding, CompressedB, BRowScales, Ldb, jc + jr, width, pc, kc, scratch);
            SgemmPacking.PackPanel(scratch, 1, kc, kc, width, nr, dst + ((long)jr * kc));
        }
    }

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
