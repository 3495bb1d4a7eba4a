// cvt between PTX integer and float types with the PTX rounding modes, and the arithmetic of atomics.
namespace VcpNative.Tensors.Cuda.Emulator;

internal static class PtxConvert
{
    public static ulong Convert(ulong raw, PtxType dst, PtxType src, PtxRound round, bool sat)
    {
        bool floatSrc = PtxParser.IsFloat(src), floatDst = PtxParser.IsFloat(dst);
        if (!floatSrc && !floatDst) return IntToInt(raw, dst, src, sat);
        if (floatSrc && floatDst)
        {
            double v = src == PtxType.F32 ? PtxBits.F(raw) : PtxBits.D(raw);
            v = RoundIntegral(v, round);
            if (sat) v = double.IsNaN(v) ? 0 : Math.Clamp(v, 0.0, 1.0);
            return dst == PtxType.F32 ? PtxBits.U(ToSingle(v, round)) : PtxBits.U(v);
        }
        if (floatDst)
        {
            // Integer sources up to 32 bits are exact in double; 64-bit ones are converted directly (round to nearest).
            double v = PtxParser.IsSigned(src) ? SignExtend(raw, src) : (double)ZeroExtend(raw, src);
            if (PtxParser.SizeOf(src) == 8 && dst == PtxType.F32)
                return PtxBits.U(PtxParser.IsSigned(src) ? (float)(long)raw : (float)raw);
            if (sat) v = Math.Clamp(v, 0.0, 1.0);
            return dst == PtxType.F32 ? PtxBits.U(ToSingle(v, round)) : PtxBits.U(v);
        }
        // Float to integer: round as asked, then clamp to the destination range (PTX saturates by default; NaN -> 0).
        double f = src == PtxType.F32 ? PtxBits.F(raw) : PtxBits.D(raw);
        if (double.IsNaN(f)) return 0;
        f = RoundIntegral(f, round == PtxRound.Default ? PtxRound.Rzi : round);
        int bits = PtxParser.SizeOf(dst) * 8;
        if (PtxParser.IsSigned(dst))
        {
            double lo = -Math.Pow(2, bits - 1), hi = Math.Pow(2, bits - 1) - 1;
            long v = f <= lo ? (long)lo : f >= hi ? (bits == 64 ? long.MaxValue : (long)hi) : (long)f;
            return bits == 64 ? (ulong)v : (ulong)v & ((1UL << bits) - 1);
        }
        double max = Math.Pow(2, bits) - 1;
        ulong u = f <= 0 ? 0 : f >= max ? (bits == 64 ? ulong.MaxValue : (ulong)max) : (ulong)f;
        return u;
    }

    /// <summary>fp32 to bf16 bits, round to nearest even (cvt.rn.bf16.f32); NaN stays a quiet NaN.</summary>
    public static uint F32ToBf16Rn(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
        return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    }

    private static ulong IntToInt(ulong raw, PtxType dst, PtxType src, bool sat)
    {
        long sv = PtxParser.IsSigned(src) ? SignExtend(raw, src) : 0;
        ulong uv = ZeroExtend(raw, src);
        int bits = PtxParser.SizeOf(dst) * 8;
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        if (sat)
        {
            bool srcSigned = PtxParser.IsSigned(src);
            if (PtxParser.IsSigned(dst))
            {
                long lo = bits == 64 ? long.MinValue : -(1L << (bits - 1)), hi = bits == 64 ? long.MaxValue : (1L << (bits - 1)) - 1;
                long v = srcSigned ? Math.Clamp(sv, lo, hi) : (long)Math.Min(uv, (ulong)hi);
                return (ulong)v & mask;
            }
            return srcSigned ? (sv < 0 ? 0 : Math.Min((ulong)sv, mask)) : Math.Min(uv, mask);
        }
        ulong wide = PtxParser.IsSigned(src) ? (ulong)sv : uv;
        if (PtxParser.IsSigned(dst) && bits < 64)
        {
            // Sign-extend the truncated value so a later widening read sees the right sign.
            long t = (long)(wide << (64 - bits)) >> (64 - bits);
            return (ulong)t & (bits == 32 ? 0xFFFF_FFFFUL : ulong.MaxValue);
        }
        return wide & mask;
    }

