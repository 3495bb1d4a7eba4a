// Vectorised activation functions over spans (GELU, QuickGELU), shared by the fused and unfused paths.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VcpNative.Tensors.Cpu;

/// <summary>Span kernels for activations the BCL does not provide.</summary>
public static class Activations
{
    /// <summary>y = GELU(x) = 0.5 x (1 + erf(x / sqrt 2)), vectorised over the span.</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector512<float>>(x);
            var yv = MemoryMarshal.Cast<float, Vector512<float>>(y);
            var half = Vector512.Create(0.5f);
            var invSqrt2 = Vector512.Create(0.70710678118654752f);
            for (var v = 0; v < xv.Length; v++)
            {
                var a = xv[v];
                yv[v] = half * a * (Vector512<float>.One + VectorMath.Erf(a * invSqrt2));
            }
            i = xv.Length * Vector512<float>.Count;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector256<float>>(x[i..]);
            var yv = MemoryMarshal.Cast<float, Vector256<float>>(y[i..]);
            var half = Vector256.Create(0.5f);
            var invSqrt2 = Vector256.Create(0.70710678118654752f);
            for (var v = 0; v < xv.Length; v++)
            {
                var a = xv[v];
                yv[v] = half * a * (Vector256<float>.One + VectorMath.Erf(a * invSqrt2));
            }
            i += xv.Length * Vector256<float>.Count;
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector128<float>>(x);
            var yv = MemoryMarshal.Cast<float, Vector128<float>>(y);
            var half = Vector128.Create(0.5f);
            var invSqrt2 = Vector128.Create(0.70710678118654752f);
            for (var v = 0; v < xv.Length; v++)
            {
                var a = xv[v];
                yv[v] = half * a * (Vector128<float>.One + VectorMath.Erf(a * invSqrt2));
            }
            i = xv.Length * Vector128<float>.Count;
        }
        for (; i < x.Length; i++)
        {
            y[i] = VectorMath.Gelu(x[i]);
        }
    }

    /// <summary>y = x * sigmoid(1.702 x) (OpenAI CLIP's QuickGELU), vectorised over the span.</summary>
    public static void QuickGelu(ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector512<float>>(x);
            var yv = MemoryMarshal.Cast<float, Vector512<float>>(y);
            var k = Vector512.Create(-1.702f);
            for (var v = 0; v < xv.Length; v++)
            {
                var a = xv[v];
                yv[v] = a / (Vector512<float>.One + VectorMath.Exp(a * k));
            }
            i = xv.Length * Vector512<float>.Count;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector256<float>>(x[i..]);
            var yv = MemoryMarshal.Cast<float, Vector256<float>>(y[i..]);
            var k = Vector256.Create(-1.702f);
            for (var v = 0; v < xv.Length; v++)
            {
                var a = xv[v];
                yv[v] = a / (Vector256<float>.One + VectorMath.Exp(a * k));
            }
            i += xv.Length * Vector256<float>.Count;
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector128<float>>(x);
            var yv = MemoryMarshal.Cast<float, Vector128<float>>(y);
            var k = Vector128.Create(-1.702f);
            for (var v = 0; v < xv.Length; v++)
            {
                var a = xv[v];
                yv[v] = a / (Vector128<float>.One + VectorMath.Exp(a * k));
            }
            i = xv.Length * Vector128<float>.Count;
        }
        for (; i < x.Length; i++)
        {
            y[i] = x[i] / (1f + VectorMath.Exp(-1.702f * x[i]));
        }
    }
}
