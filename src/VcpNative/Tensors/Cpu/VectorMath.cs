// Float transcendental functions in scalar, Vector128 (arm64 NEON), Vector256 and Vector512 form, for activations the BCL does not vectorise (erf).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>exp and erf accurate to a few float ulps, with identical scalar and SIMD formulas so tails match.</summary>
public static class VectorMath
{
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float Log2E = 1.44269504088896341f;

    // Cephes expf polynomial on [-ln2/2, ln2/2].
    private const float P0 = 1.9875691500e-4f;
    private const float P1 = 1.3981999507e-3f;
    private const float P2 = 8.3334519073e-3f;
    private const float P3 = 4.1665795894e-2f;
    private const float P4 = 1.6666665459e-1f;
    private const float P5 = 5.0000001201e-1f;

    /// <summary>Fast fp32 e^x (scalar form of the vector version).</summary>
    public static float Exp(float x)
    {
        x = Math.Clamp(x, -87.3f, 88.3f);
        var n = MathF.Floor(MulAdd(x, Log2E, 0.5f));
        var r = MulAdd(n, -Ln2Lo, MulAdd(n, -Ln2Hi, x));
        var r2 = r * r;
        var p = MulAdd(MulAdd(MulAdd(MulAdd(MulAdd(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        p = MulAdd(p, r2, r) + 1f;
        return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    /// <summary>Fast fp32 e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.3f)), Vector256.Create(88.3f));
        var n = Vector256.Floor(MulAdd(x, Vector256.Create(Log2E), Vector256.Create(0.5f)));
        var r = MulAdd(n, Vector256.Create(-Ln2Lo), MulAdd(n, Vector256.Create(-Ln2Hi), x));
        var r2 = r * r;
        var p = MulAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = MulAdd(p, r, Vector256.Create(P2));
        p = MulAdd(p, r, Vector256.Create(P3));
        p = MulAdd(p, r, Vector256.Create(P4));
        p = MulAdd(p, r, Vector256.Create(P5));
        p = MulAdd(p, r2, r) + Vector256<float>.One;
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>The same polynomial as the Vector256 form, 4 lanes wide (arm64 NEON, where Vector256 is not accelerated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(-87.3f)), Vector128.Create(88.3f));
        var n = Vector128.Floor(MulAdd(x, Vector128.Create(Log2E), Vector128.Create(0.5f)));
        var r = MulAdd(n, Vector128.Create(-Ln2Lo), MulAdd(n, Vector128.Create(-Ln2Hi), x));
        var r2 = r * r;
        var p = MulAdd(Vector128.Create(P0), r, Vector128.Create(P1));
        p = MulAdd(p, r, Vector128.Create(P2));
        p = MulAdd(p, r, Vector128.Create(P3));
        p = MulAdd(p, r, Vector128.Create(P4));
        p = MulAdd(p, r, Vector128.Create(P5));
        p = MulAdd(p, r2, r) + Vector128<float>.One;
        var scale = Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>The same polynomial as the Vector256 form, 16 lanes wide (AVX-512 machines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.3f)), Vector512.Create(88.3f));
        var n = Vector512.Floor(MulAdd(x, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        var r = MulAdd(n, Vector512.Create(-Ln2Lo), MulAdd(n, Vector512.Create(-Ln2Hi), x));
        var r2 = r * r;
        var p = MulAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = MulAdd(p, r, Vector512.Create(P2));
        p = MulAdd(p, r, Vector512.Create(P3));
        p = MulAdd(p, r, Vector512.Create(P4));
        p = MulAdd(p, r, Vector512.Create(P5));
        p = MulAdd(p, r2, r) + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    // a * b + c, fused (one rounding) where the CPU has FMA: the JIT never contracts a * b + c by itself. The scalar and
    // every vector width use the same rule, so a vector loop's scalar tail computes the same values as its lanes.
    private static bool HasFma => Fma.IsSupported || AdvSimd.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MulAdd(float a, float b, float c) => HasFma ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        HasFma ? Vector128.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Vector512.FusedMultiplyAdd(a, b, c);

    // erf: Abramowitz & Stegun 7.1.26 is 1.5e-7 absolute; we use the more accurate erfc-based form of
    // Numerical Recipes (erfcc, Chebyshev fit, fractional error < 1.2e-7) evaluated in float.
    /// <summary>fp32 erf(x) (scalar form of the vector version).</summary>
    public static float Erf(float x)
    {
        var z = MathF.Abs(x);
        var t = 1f / (1f + 0.5f * z);
        var q = MulAdd(t, 0.17087277f, -0.82215223f);
        q = MulAdd(t, q, 1.48851587f);
        q = MulAdd(t, q, -1.13520398f);
        q = MulAdd(t, q, 0.27886807f);
        q = MulAdd(t, q, -0.18628806f);
        q = MulAdd(t, q, 0.09678418f);
        q = MulAdd(t, q, 0.37409196f);
        q = MulAdd(t, q, 1.00002368f);
        var poly = MulAdd(t, q, -z * z - 1.26551223f);
        var erfc = t * Exp(poly);
        var r = 1f - erfc;
        return x >= 0 ? r : -r;
    }

    /// <summary>fp32 erf(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x)
    {
        var z = Vector256.Abs(x);
        var one = Vector256<float>.One;
        var t = one / (one + Vector256.Create(0.5f) * z);
        var q = Vector256.Create(0.17087277f);
        q = MulAdd(t, q, Vector256.Create(-0.82215223f));
        q = MulAdd(t, q, Vector256.Create(1.48851587f));
        q = MulAdd(t, q, Vector256.Create(-1.13520398f));
        q = MulAdd(t, q, Vector256.Create(0.27886807f));
        q = MulAdd(t, q, Vector256.Create(-0.18628806f));
        q = MulAdd(t, q, Vector256.Create(0.09678418f));
        q = MulAdd(t, q, Vector256.Create(0.37409196f));
        q = MulAdd(t, q, Vector256.Create(1.00002368f));
        var poly = MulAdd(t, q, -z * z - Vector256.Create(1.26551223f));
        var r = one - t * Exp(poly);
        // copy the sign of x
        var sign = x.AsUInt32() & Vector256.Create(0x80000000u);
        return (r.AsUInt32() ^ sign).AsSingle();
    }

    /// <summary>The Vector256 erf, 16 lanes wide (AVX-512 machines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erf(Vector512<float> x)
    {
        var z = Vector512.Abs(x);
        var one = Vector512<float>.One;
        var t = one / (one + Vector512.Create(0.5f) * z);
        var q = Vector512.Create(0.17087277f);
        q = MulAdd(t, q, Vector512.Create(-0.82215223f));
        q = MulAdd(t, q, Vector512.Create(1.48851587f));
        q = MulAdd(t, q, Vector512.Create(-1.13520398f));
        q = MulAdd(t, q, Vector512.Create(0.27886807f));
        q = MulAdd(t, q, Vector512.Create(-0.18628806f));
        q = MulAdd(t, q, Vector512.Create(0.09678418f));
        q = MulAdd(t, q, Vector512.Create(0.37409196f));
        q = MulAdd(t, q, Vector512.Create(1.00002368f));
        var poly = MulAdd(t, q, -z * z - Vector512.Create(1.26551223f));
        var r = one - t * Exp(poly);
        // copy the sign of x
        var sign = x.AsUInt32() & Vector512.Create(0x80000000u);
        return (r.AsUInt32() ^ sign).AsSingle();
    }

    /// <summary>The Vector256 erf, 4 lanes wide (arm64 NEON).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Erf(Vector128<float> x)
    {
        var z = Vector128.Abs(x);
        var one = Vector128<float>.One;
        var t = one / (one + Vector128.Create(0.5f) * z);
        var q = Vector128.Create(0.17087277f);
        q = MulAdd(t, q, Vector128.Create(-0.82215223f));
        q = MulAdd(t, q, Vector128.Create(1.48851587f));
        q = MulAdd(t, q, Vector128.Create(-1.13520398f));
        q = MulAdd(t, q, Vector128.Create(0.27886807f));
        q = MulAdd(t, q, Vector128.Create(-0.18628806f));
        q = MulAdd(t, q, Vector128.Create(0.09678418f));
        q = MulAdd(t, q, Vector128.Create(0.37409196f));
        q = MulAdd(t, q, Vector128.Create(1.00002368f));
        var poly = MulAdd(t, q, -z * z - Vector128.Create(1.26551223f));
        var r = one - t * Exp(poly);
        var sign = x.AsUInt32() & Vector128.Create(0x80000000u);
        return (r.AsUInt32() ^ sign).AsSingle();
    }

    /// <summary>Exact GELU 0.5 x (1 + erf(x / sqrt 2)).</summary>
    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * 0.70710678118654752f));

    /// <summary>d/dx of exact GELU: Phi(x) + x phi(x).</summary>
    public static float GeluGrad(float x)
    {
        var cdf = 0.5f * (1f + Erf(x * 0.70710678118654752f));
        var pdf = 0.3989422804014327f * Exp(-0.5f * x * x);
        return cdf + x * pdf;
    }

    /// <summary>1 / (1 + e^-x).</summary>
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));
}