    private static long SignExtend(ulong raw, PtxType t) => PtxParser.SizeOf(t) switch
    {
        1 => (sbyte)raw, 2 => (short)raw, 4 => (int)raw, _ => (long)raw,
    };

    private static ulong ZeroExtend(ulong raw, PtxType t) => PtxParser.SizeOf(t) switch
    {
        1 => (byte)raw, 2 => (ushort)raw, 4 => (uint)raw, _ => raw,
    };

    private static double RoundIntegral(double v, PtxRound round) => round switch
    {
        PtxRound.Rni => Math.Round(v, MidpointRounding.ToEven),
        PtxRound.Rzi => Math.Truncate(v),
        PtxRound.Rmi => Math.Floor(v),
        PtxRound.Rpi => Math.Ceiling(v),
        _ => v,
    };

    /// <summary>double to float with the IEEE rounding mode (rn via the cast, then nudged for rz/rm/rp).</summary>
    private static float ToSingle(double v, PtxRound round)
    {
        float f = (float)v;
        if (double.IsNaN(v) || (double)f == v) return f;
        return round switch
        {
            PtxRound.Rz when Math.Abs((double)f) > Math.Abs(v) => MathF.BitDecrement(Math.Abs(f)) * Math.Sign(f),
            PtxRound.Rm when f > v => MathF.BitDecrement(f),
            PtxRound.Rp when f < v => MathF.BitIncrement(f),
            _ => f,
        };
    }

    public static ulong AtomicResult(PtxAtomOp op, PtxType type, ulong old, ulong b, ulong c)
    {
        switch (type)
        {
            case PtxType.F32:
            {
                float o = PtxBits.F(old), v = PtxBits.F(b);
                return op switch
                {
                    PtxAtomOp.Add => PtxBits.U(o + v), PtxAtomOp.Min => PtxBits.U(PtxBits.Min(o, v)),
                    PtxAtomOp.Max => PtxBits.U(PtxBits.Max(o, v)), PtxAtomOp.Exch => b,
                    PtxAtomOp.Cas => (uint)old == (uint)b ? (uint)c : old,
                    _ => throw new PtxExecutionException($"atom.{op}.f32 is not an atomic operation PTX defines"),
                };
            }
            case PtxType.F64:
                return op switch
                {
                    PtxAtomOp.Add => PtxBits.U(PtxBits.D(old) + PtxBits.D(b)), PtxAtomOp.Exch => b,
                    PtxAtomOp.Cas => old == b ? c : old,
                    _ => throw new PtxExecutionException($"atom.{op}.f64 is not an atomic operation PTX defines"),
                };
        }
        bool wide = PtxParser.SizeOf(type) == 8, signed = PtxParser.IsSigned(type);
        ulong mask = wide ? ulong.MaxValue : 0xFFFF_FFFFUL;
        old &= mask;
        b &= mask;
        ulong r = op switch
        {
            PtxAtomOp.Add => old + b,
            PtxAtomOp.Min => signed ? (wide ? (ulong)Math.Min((long)old, (long)b) : (uint)Math.Min((int)old, (int)b)) : Math.Min(old, b),
            PtxAtomOp.Max => signed ? (wide ? (ulong)Math.Max((long)old, (long)b) : (uint)Math.Max((int)old, (int)b)) : Math.Max(old, b),
            PtxAtomOp.Exch => b,
            PtxAtomOp.Cas => old == b ? c : old,
            PtxAtomOp.And => old & b,
            PtxAtomOp.Or => old | b,
            PtxAtomOp.Xor => old ^ b,
            PtxAtomOp.Inc => old >= b ? 0 : old + 1,
            _ => old == 0 || old > b ? b : old - 1,
        };
        return r & mask;
    }
}
