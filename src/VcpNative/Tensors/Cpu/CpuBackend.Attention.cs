// CPU kernel of fused attention: FlashAttention-style tiles, online softmax, register-blocked tile GEMMs, recomputing backward.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Forward: one work item = (batch·head, 64 queries). It walks the keys in tiles of 64, computes S = (scale·Q) Kᵀ
/// with a 4×16 FMA micro kernel, updates each row's running max and sum, rescales its float32 accumulator and adds
/// P V. Working memory is a per-thread scratch of a few 64×D tiles, independent of Lq·Lk.
/// Backward (FlashAttention-2): P is recomputed from the saved logsumexp; dK/dV are accumulated per key tile over all
/// query tiles and dQ per query tile over all key tiles, in two passes, so no two threads write the same element.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    private const int AttentionBlockQ = 64;
    private const int AttentionBlockK = 64;

    // Below this many queries per head, packing K and V costs more than it saves.
    private const int AttentionPackMinQueries = 16;

    [ThreadStatic]
    private static float[]? attentionScratch;

    /// <inheritdoc/>
    public void AttentionForward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor? logSumExp, float scale, bool causal)
    {
        var p = new AttentionProblem(q, k, v, scale, causal);
        var outArray = Cpu(output).Floats;
        var outOffset = output.Offset;
        _ = Dense(output);
        var lseArray = logSumExp is null ? null : Cpu(logSumExp).Floats;
        var lseOffset = logSumExp?.Offset ?? 0;
        if (logSumExp is not null)
        {
            _ = Dense(logSumExp);
        }
        if (p.Heads == 0 || p.Lq == 0)
        {
            return;
        }
        if (p.Lq >= AttentionPackMinQueries)
        {
            // Many queries (both towers): two sgemm products per strip of queries (CpuBackend.AttentionGemm.cs).
            AttentionForwardStrips(p, outArray, outOffset, lseArray, lseOffset);
            return;
        }
        // Few queries (Post-VCP: 2) cannot amortise packing K and V: read their rows in place instead.
        var packed = false;
        var kt = packed ? PackKeyTiles(p, AttentionSource.K, transposed: true) : null;
        var vr = packed ? PackKeyTiles(p, AttentionSource.V, transposed: false) : null;
        try
        {
            var tiles = (p.Lq + AttentionBlockQ - 1) / AttentionBlockQ;
            CpuParallel.For(p.Heads * tiles, item =>
                ForwardTile(p, item / tiles, item % tiles * AttentionBlockQ, kt, vr, outArray, outOffset, lseArray, lseOffset));
        }
        finally
        {
            ReturnPacked(kt);
            ReturnPacked(vr);
        }
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor logSumExp, Tensor gradOutput,
        Tensor? gradQ, Tensor? gradK, Tensor? gradV, float scale, bool causal)
    {
        var p = new AttentionProblem(q, k, v, scale, causal);
        var grads = new AttentionGrads(output, logSumExp, gradOutput);
        if (gradK is not null || gradV is not null)
        {
            var gk = gradK is null ? null : Cpu(gradK).Floats;
            var gkOffset = gradK?.Offset ?? 0;
            var gv = gradV is null ? null : Cpu(gradV).Floats;
            var gvOffset = gradV?.Offset ?? 0;
            var keyTiles = (p.Lk + AttentionBlockK - 1) / AttentionBlockK;
            CpuParallel.For(p.Heads * keyTiles, item =>
                BackwardKeyTile(p, grads, item / keyTiles, item % keyTiles * AttentionBlockK, gk, gkOffset, gv, gvOffset));
        }
        if (gradQ is not null)
        {
            var gq = Cpu(gradQ).Floats;
            var gqOffset = gradQ.Offset;
            var queryTiles = (p.Lq + AttentionBlockQ - 1) / AttentionBlockQ;
            // Every query tile reads every key tile as Kᵀ, Vᵀ and K: pack them once.
            var kt = PackKeyTiles(p, AttentionSource.K, transposed: true);
            var vt = PackKeyTiles(p, AttentionSource.V, transposed: true);
            var kr = PackKeyTiles(p, AttentionSource.K, transposed: false);
            try
            {
                CpuParallel.For(p.Heads * queryTiles, item =>
                    BackwardQueryTile(p, grads, item / queryTiles, item % queryTiles * AttentionBlockQ, kt, vt, kr, gq, gqOffset));
            }
            finally
            {
                ReturnPacked(kt);
                ReturnPacked(vt);
                ReturnPacked(kr);
            }
        }
    }

    private static void ForwardTile(in AttentionProblem p, int bh, int q0, float[]? packedKt, float[]? packedV, float[] outArray, long outOffset, float[]? lseArray, long lseOffset)
    {
        var d = p.D;
        var dp = p.PaddedD;
        var rows = Math.Min(AttentionBlockQ, p.Lq - q0);
        var block = p.ScratchBlock;
        var scratch = AttentionScratch(3 * block + 2 * AttentionBlockQ);
        fixed (float* sc = scratch, qd = p.QData, kd = p.KData, vd = p.VData, od = outArray, ld = lseArray, ktAll = packedKt, vAll = packedV)
        {
            var qs = sc;
            var s = qs + block;
            var acc = s + block;
            var rowMax = acc + block;
            var rowSum = rowMax + AttentionBlockQ;
            PackRows(qd + p.QBase(bh) + q0 * p.QRow, p.QRow, rows, d, qs, dp, rows, p.Scale);
            new Span<float>(acc, rows * dp).Clear();
            new Span<float>(rowMax, rows).Fill(float.NegativeInfinity);
            new Span<float>(rowSum, rows).Clear();
            var keyEnd = p.Causal ? Math.Min(p.Lk, q0 + rows) : p.Lk;
            for (var k0 = 0; k0 < keyEnd; k0 += AttentionBlockK)
            {
                var cols = Math.Min(AttentionBlockK, keyEnd - k0);
                var colsP = RoundUp8(cols);
                var slot = (long)bh * p.KeyTiles + k0 / AttentionBlockK;
                var kRows = kd + p.KBase(bh) + k0 * p.KRow;
                var vRows = vd + p.VBase(bh) + k0 * p.VRow;
                if (ktAll != null)
                {
                    // Packed K tiles are laid out with the full tile's padded width; cols may be cut by the causal end.
                    var fullP = RoundUp8(Math.Min(AttentionBlockK, p.Lk - k0));
                    TileGemm(qs, dp, ktAll + slot * p.TransposedSlot, fullP, s, colsP, rows, colsP, d, accumulate: false);
                }
                else
                {
                    DotTile(qs, dp, kRows, p.KRow, s, colsP, rows, cols, d);
                }
                for (var i = 0; i < rows; i++)
                {
                    var row = s + i * colsP;
                    var valid = ValidKeys(p.Causal, q0 + i, k0, cols);
                    if (valid == 0)
                    {
                        new Span<float>(row, colsP).Clear();
                        continue;
                    }
                    var oldMax = rowMax[i];
                    var newMax = MathF.Max(oldMax, RowMax(row, valid));
                    var sum = ExpShiftedInPlace(row, valid, newMax);
                    new Span<float>(row + valid, colsP - valid).Clear();
                    // The first tile of a row has oldMax = -inf: nothing to rescale.
                    var alpha = float.IsNegativeInfinity(oldMax) ? 0f : VectorMath.Exp(oldMax - newMax);
                    rowSum[i] = rowSum[i] * alpha + sum;
                    rowMax[i] = newMax;
                    if (alpha != 1f)
                    {
                        ScaleInPlace(acc + i * dp, dp, alpha);
                    }
                }
                if (vAll != null)
                {
                    TileGemm(s, colsP, vAll + slot * p.RowSlot, dp, acc, dp, rows, dp, colsP, accumulate: true);
                }
                else
                {
                    AxpyTile(s, colsP, vRows, p.VRow, acc, dp, rows, cols, d);
                }
            }
            var outRows = od + outOffset + ((long)bh * p.Lq + q0) * d;
            for (var i = 0; i < rows; i++)
            {
                var inv = 1f / rowSum[i];
                var src = acc + i * dp;
                var dst = outRows + i * d;
                for (var c = 0; c < d; c++)
                {
                    dst[c] = src[c] * inv;
                }
                if (ld != null)
                {
                    ld[lseOffset + (long)bh * p.Lq + q0 + i] = rowMax[i] + MathF.Log(rowSum[i]);
                }
            }
        }
    }

    /// <summary>Packs every 64-key tile of K or V of every head once per call: [D, 64] when transposed, else [64, padded D].</summary>
    private float[] PackKeyTiles(AttentionProblem p, AttentionSource source, bool transposed)
    {
        var slot = transposed ? p.TransposedSlot : p.RowSlot;
        var packed = Pool.Rent<float>((long)p.Heads * p.KeyTiles * slot, zero: false);
        CpuParallel.For(p.Heads * p.KeyTiles, item =>
        {
            var bh = item / p.KeyTiles;
            var k0 = item % p.KeyTiles * AttentionBlockK;
            var cols = Math.Min(AttentionBlockK, p.Lk - k0);
            var (data, baseOffset, row) = p.Source(source, bh);
            fixed (float* src = data, dst = packed)
            {
                var first = src + baseOffset + k0 * row;
                var target = dst + (long)item * slot;
                if (transposed)
                {
                    PackTransposed(first, row, cols, p.D, target, RoundUp8(cols));
                }
                else
                {
                    PackRows(first, row, cols, p.D, target, p.PaddedD, RoundUp8(cols), 1f);
                }
            }
        });
        return packed;
    }

    private void ReturnPacked(float[]? packed)
    {
        if (packed is not null)
        {
            Pool.Return(packed);
        }
    }

    /// <summary>S[i, j] = ⟨A[i], K[j]⟩ reading K rows in place (small query counts); padding columns are left as is.</summary>
    private static void DotTile(float* a, int lda, float* k, long kRow, float* s, int lds, int rows, int cols, int d)
    {
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                s[i * lds + j] = Dot(a + i * lda, k + j * kRow, d);
            }
        }
    }

    /// <summary>C[i] += Σ_j P[i, j] V[j] reading V rows in place (small query counts).</summary>
    private static void AxpyTile(float* pm, int ldp, float* v, long vRow, float* c, int ldc, int rows, int cols, int d)
    {
        for (var i = 0; i < rows; i++)
        {
            var ci = c + i * ldc;
            for (var j = 0; j < cols; j++)
            {
                var w = pm[i * ldp + j];
                var vj = v + j * vRow;
                var x = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    var wv = Vector256.Create(w);
                    for (; x + 8 <= d; x += 8)
                    {
                        MulAdd(wv, Vector256.Load(vj + x), Vector256.Load(ci + x)).Store(ci + x);
                    }
                }
                else if (Vector128.IsHardwareAccelerated)
                {
                    var wv = Vector128.Create(w);
                    for (; x + 4 <= d; x += 4)
                    {
                        Vector128.MultiplyAddEstimate(wv, Vector128.Load(vj + x), Vector128.Load(ci + x)).Store(ci + x);
                    }
                }
                for (; x < d; x++)
                {
                    ci[x] += w * vj[x];
                }
            }
        }
    }

    private static void BackwardKeyTile(in AttentionProblem p, in AttentionGrads g, int bh, int k0, float[]? gk, long gkOffset, float[]? gv, long gvOffset)
    {
        var d = p.D;
        var dp = p.PaddedD;
        var cols = Math.Min(AttentionBlockK, p.Lk - k0);
        var colsP = RoundUp8(cols);
        var block = p.ScratchBlock;
        var scratch = AttentionScratch(9 * block + 2 * AttentionBlockQ);
        fixed (float* sc = scratch, qd = p.QData, kd = p.KData, vd = p.VData, od = g.OutData, lsed = g.LseData, god = g.GradOutData, gkd = gk, gvd = gv)
        {
            var kt = sc;
            var vt = kt + block;
            var qs = vt + block;
            var dos = qs + block;
            var s = dos + block;
            var dpm = s + block;
            var tr = dpm + block;
            var dk = tr + block;
            var dv = dk + block;
            var delta = dv + block;
            var lse = delta + AttentionBlockQ;
            PackTransposed(kd + p.KBase(bh) + k0 * p.KRow, p.KRow, cols, d, kt, colsP);
            if (gk != null)
            {
                PackTransposed(vd + p.VBase(bh) + k0 * p.VRow, p.VRow, cols, d, vt, colsP);
            }
            new Span<float>(dk, colsP * dp).Clear();
            new Span<float>(dv, colsP * dp).Clear();
            // Causal: queries before k0 see none of these keys; start at the query tile holding k0.
            var qBegin = p.Causal ? k0 / AttentionBlockQ * AttentionBlockQ : 0;
            for (var q0 = qBegin; q0 < p.Lq; q0 += AttentionBlockQ)
            {
                var rows = Math.Min(AttentionBlockQ, p.Lq - q0);
                LoadQueryTile(p, g, bh, q0, rows, qd, od, lsed, god, qs, dos, delta, lse, needDelta: gk != null);
                TileGemm(qs, dp, kt, colsP, s, colsP, rows, colsP, d, accumulate: false);
                Probabilities(p.Causal, s, colsP, rows, cols, q0, k0, lse);
                if (gv != null)
                {
                    // dV += Pᵀ dO
                    TransposeTile(s, colsP, rows, colsP, tr, rows);
                    TileGemm(tr, rows, dos, dp, dv, dp, colsP, dp, rows, accumulate: true);
                }
                if (gk != null)
                {
                    // dS = P ∘ (dO Vᵀ − δ); dK += dSᵀ (scale·Q)
                    TileGemm(dos, dp, vt, colsP, dpm, colsP, rows, colsP, d, accumulate: false);
                    SoftmaxGradient(s, dpm, colsP, rows, delta);
                    TransposeTile(dpm, colsP, rows, colsP, tr, rows);
                    TileGemm(tr, rows, qs, dp, dk, dp, colsP, dp, rows, accumulate: true);
                }
            }
            for (var j = 0; j < cols; j++)
            {
                var dst = ((long)bh * p.Lk + k0 + j) * d;
                for (var c = 0; c < d; c++)
                {
                    if (gkd != null)
                    {
                        gkd[gkOffset + dst + c] = dk[j * dp + c];
                    }
                    if (gvd != null)
                    {
                        gvd[gvOffset + dst + c] = dv[j * dp + c];
                    }
                }
            }
        }
    }

    private static void BackwardQueryTile(in AttentionProblem p, in AttentionGrads g, int bh, int q0, float[] packedKt, float[] packedVt, float[] packedK, float[] gq, long gqOffset)
    {
        var d = p.D;
        var dp = p.PaddedD;
        var rows = Math.Min(AttentionBlockQ, p.Lq - q0);
        var block = p.ScratchBlock;
        var scratch = AttentionScratch(5 * block + 2 * AttentionBlockQ);
        fixed (float* sc = scratch, qd = p.QData, od = g.OutData, lsed = g.LseData, god = g.GradOutData, gqd = gq, ktAll = packedKt, vtAll = packedVt, krAll = packedK)
        {
            var qs = sc;
            var dos = qs + block;
            var s = dos + block;
            var dpm = s + block;
            var dq = dpm + block;
            var delta = dq + block;
            var lse = delta + AttentionBlockQ;
            LoadQueryTile(p, g, bh, q0, rows, qd, od, lsed, god, qs, dos, delta, lse, needDelta: true);
            new Span<float>(dq, rows * dp).Clear();
            var keyEnd = p.Causal ? Math.Min(p.Lk, q0 + rows) : p.Lk;
            for (var k0 = 0; k0 < keyEnd; k0 += AttentionBlockK)
            {
                var cols = Math.Min(AttentionBlockK, keyEnd - k0);
                var colsP = RoundUp8(cols);
                var fullP = RoundUp8(Math.Min(AttentionBlockK, p.Lk - k0));
                var slot = (long)bh * p.KeyTiles + k0 / AttentionBlockK;
                TileGemm(qs, dp, ktAll + slot * p.TransposedSlot, fullP, s, colsP, rows, colsP, d, accumulate: false);
                Probabilities(p.Causal, s, colsP, rows, cols, q0, k0, lse);
                TileGemm(dos, dp, vtAll + slot * p.TransposedSlot, fullP, dpm, colsP, rows, colsP, d, accumulate: false);
                SoftmaxGradient(s, dpm, colsP, rows, delta);
                TileGemm(dpm, colsP, krAll + slot * p.RowSlot, dp, dq, dp, rows, dp, colsP, accumulate: true);
            }
            for (var i = 0; i < rows; i++)
            {
                var dst = gqd + gqOffset + ((long)bh * p.Lq + q0 + i) * d;
                for (var c = 0; c < d; c++)
                {
                    dst[c] = p.Scale * dq[i * dp + c];
                }
            }
        }
    }

    /// <summary>Packs scale·Q and dO of a query tile, and the rows' logsumexp and δ = rowsum(dO ∘ O).</summary>
    private static void LoadQueryTile(in AttentionProblem p, in AttentionGrads g, int bh, int q0, int rows, float* qd, float* od,
        float* lsed, float* god, float* qs, float* dos, float* delta, float* lse, bool needDelta)
    {
        var d = p.D;
        var dense = (long)bh * p.Lq + q0;
        PackRows(qd + p.QBase(bh) + q0 * p.QRow, p.QRow, rows, d, qs, p.PaddedD, rows, p.Scale);
        PackRows(god + g.GradOutOffset + dense * d, d, rows, d, dos, p.PaddedD, rows, 1f);
        for (var i = 0; i < rows; i++)
        {
            lse[i] = lsed[g.LseOffset + dense + i];
            if (needDelta)
            {
                delta[i] = Dot(god + g.GradOutOffset + (dense + i) * d, od + g.OutOffset + (dense + i) * d, d);
            }
        }
    }

    /// <summary>S ← exp(S − lse_row) on each row's visible keys, 0 elsewhere (padding and causal mask).</summary>
    private static void Probabilities(bool causal, float* s, int ld, int rows, int cols, int q0, int k0, float* lse)
    {
        for (var i = 0; i < rows; i++)
        {
            var row = s + i * ld;
            var valid = ValidKeys(causal, q0 + i, k0, cols);
            ExpShiftedInPlace(row, valid, lse[i]);
            new Span<float>(row + valid, ld - valid).Clear();
        }
    }

    /// <summary>dP ← P ∘ (dP − δ_row), the softmax backward, in place in dP.</summary>
    private static void SoftmaxGradient(float* pm, float* dpm, int ld, int rows, float* delta)
    {
        for (var i = 0; i < rows; i++)
        {
            var pr = pm + i * ld;
            var dr = dpm + i * ld;
            var dl = delta[i];
            var j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var dv = Vector256.Create(dl);
                for (; j + 8 <= ld; j += 8)
                {
                    (Vector256.Load(pr + j) * (Vector256.Load(dr + j) - dv)).Store(dr + j);
                }
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                var dv = Vector128.Create(dl);
                for (; j + 4 <= ld; j += 4)
                {
                    (Vector128.Load(pr + j) * (Vector128.Load(dr + j) - dv)).Store(dr + j);
                }
            }
            for (; j < ld; j++)
            {
                dr[j] = pr[j] * (dr[j] - dl);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ValidKeys(bool causal, int query, int k0, int cols) =>
        causal ? Math.Clamp(query - k0 + 1, 0, cols) : cols;

    private static int RoundUp8(int n) => (n + 7) & ~7;

    private static float[] AttentionScratch(int length)
    {
        var s = attentionScratch;
        if (s is null || s.Length < length)
        {
            s = new float[length];
            attentionScratch = s;
        }
        return s;
    }

    /// <summary>dst[i, c] = scale·src[i·stride + c] for i &lt; rows, c &lt; d; zero for d ≤ c &lt; ld and rows ≤ i &lt; padRows.</summary>
    private static void PackRows(float* src, long stride, int rows, int d, float* dst, int ld, int padRows, float scale)
    {
        for (var i = 0; i < rows; i++)
        {
            var s = src + i * stride;
            var t = dst + i * ld;
            if (scale == 1f)
            {
                new ReadOnlySpan<float>(s, d).CopyTo(new Span<float>(t, d));
            }
            else
            {
                for (var c = 0; c < d; c++)
                {
                    t[c] = s[c] * scale;
                }
            }
            new Span<float>(t + d, ld - d).Clear();
        }
        new Span<float>(dst + rows * ld, (padRows - rows) * ld).Clear();
    }

    /// <summary>dst[c, j] = src[j·stride + c] (a [cols, d] row block transposed to [d, ld]), zero for cols ≤ j &lt; ld.</summary>
    private static void PackTransposed(float* src, long stride, int cols, int d, float* dst, int ld)
    {
        for (var j = 0; j < cols; j++)
        {
            var s = src + j * stride;
            for (var c = 0; c < d; c++)
            {
                dst[c * ld + j] = s[c];
            }
        }
        if (cols < ld)
        {
            for (var c = 0; c < d; c++)
            {
                new Span<float>(dst + c * ld + cols, ld - cols).Clear();
            }
        }
    }

    /// <summary>dst[j, i] = src[i, j] for i &lt; rows, j &lt; cols.</summary>
    private static void TransposeTile(float* src, int ldSrc, int rows, int cols, float* dst, int ldDst)
    {
        for (var i = 0; i < rows; i++)
        {
            var s = src + i * ldSrc;
            for (var j = 0; j < cols; j++)
            {
                dst[j * ldDst + i] = s[j];
            }
        }
    }

    private static float RowMax(float* x, int n)
    {
        var i = 0;
        var m = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            // Four independent maxima hide vmaxps's latency (one chain ran at a third of the load rate: 2% of ViT-L
            // inference). MaxNative is the bare instruction: a NaN score may be dropped here, but it still turns its
            // row to NaN in the exponentials that follow.
            var mv = Vector256.Create(float.NegativeInfinity);
            var m1 = mv;
            var m2 = mv;
            var m3 = mv;
            for (; i + 32 <= n; i += 32)
            {
                mv = Vector256.MaxNative(mv, Vector256.Load(x + i));
                m1 = Vector256.MaxNative(m1, Vector256.Load(x + i + 8));
                m2 = Vector256.MaxNative(m2, Vector256.Load(x + i + 16));
                m3 = Vector256.MaxNative(m3, Vector256.Load(x + i + 24));
            }
            mv = Vector256.MaxNative(Vector256.MaxNative(mv, m1), Vector256.MaxNative(m2, m3));
            for (; i + 8 <= n; i += 8)
            {
                mv = Vector256.MaxNative(mv, Vector256.Load(x + i));
            }
            for (var l = 0; l < 8; l++)
            {
                m = MathF.Max(m, mv.GetElement(l));
            }
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            var mv = Vector128.Create(float.NegativeInfinity);
            for (; i + 4 <= n; i += 4)
            {
                mv = Vector128.Max(mv, Vector128.Load(x + i));
            }
            for (var l = 0; l < 4; l++)
            {
                m = MathF.Max(m, mv.GetElement(l));
            }
        }
        for (; i < n; i++)
        {
            m = MathF.Max(m, x[i]);
        }
        return m;
    }

    /// <summary>x ← exp(x − shift) in place over n values; returns their sum.</summary>
    private static float ExpShiftedInPlace(float* x, int n, float shift)
    {
        var i = 0;
        var sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var sv = Vector512.Create(shift);
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var e = VectorMath.Exp(Vector512.Load(x + i) - sv);
                e.Store(x + i);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var sv = Vector256.Create(shift);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var e = VectorMath.Exp(Vector256.Load(x + i) - sv);
                e.Store(x + i);
                acc += e;
            }
            sum += Vector256.Sum(acc);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var sv = Vector128.Create(shift);
            var acc = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                var e = VectorMath.Exp(Vector128.Load(x + i) - sv);
                e.Store(x + i);
                acc += e;
            }
            sum += Vector128.Sum(acc);
        }
        for (; i < n; i++)
        {
            x[i] = VectorMath.Exp(x[i] - shift);
            sum += x[i];
        }
        return sum;
    }

    private static void ScaleInPlace(float* x, int n, float factor)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; i + 8 <= n; i += 8)
            {
                (Vector256.Load(x + i) * f).Store(x + i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var f = Vector128.Create(factor);
            for (; i + 4 <= n; i += 4)
            {
                (Vector128.Load(x + i) * f).Store(x + i);
            }
        }
        for (; i < n; i++)
        {
            x[i] *= factor;
        }
    }

    private static float Dot(float* a, float* b, int n)
    {
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                acc = MulAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            }
            sum = Vector256.Sum(acc);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var acc = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                acc = Vector128.MultiplyAddEstimate(Vector128.Load(a + i), Vector128.Load(b + i), acc);
            }
            sum = Vector128.Sum(acc);
        }
        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /// <summary>
    /// C[m, n] (+)= A[m, k] B[k, n], all row-major with leading dimensions; n is a multiple of 8 (tiles are padded).
    /// The 4×16 register block holds 8 accumulators and reads each B vector once per 4 rows.
    /// </summary>
    private static void TileGemm(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k, bool accumulate)
    {
        if (!Vector256.IsHardwareAccelerated && Vector128.IsHardwareAccelerated)
        {
            TileGemm128(a, lda, b, ldb, c, ldc, m, n, k, accumulate);
            return;
        }
        if (!Vector256.IsHardwareAccelerated)
        {
            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    var sum = accumulate ? c[i * ldc + j] : 0f;
                    for (var l = 0; l < k; l++)
                    {
                        sum += a[i * lda + l] * b[l * ldb + j];
                    }
                    c[i * ldc + j] = sum;
                }
            }
            return;
        }
        var r = 0;
        for (; r + 4 <= m; r += 4)
        {
            var j = 0;
            for (; j + 16 <= n; j += 16)
            {
                Kernel4x16(a + r * lda, lda, b + j, ldb, c + r * ldc + j, ldc, k, accumulate);
            }
            for (; j < n; j += 8)
            {
                for (var i = r; i < r + 4; i++)
                {
                    Kernel1x8(a + i * lda, b + j, ldb, c + i * ldc + j, k, accumulate);
                }
            }
        }
        for (; r < m; r++)
        {
            for (var j = 0; j < n; j += 8)
            {
                Kernel1x8(a + r * lda, b + j, ldb, c + r * ldc + j, k, accumulate);
            }
        }
    }

    private static void Kernel4x16(float* a, int lda, float* b, int ldb, float* c, int ldc, int k, bool accumulate)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Vector256.Load(c);
            c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ldc);
            c11 = Vector256.Load(c + ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc);
            c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc);
            c31 = Vector256.Load(c + 3 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<float>.Zero;
        }
        var a0 = a;
        var a1 = a + lda;
        var a2 = a + 2 * lda;
        var a3 = a + 3 * lda;
        for (var l = 0; l < k; l++, b += ldb)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a0[l]);
            c00 = MulAdd(x, b0, c00);
            c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a1[l]);
            c10 = MulAdd(x, b0, c10);
            c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a2[l]);
            c20 = MulAdd(x, b0, c20);
            c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a3[l]);
            c30 = MulAdd(x, b0, c30);
            c31 = MulAdd(x, b1, c31);
        }
        c00.Store(c);
        c01.Store(c + 8);
        c10.Store(c + ldc);
        c11.Store(c + ldc + 8);
        c20.Store(c + 2 * ldc);
        c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc);
        c31.Store(c + 3 * ldc + 8);
    }

    /// <summary>
    /// <see cref="TileGemm"/> where only 128-bit vectors are accelerated (arm64 NEON): 4 rows x 8 columns per block,
    /// 8 accumulators, each B vector read once per 4 rows; n is a multiple of 8, so there are no column tails.
    /// </summary>
    private static void TileGemm128(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k, bool accumulate)
    {
        var r = 0;
        for (; r + 4 <= m; r += 4)
        {
            for (var j = 0; j < n; j += 8)
            {
                var cr = c + r * ldc + j;
                Vector128<float> c00, c01, c10, c11, c20, c21, c30, c31;
                if (accumulate)
                {
                    c00 = Vector128.Load(cr);
                    c01 = Vector128.Load(cr + 4);
                    c10 = Vector128.Load(cr + ldc);
                    c11 = Vector128.Load(cr + ldc + 4);
                    c20 = Vector128.Load(cr + 2 * ldc);
                    c21 = Vector128.Load(cr + 2 * ldc + 4);
                    c30 = Vector128.Load(cr + 3 * ldc);
                    c31 = Vector128.Load(cr + 3 * ldc + 4);
                }
                else
                {
                    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector128<float>.Zero;
                }
                var a0 = a + r * lda;
                var bj = b + j;
                for (var l = 0; l < k; l++, bj += ldb)
                {
                    var b0 = Vector128.Load(bj);
                    var b1 = Vector128.Load(bj + 4);
                    var x = Vector128.Create(a0[l]);
                    c00 = Vector128.MultiplyAddEstimate(x, b0, c00);
                    c01 = Vector128.MultiplyAddEstimate(x, b1, c01);
                    x = Vector128.Create(a0[lda + l]);
                    c10 = Vector128.MultiplyAddEstimate(x, b0, c10);
                    c11 = Vector128.MultiplyAddEstimate(x, b1, c11);
                    x = Vector128.Create(a0[2 * lda + l]);
                    c20 = Vector128.MultiplyAddEstimate(x, b0, c20);
                    c21 = Vector128.MultiplyAddEstimate(x, b1, c21);
                    x = Vector128.Create(a0[3 * lda + l]);
                    c30 = Vector128.MultiplyAddEstimate(x, b0, c30);
                    c31 = Vector128.MultiplyAddEstimate(x, b1, c31);
                }
                c00.Store(cr);
                c01.Store(cr + 4);
                c10.Store(cr + ldc);
                c11.Store(cr + ldc + 4);
                c20.Store(cr + 2 * ldc);
                c21.Store(cr + 2 * ldc + 4);
                c30.Store(cr + 3 * ldc);
                c31.Store(cr + 3 * ldc + 4);
            }
        }
        for (; r < m; r++)
        {
            for (var j = 0; j < n; j += 4)
            {
                var cr = c + r * ldc + j;
                var acc = accumulate ? Vector128.Load(cr) : Vector128<float>.Zero;
                var bj = b + j;
                for (var l = 0; l < k; l++, bj += ldb)
                {
                    acc = Vector128.MultiplyAddEstimate(Vector128.Create(a[r * lda + l]), Vector128.Load(bj), acc);
                }
                acc.Store(cr);
            }
        }
    }

    private static void Kernel1x8(float* a, float* b, int ldb, float* c, int k, bool accumulate)
    {
        var acc = accumulate ? Vector256.Load(c) : Vector256<float>.Zero;
        for (var l = 0; l < k; l++, b += ldb)
        {
            acc = MulAdd(Vector256.Create(a[l]), Vector256.Load(b), acc);
        }
        acc.Store(c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>Shapes, strides and data of q/k/v for one attention call (q, k, v: [B, H, L, D], last stride 1).</summary>
    private readonly struct AttentionProblem
    {
        public AttentionProblem(Tensor q, Tensor k, Tensor v, float scale, bool causal)
        {
            HeadsPerBatch = q.Shape[1];
            Heads = q.Shape[0] * q.Shape[1];
            Lq = q.Shape[2];
            Lk = k.Shape[2];
            D = q.Shape[3];
            PaddedD = RoundUp8(D);
            // Every scratch tile is at most 64 rows of max(64, padded D) floats.
            ScratchBlock = Math.Max(AttentionBlockQ, AttentionBlockK) * Math.Max(64, PaddedD);
            KeyTiles = (Lk + AttentionBlockK - 1) / AttentionBlockK;
            TransposedSlot = D * AttentionBlockK;
            RowSlot = AttentionBlockK * PaddedD;
            Scale = scale;
            Causal = causal;
            (QData, QOffset, QBatch, QHead, QRow) = Strided(q);
            (KData, KOffset, KBatch, KHead, KRow) = Strided(k);
            (VData, VOffset, VBatch, VHead, VRow) = Strided(v);
        }

        public int HeadsPerBatch { get; }

        public int Heads { get; }

        public int Lq { get; }

        public int Lk { get; }

        public int D { get; }

        public int PaddedD { get; }

        public int ScratchBlock { get; }

        public int KeyTiles { get; }

        /// <summary>Floats per packed [D, 64] key tile.</summary>
        public int TransposedSlot { get; }

        /// <summary>Floats per packed [64, padded D] key tile.</summary>
        public int RowSlot { get; }

        public float Scale { get; }

        public bool Causal { get; }

        public float[] QData { get; }

        public float[] KData { get; }

        public float[] VData { get; }

        public long QRow { get; }

        public long KRow { get; }

        public long VRow { get; }

        private long QOffset { get; }

        private long QBatch { get; }

        private long QHead { get; }

        private long KOffset { get; }

        private long KBatch { get; }

        private long KHead { get; }

        private long VOffset { get; }

        private long VBatch { get; }

        private long VHead { get; }

        public long QBase(int bh) => QOffset + bh / HeadsPerBatch * QBatch + bh % HeadsPerBatch * QHead;

        public long KBase(int bh) => KOffset + bh / HeadsPerBatch * KBatch + bh % HeadsPerBatch * KHead;

        public long VBase(int bh) => VOffset + bh / HeadsPerBatch * VBatch + bh % HeadsPerBatch * VHead;

        public (float[] Data, long Base, long Row) Source(AttentionSource source, int bh) => source == AttentionSource.K
            ? (KData, KBase(bh), KRow)
            : (VData, VBase(bh), VRow);

        private static (float[] Data, long Offset, long Batch, long Head, long Row) Strided(Tensor t)
        {
            if (t.DType != DType.F32 || (t.Shape[3] > 1 && t.Strides[3] != 1))
            {
                throw new InvalidOperationException($"attention kernel needs f32 [B,H,L,D] with unit last stride, got {t}");
            }
            return (Cpu(t).Floats, t.Offset, t.Strides[0], t.Strides[1], t.Strides[2]);
        }
    }

    /// <summary>Saved forward output, logsumexp and the incoming gradient (all contiguous).</summary>
    private readonly struct AttentionGrads
    {
        public AttentionGrads(Tensor output, Tensor logSumExp, Tensor gradOutput)
        {
            _ = Dense(output);
            _ = Dense(logSumExp);
            _ = Dense(gradOutput);
            OutData = Cpu(output).Floats;
            OutOffset = output.Offset;
            LseData = Cpu(logSumExp).Floats;
            LseOffset = logSumExp.Offset;
            GradOutData = Cpu(gradOutput).Floats;
            GradOutOffset = gradOutput.Offset;
        }

        public float[] OutData { get; }

        public long OutOffset { get; }

        public float[] LseData { get; }

        public long LseOffset { get; }

        public float[] GradOutData { get; }

        public long GradOutOffset { get; }
    }
}

/// <summary>Which key-side operand a packing pass reads.</summary>
internal enum AttentionSource
{
    K,
    V,
}
