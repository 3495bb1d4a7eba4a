// Int8 GEMM micro-kernels: C[MR x 16] (+)= A[MR, 4G] (quantised activations, stored biased) x B panel (int8 weights),
// int32 accumulation.
//
// Variants (all exact: each returns sum_k (a[m,k] + bias) * b[n,k] in int32, which cannot overflow for K < 2^17; the
// driver subtracts bias * sum_k b[n,k] per column (Int8PackedWeight.ColumnSums), so C = sum_k q_a * q_b exactly). They
// differ in the activation range they take (Int8Kernel.ActivationLevels), so the 7-bit kernel's *quantisation* differs:
//   avxvnni-6x16   AVX-VNNI vpdpbusd (ymm), 8-bit activations q in [-127, 127] stored u8 = q + 128. The non-saturating
//                  form: 4 products of at most 255 * 127 summed into int32 never overflow.
//   avx2u7-4x16    AVX2 without VNNI (default there): 7-bit activations q in [-63, 63] stored u8 = q + 64 (0..127), so a
//                  vpmaddubsw pair sum is at most 2 * 127 * 127 = 32258 < 32767 and its int16 saturation cannot trigger
//                  (fbgemm's "reduce_range"). Per 32 multiply-adds: vpmaddubsw + vpmaddwd (by ones) + vpaddd. 4 rows,
//                  two depth groups per iteration: 8 accumulators + 2 weight vectors + broadcast + ones + 2 products =
//                  13 ymm, no spills in the Tier1 code (DOTNET_JitDisasm=Avx2Kernel4x16); 4 rows without the unroll, 5 and
//                  6 rows measured the same within noise, and 6 rows spilled one accumulator per group (the JIT keeps
//                  both weight vectors in registers rather than as memory operands).
//   avx2sign-4x16  AVX2 with the sign trick, 8-bit activations q in [-127, 127] stored as s8: |a| (u8 <= 127) times
//                  b * sign(a); pairs <= 2 * 127 * 127. Two more ops (vpabsb amortised, vpsignb) per 32 multiply-adds:
//                  ~1.3x the time of avx2u7 on Zen 5; kept as the 8-bit AVX2 comparison (bench, tests), not the default.
//   scalar-4x16    portable reference (arm64 and CPUs without AVX2), 8-bit activations as s8.
// Weights are always q in [-127, 127] (never -128: the symmetric format, and the sign trick needs it).
// (.NET 10 exposes no 512-bit vpdpbusd: a CPU with both runs the AVX-VNNI ymm kernel; AVX512-VNNI alone gets avx2u7.)
//
// Layouts: A row-major bytes, leading dimension lda (a multiple of 4), MR rows; B one packed panel of 16 columns,
// 4-byte groups: byte (g, j, t) = b[col j, k = 4g + t] at offset (g * 16 + j) * 4. C int32 row-major, ldc.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>One int8 micro-kernel: its tile height, how it wants activations stored, and its entry point.</summary>
internal sealed unsafe class Int8Kernel
{
    /// <summary>Columns per packed weight panel (every kernel): 16 int32 lanes = two ymm accumulators per row.</summary>
    public const int PanelWidth = 16;

    private Int8Kernel(string name, int mr, int activationLevels, int activationBias, delegate*<byte*, int, sbyte*, int, int*, int, bool, void> run)
    {
        Name = name;
        Mr = mr;
        ActivationLevels = activationLevels;
        ActivationBias = activationBias;
        Run = run;
    }

    /// <summary>Name for logs and benchmarks (e.g. "avxvnni-6x16").</summary>
    public string Name { get; }

    /// <summary>Rows of C per call.</summary>
    public int Mr { get; }

    /// <summary>Largest |q| of a quantised activation: 127 (8-bit) or 63 (7-bit, avx2u7); a token's scale is max|x| / this.</summary>
    public int ActivationLevels { get; }

    /// <summary>Activations are stored as the byte q + this (128, 64 or 0); the driver subtracts this * sum_k b[n,k] per column.</summary>
    public int ActivationBias { get; }

    /// <summary>(a, lda, bPanel, groups, c, ldc, accumulate): C[Mr x 16] = (accumulate ? C : 0) + A[Mr, 4 groups] x panel.</summary>
    public delegate*<byte*, int, sbyte*, int, int*, int, bool, void> Run { get; }

    public static readonly Int8Kernel AvxVnni6x16 = new("avxvnni-6x16", 6, 127, 128, &AvxVnniKernel);
    public static readonly Int8Kernel Avx2U7 = new("avx2u7-4x16", 4, 63, 64, &Avx2Kernel4x16<U7Dot>);
    public static readonly Int8Kernel Avx2Sign4x16 = new("avx2sign-4x16", 4, 127, 0, &Avx2Kernel4x16<SignDot>);
    public static readonly Int8Kernel Scalar4x16 = new("scalar-4x16", 4, 127, 0, &ScalarKernel);

