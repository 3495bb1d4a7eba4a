// Per-lane semantics of the PTX arithmetic opcodes, as small structs the interpreter's generic lane loops inline.
using System.Numerics;

namespace VcpNative.Tensors.Cuda.Emulator;

internal interface IPtxOp1 { static abstract ulong Do(ulong a); }

internal interface IPtxOp2 { static abstract ulong Do(ulong a, ulong b); }

internal interface IPtxOp3 { static abstract ulong Do(ulong a, ulong b, ulong c); }

internal static class PtxBits
{
    public static float F(ulong v) => BitConverter.Int32BitsToSingle((int)v);

    public static ulong U(float f) => (uint)BitConverter.SingleToInt32Bits(f);

    public static double D(ulong v) => BitConverter.Int64BitsToDouble((long)v);

    public static ulong U(double d) => (ulong)BitConverter.DoubleToInt64Bits(d);

    // PTX min/max return the other operand when one is NaN, and order -0 below +0.
    public static float Min(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Min(a, b);

    public static float Max(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Max(a, b);

    public static double Min(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Min(a, b);

    public static double Max(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b);

    public static uint Reverse(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        return BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v) : v;
    }
}

#pragma warning disable SA1649, SA1402 // one-line op structs belong together
// One struct per (operation, type): each is a generic argument the interpreter's loops specialise on, so the F32 and
// F64 rows below stay separate one-liners (their bit casts differ) instead of one generic over the float type.
internal struct MovOp : IPtxOp1 { public static ulong Do(ulong a) => a; }
internal struct Zext32Op : IPtxOp1 { public static ulong Do(ulong a) => (uint)a; }
internal struct Sext32Op : IPtxOp1 { public static ulong Do(ulong a) => (ulong)(long)(int)a; }
internal struct SelpOp : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => (c & 1) != 0 ? a : b; }

internal struct AddF32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.F(a) + PtxBits.F(b)); }
internal struct SubF32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.F(a) - PtxBits.F(b)); }
internal struct MulF32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.F(a) * PtxBits.F(b)); }
internal struct DivF32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.F(a) / PtxBits.F(b)); }
internal struct MinF32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.Min(PtxBits.F(a), PtxBits.F(b))); }
internal struct MaxF32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.Max(PtxBits.F(a), PtxBits.F(b))); }
internal struct FmaF32 : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => PtxBits.U(MathF.FusedMultiplyAdd(PtxBits.F(a), PtxBits.F(b), PtxBits.F(c))); }
internal struct NegF32 : IPtxOp1 { public static ulong Do(ulong a) => (uint)a ^ 0x8000_0000u; }
internal struct AbsF32 : IPtxOp1 { public static ulong Do(ulong a) => (uint)a & 0x7FFF_FFFFu; }
internal struct RcpF32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(1.0f / PtxBits.F(a)); }
internal struct SqrtF32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(MathF.Sqrt(PtxBits.F(a))); }
internal struct RsqrtF32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(1.0f / MathF.Sqrt(PtxBits.F(a))); }
internal struct Ex2F32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(float.Exp2(PtxBits.F(a))); }
internal struct Lg2F32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(float.Log2(PtxBits.F(a))); }
internal struct SinF32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(MathF.Sin(PtxBits.F(a))); }
internal struct CosF32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(MathF.Cos(PtxBits.F(a))); }

internal struct AddF64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.D(a) + PtxBits.D(b)); }
internal struct SubF64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.D(a) - PtxBits.D(b)); }
internal struct MulF64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.D(a) * PtxBits.D(b)); }
internal struct DivF64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.D(a) / PtxBits.D(b)); }
internal struct MinF64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.Min(PtxBits.D(a), PtxBits.D(b))); }
internal struct MaxF64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => PtxBits.U(PtxBits.Max(PtxBits.D(a), PtxBits.D(b))); }
internal struct FmaF64 : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => PtxBits.U(Math.FusedMultiplyAdd(PtxBits.D(a), PtxBits.D(b), PtxBits.D(c))); }
internal struct NegF64 : IPtxOp1 { public static ulong Do(ulong a) => a ^ 0x8000_0000_0000_0000ul; }
internal struct AbsF64 : IPtxOp1 { public static ulong Do(ulong a) => a & 0x7FFF_FFFF_FFFF_FFFFul; }
internal struct RcpF64 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(1.0 / PtxBits.D(a)); }
internal struct SqrtF64 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.U(Math.Sqrt(PtxBits.D(a))); }

