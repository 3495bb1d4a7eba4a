// Decoded form of a PTX module: per kernel, a flat array of instructions whose operands are register-file slots.
namespace VcpNative.Tensors.Cuda.Emulator;

internal enum PtxType : byte
{
    None, B8, B16, B32, B64, U8, U16, U32, U64, S8, S16, S32, S64, F16, F32, F64, Pred,
}

internal enum PtxSpace : byte
{
    Generic, Global, Shared, Local, Param, Const,
}

/// <summary>Every executable operation; the operand type is folded into the opcode where the hot loops need it.</summary>
internal enum PtxOp : ushort
{
    Nop, Bra, Exit, BarSync, Shfl, Vote, Mma,
    Mov, LdParam, Ld, St, Atom, Cvt, CvtBf16x2, Zext32, Sext32, CvtaToGeneric, CvtaFromGeneric, Selp, Setp,
    AddF32, SubF32, MulF32, FmaF32, DivF32, MinF32, MaxF32, NegF32, AbsF32, RcpF32, SqrtF32, RsqrtF32, Ex2F32, Lg2F32, SinF32, CosF32,
    AddF64, SubF64, MulF64, FmaF64, DivF64, MinF64, MaxF64, NegF64, AbsF64, RcpF64, SqrtF64,
    AddI32, SubI32, MulLoI32, MulHiS32, MulHiU32, MulWideS32, MulWideU32, MadLoI32, MadWideS32, MadWideU32,
    DivS32, DivU32, RemS32, RemU32, MinS32, MaxS32, MinU32, MaxU32, NegI32, AbsS32,
    AndB32, OrB32, XorB32, NotB32, ShlB32, ShrU32, ShrS32, PopcB32, ClzB32, BrevB32, BfeU32,
    AddI64, SubI64, MulLoI64, MadLoI64, DivS64, DivU64, RemS64, RemU64, MinS64, MaxS64, MinU64, MaxU64, NegI64, AbsS64,
    AndB64, OrB64, XorB64, NotB64, ShlB64, ShrU64, ShrS64, PopcB64, ClzB64, BrevB64,
    AndPred, OrPred, XorPred, NotPred,
}

/// <summary>Special registers, materialised into register slots when a block starts.</summary>
internal enum PtxSpecial : byte
{
    TidX, TidY, TidZ, NtidX, NtidY, NtidZ, CtaidX, CtaidY, CtaidZ, NctaidX, NctaidY, NctaidZ, LaneId, WarpId, NWarpId,
}

/// <summary>One decoded instruction. Slots index the per-warp register file (immediates live in constant slots).</summary>
internal struct PtxInstr
{
    public PtxOp Op;
    public PtxType Type;
    public PtxType Type2;
    public PtxSpace Space;
    /// <summary>Sub-operation: compare op (setp), shuffle/vote mode, atomic op, cvt rounding, bool combine.</summary>
    public byte Mod;
    public byte Mod2;
    public byte Vec;
    public bool GuardNeg;
    public bool NegC;
    public int Guard;
    public int D, A, B, C, E;
    /// <summary>Address offset (ld/st/atom), parameter offset (ld.param), branch target, or window base (cvta).</summary>
    public long Imm;
    public int Line;
}

internal sealed record PtxParam(string Name, PtxType Type, int Size, int Offset);

internal sealed class PtxFunction
{
    public required string Name { get; init; }
    public required PtxParam[] Params { get; init; }
    public required int ParamBytes { get; init; }
    public required PtxInstr[] Code { get; init; }
    /// <summary>Register slots of vector operands ({%f1, %f2, ...}), indexed from PtxInstr.E for ld/st.</summary>
    public required int[] VectorSlots { get; init; }
    public required int SlotCount { get; init; }
    public required (int Slot, ulong Value)[] Constants { get; init; }
    public required (int Slot, PtxSpecial Kind)[] Specials { get; init; }
    public required int StaticSharedBytes { get; init; }
    public required int LocalBytes { get; init; }
    /// <summary>32-bit registers named by the .reg declarations (64-bit count twice, predicates not at all): an upper
    /// bound on what ptxas allocates, which re-uses registers after liveness analysis.</summary>
    public required int DeclaredRegisters { get; init; }

    /// <summary>Per instruction, the register slots it writes and reads (parallel to <see cref="Code"/>).</summary>
    public required PtxRegisterUse[] RegisterUses { get; init; }

    /// <summary>Width of each register slot in 32-bit registers (predicates 0; constants and special registers absent).</summary>
    public required IReadOnlyDictionary<int, int> SlotWidths { get; init; }

    private int? _liveRegisters;

    /// <summary>Most 32-bit values live at once (<see cref="PtxRegisterPressure.MaxLive32"/>), computed on first use.</summary>
    public int LiveRegisters => _liveRegisters ??= PtxRegisterPressure.MaxLive32(Code, RegisterUses, SlotWidths);
}

internal sealed class PtxModule
{
    public required string Version { get; init; }
    public required string Target { get; init; }
    public required Dictionary<string, PtxFunction> Functions { get; init; }
}
