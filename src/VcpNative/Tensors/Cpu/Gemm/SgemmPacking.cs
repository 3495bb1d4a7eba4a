// Packing of sgemm operands into the panel layout the micro-kernels stream through, plus the per-thread pack buffers.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>Copies a strip of a matrix into a panel: <c>dst[p * w + i] = src[p * strideK + i * strideIdx]</c>, zero-padded to width w.</summary>
internal static unsafe class SgemmPacking
{

    /// <summary>
    /// Packs <paramref name="width"/> (&lt;= w) indices by <paramref name="kc"/> k steps; indices width..w-1 become 0 so
    /// edge tiles can run the full kernel. Writes nothing outside the panel.
    /// </summary>
    public static void PackPanel(float* src, long strideK, long strideIdx, int kc, int width, int w, float* dst)
    {
        if (strideIdx == 1)
        {
            PackContiguous(src, strideK, kc, width, w, dst);
        }
        else if (strideK == 1 && width == w && kc >= 8 && Avx.IsSupported)
        {
            PackTransposedAvx(src, strideIdx, kc, w, dst);
        }
        else
        {
            PackGather(src, strideK, strideIdx, kc, width, w, dst);
        }
    }

    /// <summary>Each k step's indices are contiguous in the source (B not transposed, or A transposed): row copies.</summary>
    private static void PackContiguous(float* src, long strideK, int kc, int width, int w, float* dst)
    {
        if (width == w && w == 16 && Vector256.IsHardwareAccelerated)
        {
            for (var p = 0; p < kc; p++)
            {
                var s = src + (p * strideK);
                Vector256.Store(Vector256.Load(s), dst);
                Vector256.Store(Vector256.Load(s + 8), dst + 8);
                dst += 16;
            }
            return;
        }
        if (width == w && w == 32 && Vector512.IsHardwareAccelerated)
        {
            for (var p = 0; p < kc; p++)
            {
                var s = src + (p * strideK);
                Vector512.Store(Vector512.Load(s), dst);
                Vector512.Store(Vector512.Load(s + 16), dst + 16);
                dst += 32;
            }
            return;
        }
        if (width == w && (w & 3) == 0 && Vector128.IsHardwareAccelerated)
        {
            // NEON panels (8 and 12 wide) and the other multiples of 4: whole 128-bit rows.
            for (var p = 0; p < kc; p++)
            {
                var s = src + (p * strideK);
                for (var i = 0; i < w; i += 4)
                {
                    Vector128.Store(Vector128.Load(s + i), dst + i);
                }
                dst += w;
            }
            return;
        }
        for (var p = 0; p < kc; p++)
        {
            var s = src + (p * strideK);
            var i = 0;
            for (; i < width; i++)
            {
                dst[i] = s[i];
            }
            for (; i < w; i++)
            {
                dst[i] = 0f;
            }
            dst += w;
        }
    }

    /// <summary>General strided gather (A not transposed, B transposed at edges): one source row per index.</summary>
    private static void PackGather(float* src, long strideK, long strideIdx, int kc, int width, int w, float* dst)
    {
        for (var i = 0; i < width; i++)
        {
            var s = src + (i * strideIdx);
            var d = dst + i;
            for (var p = 0; p < kc; p++)
            {
                d[(long)p * w] = s[p * strideK];
            }
        }
        if (width < w)
        {
            for (var p = 0; p < kc; p++)
            {
                new Span<float>(dst + ((long)p * w) + width, w - width).Clear();
            }
        }
    }

    /// <summary>
    /// Source rows are contiguous along k (B transposed: weights W[N,K]; A not transposed): transposes 8x8 blocks in
    /// registers. When w is not a multiple of 8 (MR = 6, 12) the last group of 8 rows repeats the last real row and its
    /// stores run up to 7 floats past index w, into the next k's row; groups go last to first so group 0 of the next k
    /// overwrites that spill, and at least the final k is left to the scalar tail so nothing spills out of the panel
    /// (panels of one block are packed by different threads at once).
    /// </summary>
    private static void PackTransposedAvx(float* src, long strideIdx, int kc, int w, float* dst)
    {
        var kc8 = (w & 7) == 0 ? kc & ~7 : (kc - 1) & ~7;
        var groups = (w + 7) / 8;
        for (var p = 0; p < kc8; p += 8)
        {
            for (var g = groups - 1; g >= 0; g--)
            {
                Transpose8x8(src + p, strideIdx, 8 * g, w - 1, dst + ((long)p * w) + (8 * g), w);
            }
        }
        for (var p = kc8; p < kc; p++)
        {
            var d = dst + ((long)p * w);
            for (var i = 0; i < w; i++)
            {
                d[i] = src[(i * strideIdx) + p];
            }
        }
    }