    /// <summary>
    /// The fastest kernel this CPU runs (as the runtime reports it: DOTNET_EnableAVXVNNI=0 etc. are honoured). Note that
    /// AVX-VNNI and AVX2-only CPUs therefore quantise activations differently (8 vs 7 bits) and give different results.
    /// </summary>
    public static Int8Kernel Default { get; } =
        System.Runtime.Intrinsics.X86.AvxVnni.IsSupported ? AvxVnni6x16 : Avx2.IsSupported ? Avx2U7 : Scalar4x16;

    /// <summary>Every kernel this CPU can run (tests check each against the scalar reference).</summary>
    public static IReadOnlyList<Int8Kernel> Supported { get; } = SupportedKernels();

    private static Int8Kernel[] SupportedKernels()
    {
        var list = new List<Int8Kernel>();
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)
        {
            list.Add(AvxVnni6x16);
        }
        if (Avx2.IsSupported)
        {
            list.Add(Avx2U7);
            list.Add(Avx2Sign4x16);
        }
        list.Add(Scalar4x16);
        return [.. list];
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static void AvxVnniKernel(byte* a, int lda, sbyte* b, int groups, int* c, int ldc, bool accumulate)
    {
        Vector256<int> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Avx.LoadVector256(c); c01 = Avx.LoadVector256(c + 8);
            c10 = Avx.LoadVector256(c + ldc); c11 = Avx.LoadVector256(c + ldc + 8);
            c20 = Avx.LoadVector256(c + (2 * ldc)); c21 = Avx.LoadVector256(c + (2 * ldc) + 8);
            c30 = Avx.LoadVector256(c + (3 * ldc)); c31 = Avx.LoadVector256(c + (3 * ldc) + 8);
            c40 = Avx.LoadVector256(c + (4 * ldc)); c41 = Avx.LoadVector256(c + (4 * ldc) + 8);
            c50 = Avx.LoadVector256(c + (5 * ldc)); c51 = Avx.LoadVector256(c + (5 * ldc) + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<int>.Zero;
        }
        var a0 = (int*)a;
        var a1 = (int*)(a + lda);
        var a2 = (int*)(a + (2 * lda));
        var a3 = (int*)(a + (3 * lda));
        var a4 = (int*)(a + (4 * lda));
        var a5 = (int*)(a + (5 * lda));
        for (var g = 0; g < groups; g++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 32);
            b += 64;
            var x = Vector256.Create(a0[g]).AsByte();
            c00 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c00, x, b0);
            c01 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c01, x, b1);
            x = Vector256.Create(a1[g]).AsByte();
            c10 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c10, x, b0);
            c11 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c11, x, b1);
            x = Vector256.Create(a2[g]).AsByte();
            c20 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c20, x, b0);
            c21 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c21, x, b1);
            x = Vector256.Create(a3[g]).AsByte();
            c30 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c30, x, b0);
            c31 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c31, x, b1);
            x = Vector256.Create(a4[g]).AsByte();
            c40 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c40, x, b0);
            c41 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c41, x, b1);
            x = Vector256.Create(a5[g]).AsByte();
            c50 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c50, x, b0);
            c51 = System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(c51, x, b1);
        }
        Avx.Store(c, c00); Avx.Store(c + 8, c01);
        Avx.Store(c + ldc, c10); Avx.Store(c + ldc + 8, c11);
        Avx.Store(c + (2 * ldc), c20); Avx.Store(c + (2 * ldc) + 8, c21);
        Avx.Store(c + (3 * ldc), c30); Avx.Store(c + (3 * ldc) + 8, c31);
        Avx.Store(c + (4 * ldc), c40); Avx.Store(c + (4 * ldc) + 8, c41);
        Avx.Store(c + (5 * ldc), c50); Avx.Store(c + (5 * ldc) + 8, c51);
    }

    /// <summary>One depth group's multiply-add of a broadcast activation quad with a 32-byte weight vector.</summary>
    private interface IByteDot
    {
        static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, sbyte* b, Vector256<short> ones);
    }

    /// <summary>
    /// u7 x s8 through vpmaddubsw (pairs into int16: at most 2 * 127 * 127 = 32258, no saturation) then vpmaddwd by ones
    /// (quads into int32).
    /// </summary>
    private readonly struct U7Dot : IByteDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, sbyte* b, Vector256<short> ones) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, Avx.LoadVector256(b)), ones));
    }

    /// <summary>
    /// |a| x (b * sign a) through vpmaddubsw (pairs into int16, at most 32258: no saturation) then vpmaddwd by ones
    /// (quads into int32).
    /// </summary>
    private readonly struct SignDot : IByteDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, sbyte* b, Vector256<short> ones)
        {
            var signed = a.AsSByte();
            return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(signed), Avx2.Sign(Avx.LoadVector256(b), signed)), ones));
        }
    }

    /// <summary>
    /// The AVX2 4 x 16 tile, two depth groups per iteration, with the byte product <typeparamref name="TDot"/> (compiled
    /// once per product: 8 accumulators + 2 weight vectors + broadcast + ones + 2 products, no spills for U7Dot).
    /// </summary>
    private static void Avx2Kernel4x16<TDot>(byte* a, int lda, sbyte* b, int groups, int* c, int ldc, bool accumulate)
        where TDot : struct, IByteDot
    {
        Vector256<int> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Avx.LoadVector256(c); c01 = Avx.LoadVector256(c + 8);
            c10 = Avx.LoadVector256(c + ldc); c11 = Avx.LoadVector256(c + ldc + 8);
            c20 = Avx.LoadVector256(c + (2 * ldc)); c21 = Avx.LoadVector256(c + (2 * ldc) + 8);
            c30 = Avx.LoadVector256(c + (3 * ldc)); c31 = Avx.LoadVector256(c + (3 * ldc) + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<int>.Zero;
        }
        var ones = Vector256.Create((short)1);
        var a0 = (int*)a;
        var a1 = (int*)(a + lda);
        var a2 = (int*)(a + (2 * lda));
        var a3 = (int*)(a + (3 * lda));
        var g = 0;
        for (; g + 2 <= groups; g += 2)
        {
            Avx2Group4x16<TDot>(a0, a1, a2, a3, g, b, ones, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
            Avx2Group4x16<TDot>(a0, a1, a2, a3, g + 1, b + 64, ones, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
            b += 128;
        }
        if (g < groups)
        {
            // The odd last group.
            Avx2Group4x16<TDot>(a0, a1, a2, a3, g, b, ones, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
        }
        Avx.Store(c, c00); Avx.Store(c + 8, c01);
        Avx.Store(c + ldc, c10); Avx.Store(c + ldc + 8, c11);
        Avx.Store(c + (2 * ldc), c20); Avx.Store(c + (2 * ldc) + 8, c21);
        Avx.Store(c + (3 * ldc), c30); Avx.Store(c + (3 * ldc) + 8, c31);
    }

    /// <summary>
    /// One depth group of the 4 x 16 tile: each row's activation quad broadcast against the panel's two weight vectors;
    /// inlined, so the accumulators stay in registers (as in SgemmKernels.Avx2Step6x16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Avx2Group4x16<TDot>(
        int* a0, int* a1, int* a2, int* a3, int g, sbyte* b, Vector256<short> ones,
        ref Vector256<int> c00, ref Vector256<int> c01, ref Vector256<int> c10, ref Vector256<int> c11,
        ref Vector256<int> c20, ref Vector256<int> c21, ref Vector256<int> c30, ref Vector256<int> c31)
        where TDot : struct, IByteDot
    {
        var x = Vector256.Create(a0[g]).AsByte();
        c00 = TDot.Dot(c00, x, b, ones);
        c01 = TDot.Dot(c01, x, b + 32, ones);
        x = Vector256.Create(a1[g]).AsByte();
        c10 = TDot.Dot(c10, x, b, ones);
        c11 = TDot.Dot(c11, x, b + 32, ones);
        x = Vector256.Create(a2[g]).AsByte();
        c20 = TDot.Dot(c20, x, b, ones);
        c21 = TDot.Dot(c21, x, b + 32, ones);
        x = Vector256.Create(a3[g]).AsByte();
        c30 = TDot.Dot(c30, x, b, ones);
        c31 = TDot.Dot(c31, x, b + 32, ones);
    }

    private static void ScalarKernel(byte* a, int lda, sbyte* b, int groups, int* c, int ldc, bool accumulate)
    {
        for (var i = 0; i < 4; i++)
        {
            var row = (sbyte*)(a + ((long)i * lda));
            var ci = c + ((long)i * ldc);
            for (var j = 0; j < PanelWidth; j++)
            {
                var sum = accumulate ? ci[j] : 0;
                var bj = b + (j * 4);
                for (var g = 0; g < groups; g++)
                {
                    var ag = row + (g * 4);
                    var bg = bj + (g * PanelWidth * 4);
                    sum += (ag[0] * bg[0]) + (ag[1] * bg[1]) + (ag[2] * bg[2]) + (ag[3] * bg[3]);
                }
                ci[j] = sum;
            }
        }
    }
}