internal struct AddI32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)a + (uint)b; }
internal struct SubI32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)a - (uint)b; }
internal struct MulLoI32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)a * (uint)b; }
internal struct MulHiS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)(((long)(int)a * (int)b) >> 32); }
internal struct MulHiU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)(((ulong)(uint)a * (uint)b) >> 32); }
internal struct MulWideS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (ulong)((long)(int)a * (int)b); }
internal struct MulWideU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (ulong)(uint)a * (uint)b; }
internal struct MadLoI32 : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => (uint)a * (uint)b + (uint)c; }
internal struct MadWideS32 : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => (ulong)((long)(int)a * (int)b) + c; }
internal struct MadWideU32 : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => (ulong)(uint)a * (uint)b + c; }
// Division by zero is undefined in PTX; the emulator returns all ones (quotient) / the dividend (remainder), never throws.
internal struct DivS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (int)b == 0 ? uint.MaxValue : (int)b == -1 ? (uint)(0 - (uint)a) : (uint)((int)a / (int)b); }
internal struct DivU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)b == 0 ? uint.MaxValue : (uint)a / (uint)b; }
internal struct RemS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (int)b == 0 ? (uint)a : (int)b == -1 ? 0u : (uint)((int)a % (int)b); }
internal struct RemU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)b == 0 ? (uint)a : (uint)a % (uint)b; }
internal struct MinS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)Math.Min((int)a, (int)b); }
internal struct MaxS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)Math.Max((int)a, (int)b); }
internal struct MinU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => Math.Min((uint)a, (uint)b); }
internal struct MaxU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => Math.Max((uint)a, (uint)b); }
internal struct NegI32 : IPtxOp1 { public static ulong Do(ulong a) => 0u - (uint)a; }
internal struct AbsS32 : IPtxOp1 { public static ulong Do(ulong a) => (int)a < 0 ? 0u - (uint)a : (uint)a; }
internal struct AndB32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)(a & b); }
internal struct OrB32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)(a | b); }
internal struct XorB32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)(a ^ b); }
internal struct NotB32 : IPtxOp1 { public static ulong Do(ulong a) => ~(uint)a; }
// Shift amounts above the width clamp (PTX semantics), unlike C# which masks them.
internal struct ShlB32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)b >= 32 ? 0u : (uint)a << (int)(uint)b; }
internal struct ShrU32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)b >= 32 ? 0u : (uint)a >> (int)(uint)b; }
internal struct ShrS32 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)((int)a >> (int)Math.Min((uint)b, 31u)); }
internal struct PopcB32 : IPtxOp1 { public static ulong Do(ulong a) => (uint)BitOperations.PopCount((uint)a); }
internal struct ClzB32 : IPtxOp1 { public static ulong Do(ulong a) => (uint)BitOperations.LeadingZeroCount((uint)a); }
// bfe.u32 d, a, pos, len: len bits of a from bit pos, zero-extended (pos and len use their low 8 bits).
internal struct BfeU32 : IPtxOp3
{
    public static ulong Do(ulong a, ulong b, ulong c)
    {
        int pos = (int)(b & 0xff), len = (int)(c & 0xff);
        if (len == 0 || pos >= 32) return 0;
        ulong bits = (uint)a >> pos;
        return len >= 32 ? bits : bits & ((1ul << len) - 1);
    }
}
internal struct BrevB32 : IPtxOp1 { public static ulong Do(ulong a) => PtxBits.Reverse((uint)a); }

internal struct AddI64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a + b; }
internal struct SubI64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a - b; }
internal struct MulLoI64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a * b; }
internal struct MadLoI64 : IPtxOp3 { public static ulong Do(ulong a, ulong b, ulong c) => a * b + c; }
internal struct DivS64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => b == 0 ? ulong.MaxValue : (long)b == -1 ? 0 - a : (ulong)((long)a / (long)b); }
internal struct DivU64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => b == 0 ? ulong.MaxValue : a / b; }
internal struct RemS64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => b == 0 ? a : (long)b == -1 ? 0 : (ulong)((long)a % (long)b); }
internal struct RemU64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => b == 0 ? a : a % b; }
internal struct MinS64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (ulong)Math.Min((long)a, (long)b); }
internal struct MaxS64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (ulong)Math.Max((long)a, (long)b); }
internal struct MinU64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => Math.Min(a, b); }
internal struct MaxU64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => Math.Max(a, b); }
internal struct NegI64 : IPtxOp1 { public static ulong Do(ulong a) => 0 - a; }
internal struct AbsS64 : IPtxOp1 { public static ulong Do(ulong a) => (long)a < 0 ? 0 - a : a; }
internal struct AndB64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a & b; }
internal struct OrB64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a | b; }
internal struct XorB64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a ^ b; }
internal struct NotB64 : IPtxOp1 { public static ulong Do(ulong a) => ~a; }
internal struct ShlB64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)b >= 64 ? 0 : a << (int)(uint)b; }
internal struct ShrU64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (uint)b >= 64 ? 0 : a >> (int)(uint)b; }
internal struct ShrS64 : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (ulong)((long)a >> (int)Math.Min((uint)b, 63u)); }
internal struct PopcB64 : IPtxOp1 { public static ulong Do(ulong a) => (uint)BitOperations.PopCount(a); }
internal struct ClzB64 : IPtxOp1 { public static ulong Do(ulong a) => (uint)BitOperations.LeadingZeroCount(a); }
internal struct BrevB64 : IPtxOp1 { public static ulong Do(ulong a) => ((ulong)PtxBits.Reverse((uint)a) << 32) | PtxBits.Reverse((uint)(a >> 32)); }

internal struct AndPred : IPtxOp2 { public static ulong Do(ulong a, ulong b) => a & b & 1; }
internal struct OrPred : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (a | b) & 1; }
internal struct XorPred : IPtxOp2 { public static ulong Do(ulong a, ulong b) => (a ^ b) & 1; }
internal struct NotPred : IPtxOp1 { public static ulong Do(ulong a) => (a & 1) ^ 1; }
#pragma warning restore SA1649, SA1402