    /// <summary>Rows firstRow..firstRow+7 (clamped to lastRow) of s, 8 k values each, stored as 8 k rows of d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, long sStride, int firstRow, int lastRow, float* d, int dStride)
    {
        var r0 = Avx.LoadVector256(s + (Math.Min(firstRow, lastRow) * sStride));
        var r1 = Avx.LoadVector256(s + (Math.Min(firstRow + 1, lastRow) * sStride));
        var r2 = Avx.LoadVector256(s + (Math.Min(firstRow + 2, lastRow) * sStride));
        var r3 = Avx.LoadVector256(s + (Math.Min(firstRow + 3, lastRow) * sStride));
        var r4 = Avx.LoadVector256(s + (Math.Min(firstRow + 4, lastRow) * sStride));
        var r5 = Avx.LoadVector256(s + (Math.Min(firstRow + 5, lastRow) * sStride));
        var r6 = Avx.LoadVector256(s + (Math.Min(firstRow + 6, lastRow) * sStride));
        var r7 = Avx.LoadVector256(s + (Math.Min(firstRow + 7, lastRow) * sStride));
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + dStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + (2 * dStride), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + (3 * dStride), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + (4 * dStride), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + (5 * dStride), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + (6 * dStride), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + (7 * dStride), Avx.Permute2x128(u3, u7, 0x31));
    }
}

/// <summary>One thread's packing buffers (A block, B block, edge tile, decoded B panel, attention K/V panels), 64-byte aligned native memory kept for the thread's lifetime.</summary>
internal sealed unsafe class SgemmPackArena
{
    [ThreadStatic]
    private static SgemmPackArena? current;

    private float* a;
    private float* b;
    private float* tile;
    private float* decode;
    private float* attention;
    private float* sharedA;
    private long aFloats;
    private long bFloats;
    private long tileFloats;
    private long decodeFloats;
    private long attentionFloats;
    private long sharedAFloats;

    public static SgemmPackArena ForCurrentThread() => current ??= new SgemmPackArena();

    public float* A(long floats) => Ensure(ref a, ref aFloats, floats);

    public float* B(long floats) => Ensure(ref b, ref bFloats, floats);

    public float* Tile(long floats) => Ensure(ref tile, ref tileFloats, floats);

    /// <summary>Scratch for one B panel decoded from bf16/int8 before packing (NR x KC floats).</summary>
    public float* Decode(long floats) => Ensure(ref decode, ref decodeFloats, floats);

    /// <summary>Every head's packed K and V of one attention call (used by the thread that makes the call).</summary>
    public float* AttentionPanels(long floats) => Ensure(ref attention, ref attentionFloats, floats);

    /// <summary>The whole packed op(A) of one column-split product (used by the thread that makes the call, read by all).</summary>
    public float* SharedA(long floats) => Ensure(ref sharedA, ref sharedAFloats, floats);

    private static float* Ensure(ref float* buffer, ref long capacity, long floats)
    {
        if (floats > capacity)
        {
            NativeMemory.AlignedFree(buffer);
            buffer = null;
            capacity = 0;
            buffer = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            capacity = floats;
        }
        return buffer;
    }

    // The arena dies with its thread (thread-static root dropped); give the native blocks back then.
    ~SgemmPackArena()
    {
        NativeMemory.AlignedFree(a);
        NativeMemory.AlignedFree(b);
        NativeMemory.AlignedFree(tile);
        NativeMemory.AlignedFree(decode);
        NativeMemory.AlignedFree(attention);
        NativeMemory.AlignedFree(sharedA);
    }
}
