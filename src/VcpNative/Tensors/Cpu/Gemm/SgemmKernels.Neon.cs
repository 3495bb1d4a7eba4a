// NEON (AdvSimd, arm64) micro-kernel of the CPU sgemm: an 8x12 register tile that multiplies by A lanes in place (FMLA by element).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace VcpNative.Tensors.Cpu;

internal static unsafe partial class SgemmKernels
{
    /// <summary>
    /// arm64 8x12 tile: 24 accumulators + 2 A vectors + 3 B vectors = 29 of the 32 NEON registers. Each k step loads the
    /// 8 A values as two vectors and multiplies every B vector by one lane of them (<c>fmla v.4s, v.4s, v.s[lane]</c>),
    /// so no broadcast instruction competes with the 24 FMAs (BLIS uses the same shape on armv8a). Elsewhere the lane is
    /// broadcast and fused with <see cref="Vector128.FusedMultiplyAdd(Vector128{float}, Vector128{float}, Vector128{float})"/>
    /// (the same single rounding), so the tests run this tile's logic on x64 too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void NeonKernel8x12(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector128<float> c00 = default, c01 = default, c02 = default;
        Vector128<float> c10 = default, c11 = default, c12 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default;
        Vector128<float> c30 = default, c31 = default, c32 = default;
        Vector128<float> c40 = default, c41 = default, c42 = default;
        Vector128<float> c50 = default, c51 = default, c52 = default;
        Vector128<float> c60 = default, c61 = default, c62 = default;
        Vector128<float> c70 = default, c71 = default, c72 = default;
        for (var p = 0; p < kc; p++)
        {
            var a0 = Vector128.Load(a);
            var a1 = Vector128.Load(a + 4);
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var b2 = Vector128.Load(b + 8);
            c00 = FmaByLane(c00, b0, a0, 0);
            c01 = FmaByLane(c01, b1, a0, 0);
            c02 = FmaByLane(c02, b2, a0, 0);
            c10 = FmaByLane(c10, b0, a0, 1);
            c11 = FmaByLane(c11, b1, a0, 1);
            c12 = FmaByLane(c12, b2, a0, 1);
            c20 = FmaByLane(c20, b0, a0, 2);
            c21 = FmaByLane(c21, b1, a0, 2);
            c22 = FmaByLane(c22, b2, a0, 2);
            c30 = FmaByLane(c30, b0, a0, 3);
            c31 = FmaByLane(c31, b1, a0, 3);
            c32 = FmaByLane(c32, b2, a0, 3);
            c40 = FmaByLane(c40, b0, a1, 0);
            c41 = FmaByLane(c41, b1, a1, 0);
            c42 = FmaByLane(c42, b2, a1, 0);
            c50 = FmaByLane(c50, b0, a1, 1);
            c51 = FmaByLane(c51, b1, a1, 1);
            c52 = FmaByLane(c52, b2, a1, 1);
            c60 = FmaByLane(c60, b0, a1, 2);
            c61 = FmaByLane(c61, b1, a1, 2);
            c62 = FmaByLane(c62, b2, a1, 2);
            c70 = FmaByLane(c70, b0, a1, 3);
            c71 = FmaByLane(c71, b1, a1, 3);
            c72 = FmaByLane(c72, b2, a1, 3);
            a += 8;
            b += 12;
        }
        var va = Vector128.Create(alpha);
        StoreRow(c + (0 * ldc), va, beta, c00, c01, c02);
        StoreRow(c + (1 * ldc), va, beta, c10, c11, c12);
        StoreRow(c + (2 * ldc), va, beta, c20, c21, c22);
        StoreRow(c + (3 * ldc), va, beta, c30, c31, c32);
        StoreRow(c + (4 * ldc), va, beta, c40, c41, c42);
        StoreRow(c + (5 * ldc), va, beta, c50, c51, c52);
        StoreRow(c + (6 * ldc), va, beta, c60, c61, c62);
        StoreRow(c + (7 * ldc), va, beta, c70, c71, c72);
    }

    /// <summary>acc + b * a[lane], fused (one rounding); a constant lane keeps it one FMLA-by-element instruction on arm64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> FmaByLane(Vector128<float> acc, Vector128<float> b, Vector128<float> a, [ConstantExpected(Max = (byte)3)] byte lane) =>
        AdvSimd.Arm64.IsSupported
            ? AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(acc, b, a, lane)
            : Vector128.FusedMultiplyAdd(b, Vector128.Create(a.GetElement(lane)), acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector128<float> alpha, float beta, Vector128<float> acc0, Vector128<float> acc1, Vector128<float> acc2)
    {
        acc0 *= alpha;
        acc1 *= alpha;
        acc2 *= alpha;
        if (beta == 1f)
        {
            acc0 += Vector128.Load(c);
            acc1 += Vector128.Load(c + 4);
            acc2 += Vector128.Load(c + 8);
        }
        else if (beta != 0f)
        {
            var vb = Vector128.Create(beta);
            acc0 += vb * Vector128.Load(c);
            acc1 += vb * Vector128.Load(c + 4);
            acc2 += vb * Vector128.Load(c + 8);
        }
        acc0.Store(c);
        acc1.Store(c + 4);
        acc2.Store(c + 8);
    }
}
