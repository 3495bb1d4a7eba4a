// Float transcendental functions in scalar, Vector128 (arm64 NEON), Vector256 and Vector512 form, for activations the BCL does not vectorise (erf).
//
// Each function is written once, generic over a lane type: IFloatLanes<TV> supplies the few operations the formulas
// need, implemented by one struct per width (and one for scalar float). The JIT compiles a separate copy of a generic
// method for every struct type argument and inlines the static interface calls, so each width runs the same code it
// would from a hand-written copy, and every width computes bit-for-bit what the scalar form computes per lane (a
// vector loop's scalar tail matches its lanes). .NET 10 keeps its own vector interface (ISimdVector) internal, hence
// this small one.
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
    public static float Exp(float x) => Exp<ScalarLanes, float>(x);

    /// <summary>Fast fp32 e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x) => Exp<Lanes256, Vector256<float>>(x);

    /// <summary>The same polynomial as the Vector256 form, 4 lanes wide (arm64 NEON, where Vector256 is not accelerated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x) => Exp<Lanes128, Vector128<float>>(x);

    /// <summary>The same polynomial as the Vector256 form, 16 lanes wide (AVX-512 machines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => Exp<Lanes512, Vector512<float>>(x);

    /// <summary>fp32 erf(x) (scalar form of the vector version).</summary>
    public static float Erf(float x) => Erf<ScalarLanes, float>(x);

    /// <summary>fp32 erf(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x) => Erf<Lanes256, Vector256<float>>(x);

    /// <summary>The Vector256 erf, 16 lanes wide (AVX-512 machines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erf(Vector512<float> x) => Erf<Lanes512, Vector512<float>>(x);

    /// <summary>The Vector256 erf, 4 lanes wide (arm64 NEON).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Erf(Vector128<float> x) => Erf<Lanes128, Vector128<float>>(x);

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

    // e^x = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two for an exact product), e^r by the
    // Cephes polynomial; x is clamped to where the result is a normal float.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Exp<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
    {
        x = TL.Min(TL.Create(88.3f), TL.Max(TL.Create(-87.3f), x));
        var n = TL.Floor(TL.MulAdd(x, TL.Create(Log2E), TL.Create(0.5f)));
        var r = TL.MulAdd(n, TL.Create(-Ln2Lo), TL.MulAdd(n, TL.Create(-Ln2Hi), x));
        var r2 = TL.Multiply(r, r);
        var p = TL.MulAdd(TL.Create(P0), r, TL.Create(P1));
        p = TL.MulAdd(p, r, TL.Create(P2));
        p = TL.MulAdd(p, r, TL.Create(P3));
        p = TL.MulAdd(p, r, TL.Create(P4));
        p = TL.MulAdd(p, r, TL.Create(P5));
        p = TL.Add(TL.MulAdd(p, r2, r), TL.Create(1f));
        return TL.Multiply(p, TL.ScaleByPowerOfTwo(n));
    }

    // erf: Abramowitz & Stegun 7.1.26 is 1.5e-7 absolute; we use the more accurate erfc-based form of Numerical Recipes
    // (erfcc, Chebyshev fit, fractional error < 1.2e-7) evaluated in float, with the sign of x copied onto the result.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Erf<TL, TV>(TV x)
        where TL : struct, IFloatLanes<TV>
    {
        var z = TL.Abs(x);
        var one = TL.Create(1f);
        var t = TL.Divide(one, TL.Add(one, TL.Multiply(TL.Create(0.5f), z)));
        var q = TL.MulAdd(t, TL.Create(0.17087277f), TL.Create(-0.82215223f));
        q = TL.MulAdd(t, q, TL.Create(1.48851587f));
        q = TL.MulAdd(t, q, TL.Create(-1.13520398f));
        q = TL.MulAdd(t, q, TL.Create(0.27886807f));
        q = TL.MulAdd(t, q, TL.Create(-0.18628806f));
        q = TL.MulAdd(t, q, TL.Create(0.09678418f));
        q = TL.MulAdd(t, q, TL.Create(0.37409196f));
        q = TL.MulAdd(t, q, TL.Create(1.00002368f));
        var poly = TL.MulAdd(t, q, TL.Subtract(TL.Negate(TL.Multiply(z, z)), TL.Create(1.26551223f)));
        var r = TL.Subtract(one, TL.Multiply(t, Exp<TL, TV>(poly)));
        return TL.CopySign(r, x);
    }

    // a * b + c, fused (one rounding) where the CPU has FMA: the JIT never contracts a * b + c by itself. Every width
    // uses the same rule, so a vector loop's scalar tail computes the same values as its lanes.
    private static bool HasFma => Fma.IsSupported || AdvSimd.IsSupported;

    /// <summary>The operations the formulas above need, for one lane type.</summary>
    private interface IFloatLanes<TV>
    {
        static abstract TV Create(float value);

        static abstract TV Add(TV a, TV b);

        static abstract TV Subtract(TV a, TV b);

        static abstract TV Multiply(TV a, TV b);

        static abstract TV Divide(TV a, TV b);

        static abstract TV Negate(TV a);

        /// <summary>a * b + c, fused where the CPU has FMA.</summary>
        static abstract TV MulAdd(TV a, TV b, TV c);

        /// <summary>The smaller of a and b; a NaN in <paramref name="b"/> is returned (x86 minps keeps its second operand).</summary>
        static abstract TV Min(TV a, TV b);

        /// <summary>The larger of a and b; a NaN in <paramref name="b"/> is returned (x86 maxps keeps its second operand).</summary>
        static abstract TV Max(TV a, TV b);

        static abstract TV Floor(TV a);

        static abstract TV Abs(TV a);

        /// <summary>2^n for whole n in [-126, 127] (the float built from the exponent bits; no out-of-range fix-up needed).</summary>
        static abstract TV ScaleByPowerOfTwo(TV n);

        /// <summary>|magnitude| with the sign bit of <paramref name="sign"/> (magnitude >= 0: an xor of sign bits).</summary>
        static abstract TV CopySign(TV magnitude, TV sign);
    }

    private readonly struct ScalarLanes : IFloatLanes<float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Create(float value) => value;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Add(float a, float b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Subtract(float a, float b) => a - b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Multiply(float a, float b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Divide(float a, float b) => a / b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Negate(float a) => -a;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float MulAdd(float a, float b, float c) => HasFma ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Min(float a, float b) => MathF.Min(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Max(float a, float b) => MathF.Max(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Floor(float a) => MathF.Floor(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Abs(float a) => MathF.Abs(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float ScaleByPowerOfTwo(float n) => BitConverter.Int32BitsToSingle(((int)n + 127) << 23);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float CopySign(float magnitude, float sign) =>
            BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(magnitude) ^ (BitConverter.SingleToInt32Bits(sign) & int.MinValue));
    }

    private readonly struct Lanes128 : IFloatLanes<Vector128<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Create(float value) => Vector128.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Negate(Vector128<float> a) => -a;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
            HasFma ? Vector128.FusedMultiplyAdd(a, b, c) : (a * b) + c;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Floor(Vector128<float> a) => Vector128.Floor(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> ScaleByPowerOfTwo(Vector128<float> n) =>
            Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> CopySign(Vector128<float> magnitude, Vector128<float> sign) =>
            (magnitude.AsUInt32() ^ (sign.AsUInt32() & Vector128.Create(0x80000000u))).AsSingle();
    }

    private readonly struct Lanes256 : IFloatLanes<Vector256<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Create(float value) => Vector256.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Negate(Vector256<float> a) => -a;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
            Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Floor(Vector256<float> a) => Vector256.Floor(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ScaleByPowerOfTwo(Vector256<float> n) =>
            Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> CopySign(Vector256<float> magnitude, Vector256<float> sign) =>
            (magnitude.AsUInt32() ^ (sign.AsUInt32() & Vector256.Create(0x80000000u))).AsSingle();
    }

    private readonly struct Lanes512 : IFloatLanes<Vector512<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Create(float value) => Vector512.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Negate(Vector512<float> a) => -a;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
            Vector512.FusedMultiplyAdd(a, b, c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Floor(Vector512<float> a) => Vector512.Floor(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ScaleByPowerOfTwo(Vector512<float> n) =>
            Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> CopySign(Vector512<float> magnitude, Vector512<float> sign) =>
            (magnitude.AsUInt32() ^ (sign.AsUInt32() & Vector512.Create(0x80000000u))).AsSingle();
    }
}
