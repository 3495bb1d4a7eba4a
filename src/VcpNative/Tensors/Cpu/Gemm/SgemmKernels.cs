// Register-blocked micro-kernels of the CPU sgemm: C[MR,NR] = alpha * Apanel * Bpanel + beta * C over packed panels.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Micro-kernels over packed panels: A panel holds MR floats per k step, B panel NR floats per k step (both 32-byte aligned
/// for the x86 kernels). beta == 0 writes C without reading it, so NaN garbage in C never leaks into the result.
/// </summary>
internal static unsafe partial class SgemmKernels
{
    /// <summary>AVX-512 12x32 tile: 24 accumulators + 2 B vectors + 1 broadcast fit the 32 zmm registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx512Kernel12x32(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default;
        Vector512<float> c70 = default, c71 = default;
        Vector512<float> c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default;
        Vector512<float> c100 = default, c101 = default;
        Vector512<float> c110 = default, c111 = default;
        PrefetchRows(c, ldc, 12, 32);
        for (var p = 0; p < kc; p++)
        {
            var b0 = Avx512F.LoadAlignedVector512(b);
            var b1 = Avx512F.LoadAlignedVector512(b + 16);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            var a8 = Vector512.Create(a[8]);
            c80 = Avx512F.FusedMultiplyAdd(a8, b0, c80);
            c81 = Avx512F.FusedMultiplyAdd(a8, b1, c81);
            var a9 = Vector512.Create(a[9]);
            c90 = Avx512F.FusedMultiplyAdd(a9, b0, c90);
            c91 = Avx512F.FusedMultiplyAdd(a9, b1, c91);
            var a10 = Vector512.Create(a[10]);
            c100 = Avx512F.FusedMultiplyAdd(a10, b0, c100);
            c101 = Avx512F.FusedMultiplyAdd(a10, b1, c101);
            var a11 = Vector512.Create(a[11]);
            c110 = Avx512F.FusedMultiplyAdd(a11, b0, c110);
            c111 = Avx512F.FusedMultiplyAdd(a11, b1, c111);
            a += 12;
            b += 32;
        }
        var va = Vector512.Create(alpha);
        StoreRow(c + (0 * ldc), va, beta, c00, c01);
        StoreRow(c + (1 * ldc), va, beta, c10, c11);
        StoreRow(c + (2 * ldc), va, beta, c20, c21);
        StoreRow(c + (3 * ldc), va, beta, c30, c31);
        StoreRow(c + (4 * ldc), va, beta, c40, c41);
        StoreRow(c + (5 * ldc), va, beta, c50, c51);
        StoreRow(c + (6 * ldc), va, beta, c60, c61);
        StoreRow(c + (7 * ldc), va, beta, c70, c71);
        StoreRow(c + (8 * ldc), va, beta, c80, c81);
        StoreRow(c + (9 * ldc), va, beta, c90, c91);
        StoreRow(c + (10 * ldc), va, beta, c100, c101);
        StoreRow(c + (11 * ldc), va, beta, c110, c111);
    }

    /// <summary>AVX2+FMA 6x16 tile: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx2Kernel6x16(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default;
        Vector256<float> c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default;
        Vector256<float> c50 = default, c51 = default;
        // C rows are far apart (often a multiple of 4 KiB); fetching them now hides the misses behind the k loop.
        PrefetchRows(c, ldc, 6, 16);
        // Two k steps per iteration: a third less loop overhead per FMA, the same summation order per accumulator.
        var p = 0;
        for (; p + 1 < kc; p += 2)
        {
            Avx2Step6x16(a, b, 0, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            Avx2Step6x16(a, b, 1, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a += 12;
            b += 32;
        }
        if (p < kc)
        {
            Avx2Step6x16(a, b, 0, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
        }
        var va = Vector256.Create(alpha);
        StoreRow(c + (0 * ldc), va, beta, c00, c01);
        StoreRow(c + (1 * ldc), va, beta, c10, c11);
        StoreRow(c + (2 * ldc), va, beta, c20, c21);
        StoreRow(c + (3 * ldc), va, beta, c30, c31);
        StoreRow(c + (4 * ldc), va, beta, c40, c41);
        StoreRow(c + (5 * ldc), va, beta, c50, c51);
    }

    /// <summary>
    /// k step <paramref name="step"/> (a constant after inlining, folded into the addresses) of the 6x16 tile: two B
    /// vectors, six broadcast A values, twelve FMAs; inlined, so the accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Avx2Step6x16(
        float* a, float* b, int step,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11,
        ref Vector256<float> c20, ref Vector256<float> c21, ref Vector256<float> c30, ref Vector256<float> c31,
        ref Vector256<float> c40, ref Vector256<float> c41, ref Vector256<float> c50, ref Vector256<float> c51)
    {
        var b0 = Avx.LoadAlignedVector256(b + (16 * step));
        var b1 = Avx.LoadAlignedVector256(b + (16 * step) + 8);
        var a0 = Vector256.Create(a[(6 * step) + 0]);
        c00 = Fma.MultiplyAdd(a0, b0, c00);
        c01 = Fma.MultiplyAdd(a0, b1, c01);
        var a1 = Vector256.Create(a[(6 * step) + 1]);
        c10 = Fma.MultiplyAdd(a1, b0, c10);
        c11 = Fma.MultiplyAdd(a1, b1, c11);
        var a2 = Vector256.Create(a[(6 * step) + 2]);
        c20 = Fma.MultiplyAdd(a2, b0, c20);
        c21 = Fma.MultiplyAdd(a2, b1, c21);
        var a3 = Vector256.Create(a[(6 * step) + 3]);
        c30 = Fma.MultiplyAdd(a3, b0, c30);
        c31 = Fma.MultiplyAdd(a3, b1, c31);
        var a4 = Vector256.Create(a[(6 * step) + 4]);
        c40 = Fma.MultiplyAdd(a4, b0, c40);
        c41 = Fma.MultiplyAdd(a4, b1, c41);
        var a5 = Vector256.Create(a[(6 * step) + 5]);
        c50 = Fma.MultiplyAdd(a5, b0, c50);
        c51 = Fma.MultiplyAdd(a5, b1, c51);
    }

    /// <summary>Portable Vector128 4x8 tile (SSE / NEON); multiply-add fuses where the hardware can.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Vector128Kernel4x8(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector128<float> c00 = default, c01 = default;
        Vector128<float> c10 = default, c11 = default;
        Vector128<float> c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var a0 = Vector128.Create(a[0]);
            c00 = Vector128.MultiplyAddEstimate(a0, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(a0, b1, c01);
            var a1 = Vector128.Create(a[1]);
            c10 = Vector128.MultiplyAddEstimate(a1, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(a1, b1, c11);
            var a2 = Vector128.Create(a[2]);
            c20 = Vector128.MultiplyAddEstimate(a2, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(a2, b1, c21);
            var a3 = Vector128.Create(a[3]);
            c30 = Vector128.MultiplyAddEstimate(a3, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(a3, b1, c31);
            a += 4;
            b += 8;
        }
        var va = Vector128.Create(alpha);
        StoreRow(c + (0 * ldc), va, beta, c00, c01);
        StoreRow(c + (1 * ldc), va, beta, c10, c11);
        StoreRow(c + (2 * ldc), va, beta, c20, c21);
        StoreRow(c + (3 * ldc), va, beta, c30, c31);
    }

    /// <summary>Plain scalar 4x4 tile for targets without SIMD.</summary>
    internal static void ScalarKernel4x4(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        var acc = stackalloc float[16];
        new Span<float>(acc, 16).Clear();
        for (var p = 0; p < kc; p++)
        {
            for (var i = 0; i < 4; i++)
            {
                var ai = a[i];
                for (var j = 0; j < 4; j++)
                {
                    acc[(i * 4) + j] += ai * b[j];
                }
            }
            a += 4;
            b += 4;
        }
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                var ci = c + (i * ldc) + j;
                *ci = beta == 0f ? alpha * acc[(i * 4) + j] : (alpha * acc[(i * 4) + j]) + (beta * *ci);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRows(float* c, long ldc, int rows, int width)
    {
        for (var i = 0; i < rows; i++)
        {
            Sse.Prefetch0(c + (i * ldc));
            Sse.Prefetch0(c + (i * ldc) + width - 1);
        }
    }

    // One StoreRow per register width (512/256/128): each micro-kernel keeps its accumulators in concrete vector
    // types so the JIT emits straight-line SIMD; a shared generic version would go through a slower abstraction.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector512<float> alpha, float beta, Vector512<float> acc0, Vector512<float> acc1)
    {
        acc0 *= alpha;
        acc1 *= alpha;
        if (beta == 1f)
        {
            acc0 += Vector512.Load(c);
            acc1 += Vector512.Load(c + 16);
        }
        else if (beta != 0f)
        {
            var vb = Vector512.Create(beta);
            acc0 += vb * Vector512.Load(c);
            acc1 += vb * Vector512.Load(c + 16);
        }
        acc0.Store(c);
        acc1.Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> alpha, float beta, Vector256<float> acc0, Vector256<float> acc1)
    {
        acc0 *= alpha;
        acc1 *= alpha;
        if (beta == 1f)
        {
            acc0 += Vector256.Load(c);
            acc1 += Vector256.Load(c + 8);
        }
        else if (beta != 0f)
        {
            var vb = Vector256.Create(beta);
            acc0 += vb * Vector256.Load(c);
            acc1 += vb * Vector256.Load(c + 8);
        }
        acc0.Store(c);
        acc1.Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector128<float> alpha, float beta, Vector128<float> acc0, Vector128<float> acc1)
    {
        acc0 *= alpha;
        acc1 *= alpha;
        if (beta == 1f)
        {
            acc0 += Vector128.Load(c);
            acc1 += Vector128.Load(c + 4);
        }
        else if (beta != 0f)
        {
            var vb = Vector128.Create(beta);
            acc0 += vb * Vector128.Load(c);
            acc1 += vb * Vector128.Load(c + 4);
        }
        acc0.Store(c);
        acc1.Store(c + 4);
    }
}
