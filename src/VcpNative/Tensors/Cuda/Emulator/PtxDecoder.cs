// Decodes one kernel's statements into PtxInstr records: registers and immediates become slots, labels become indices.
using System.Globalization;

namespace VcpNative.Tensors.Cuda.Emulator;

/// <summary>Address windows the emulator uses for generic addressing (cvta) of shared and local memory.</summary>
internal static class PtxAddressWindows
{
    public const ulong SharedBase = 0x0000_0010_0000_0000;
    public const ulong LocalBase = 0x0000_0020_0000_0000;
    public const ulong WindowSize = 0x1_0000_0000;
}

/// <summary>Comparison codes of setp (PtxInstr.Mod).</summary>
internal enum PtxCmp : byte { Eq, Ne, Lt, Le, Gt, Ge, Lo, Ls, Hi, Hs, Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan }

internal enum PtxBoolOp : byte { None, And, Or, Xor }

internal enum PtxShflMode : byte { Up, Down, Bfly, Idx }

internal enum PtxVoteMode : byte { All, Any, Uni, Ballot }

internal enum PtxAtomOp : byte { Add, Min, Max, Exch, Cas, And, Or, Xor, Inc, Dec }

internal enum PtxRound : byte { Default, Rn, Rz, Rm, Rp, Rni, Rzi, Rmi, Rpi }

internal sealed class FunctionBuilder
{
    private readonly List<PtxParser.SharedDecl> _moduleShared;
    private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, int> _constSlots = [];
    private readonly List<(int, ulong)> _constants = [];
    private readonly List<(int, PtxSpecial)> _specials = [];
    private readonly Dictionary<string, (string Prefix, int Count)> _regDecls = new(StringComparer.Ordinal);
    private readonly HashSet<string> _singleRegs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PtxParam> _params = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PtxSpace Space, long Offset)> _symbols = new(StringComparer.Ordinal);
    private readonly List<PtxInstr> _code = [];
    private readonly List<int> _vectorSlots = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Index, string Label, int Line)> _branchFixups = [];
    private int _sharedBytes;
    private int _localBytes;
    private int _declaredRegisters;
    // Register widths (32-bit units; predicates 0) by declared name or prefix, and per slot; and per instruction the
    // slots it writes and reads, for the liveness-based register estimate.
    private readonly Dictionary<string, int> _declaredWidths = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _slotWidths = [];
    private readonly List<PtxRegisterUse> _registerUses = [];
    private readonly List<int> _currentDefs = [];
    private readonly List<int> _currentUses = [];
    private string _name = "";

    public FunctionBuilder(List<PtxParser.SharedDecl> moduleShared) => _moduleShared = moduleShared;

    public PtxFunction Build(PtxParser.Token header, List<PtxParser.Token> tokens, int start, int end)
    {
        ParseHeader(header.Text, header.Line);
        var dynamicShared = new List<string>();
        foreach (var d in _moduleShared) AddShared(d, dynamicShared);
        for (int i = start; i < end; i++)
        {
            var t = tokens[i];
            if (t.Kind == PtxParser.TokenKind.Label) _labels[t.Text] = _code.Count;
            else if (t.Kind == PtxParser.TokenKind.Statement) Statement(t.Text, t.Line, dynamicShared);
        }
        // Dynamic (extern) shared arrays all start right after the static ones, 16-byte aligned, as in CUDA.
        _sharedBytes = (_sharedBytes + 15) & ~15;
        foreach (var n in dynamicShared) _symbols[n] = (PtxSpace.Shared, _sharedBytes);
        PatchSymbolConstants();
        var code = _code.ToArray();
        foreach (var (index, label, line) in _branchFixups)
        {
            if (!_labels.TryGetValue(label, out int target)) throw new PtxParseException(line, $"unknown label '{label}' in {_name}");
            code[index].Imm = target;
        }
        return new PtxFunction
        {
            Name = _name,
            Params = [.. _params.Values.OrderBy(p => p.Offset)],
            ParamBytes = _params.Count == 0 ? 0 : _params.Values.Max(p => p.Offset + p.Size),
            Code = code,
            VectorSlots = [.. _vectorSlots],
            SlotCount = _slots.Count + _constants.Count + _pendingSymbolSlots.Count,
            Constants = [.. _constants, .. _resolvedSymbolConstants],
            Specials = [.. _specials],
            StaticSharedBytes = _sharedBytes,
            LocalBytes = _localBytes,
            DeclaredRegisters = _declaredRegisters,
            RegisterUses = [.. _registerUses],
            SlotWidths = _slotWidths,
        };
    }

    private void ParseHeader(string text, int line)
    {
        int entry = text.IndexOf(".entry", StringComparison.Ordinal);
        int lp = text.IndexOf('(', entry);
        string name = (lp < 0 ? text[(entry + 6)..] : text[(entry + 6)..lp]).Trim();
        _name = name;
        if (lp < 0) return;
        int rp = text.LastIndexOf(')');
        string list = text[(lp + 1)..rp];
        int offset = 0;
        foreach (var raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 3 || parts[0] != ".param") throw new PtxParseException(line, $"cannot read parameter '{raw}' of {name}");
            var type = PtxType.None;
            int align = 0;
            for (int i = 1; i < parts.Length - 1; i++)
            {
                if (parts[i] == ".align") { align = int.Parse(parts[++i], CultureInfo.InvariantCulture); continue; }
                var t = PtxParser.ParseType(parts[i].TrimStart('.'));
                if (t != PtxType.None) type = t;
                else if (parts[i] != ".ptr" && !parts[i].StartsWith(".global", StringComparison.Ordinal))
                    throw new PtxUnsupportedInstructionException(".param " + parts[i], line);
            }
            string pname = parts[^1];
            if (pname.Contains('[', StringComparison.Ordinal)) throw new PtxUnsupportedInstructionException(".param array (struct by value)", line);
            int size = PtxParser.SizeOf(type);
            int a = Math.Max(size, align);
            offset = (offset + a - 1) / a * a;
            _params[pname] = new PtxParam(pname, type, size, offset);
            offset += size;
        }
    }

    private void AddShared(PtxParser.SharedDecl d, List<string> dynamicShared)
    {
        if (d.IsDynamic) { dynamicShared.Add(d.Name); return; }
        _sharedBytes = (_sharedBytes + d.Align - 1) / d.Align * d.Align;
        _symbols[d.Name] = (PtxSpace.Shared, _sharedBytes);
        _sharedBytes += d.Size;
    }

    private void Statement(string s, int line, List<string> dynamicShared)
    {
        if (s.StartsWith(".reg", StringComparison.Ordinal)) { DeclareRegisters(s, line); return; }
        if (s.StartsWith(".shared", StringComparison.Ordinal) || s.StartsWith(".extern", StringComparison.Ordinal))
        {
            AddShared(PtxParser.SharedDecl.Parse(s, line), dynamicShared);
            return;
        }
        if (s.StartsWith(".local", StringComparison.Ordinal))
        {
            var d = PtxParser.SharedDecl.Parse(s, line);
            _localBytes = (_localBytes + d.Align - 1) / d.Align * d.Align;
            _symbols[d.Name] = (PtxSpace.Local, _localBytes);
            _localBytes += d.Size;
            return;
        }
        if (s.StartsWith(".pragma", StringComparison.Ordinal) || s.StartsWith(".loc", StringComparison.Ordinal) ||
            s.StartsWith(".file", StringComparison.Ordinal)) return;
        if (s.StartsWith('.')) throw new PtxUnsupportedInstructionException(s.Split(' ')[0], line, "directive inside a kernel");
        int first = _code.Count;
        _currentDefs.Clear();
        _currentUses.Clear();
        Instruction(s, line);
        for (int i = first; i < _code.Count; i++) _registerUses.Add(new PtxRegisterUse([.. _currentDefs], [.. _currentUses]));
    }

    private void DeclareRegisters(string s, int line)
    {
        // ".reg .b32 %r<20>" declares %r0..%r19; ".reg .pred p, q" declares single names.
        int nameStart = s.IndexOf('%');
        if (nameStart < 0) throw new PtxParseException(line, $"cannot read register declaration '{s}'");
        var type = PtxType.None;
        foreach (var part in s[..nameStart].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith('.') && PtxParser.ParseType(part[1..]) is var t && t != PtxType.None) type = t;
        }
        int width = type == PtxType.Pred ? 0 : type == PtxType.None ? 1 : Math.Max(1, PtxParser.SizeOf(type) / 4);
        foreach (var item in s[nameStart..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int lt = item.IndexOf('<');
            int count = 1;
            if (lt < 0)
            {
                _singleRegs.Add(item);
                _declaredWidths[item] = width;
            }
            else
            {
                count = int.Parse(item[(lt + 1)..item.IndexOf('>')], CultureInfo.InvariantCulture);
                _regDecls[item[..lt]] = (item[..lt], count);
                _declaredWidths[item[..lt]] = width;
            }
            // "%r<20>" declares %r0..%r19 and clang never uses %r0, so a declared count is already an upper bound.
            _declaredRegisters += count * width;
        }
    }

    // ---------------------------------------------------------------- operands

    private int Register(string name, int line)
    {
        if (_slots.TryGetValue(name, out int slot)) return slot;
        if (TrySpecial(name, out var special))
        {
            slot = NewSlot(name);
            _specials.Add((slot, special));
            return slot;
        }
        string declared = name;
        if (!_singleRegs.Contains(name))
        {
            int i = name.Length;
            while (i > 0 && char.IsDigit(name[i - 1])) i--;
            if (i == name.Length || !_regDecls.TryGetValue(name[..i], out var decl) ||
                int.Parse(name[i..], CultureInfo.InvariantCulture) >= decl.Count)
                throw new PtxParseException(line, $"register '{name}' is not declared in {_name}");
            declared = name[..i];
        }
        slot = NewSlot(name);
        _slotWidths[slot] = _declaredWidths[declared];
        return slot;
    }

    private int NewSlot(string name)
    {
        int slot = _slots.Count + _constants.Count + _pendingSymbolSlots.Count;
        _slots[name] = slot;
        return slot;
    }

    private static bool TrySpecial(string name, out PtxSpecial special)
    {
        special = name switch
        {
            "%tid.x" => PtxSpecial.TidX, "%tid.y" => PtxSpecial.TidY, "%tid.z" => PtxSpecial.TidZ,
            "%ntid.x" => PtxSpecial.NtidX, "%ntid.y" => PtxSpecial.NtidY, "%ntid.z" => PtxSpecial.NtidZ,
            "%ctaid.x" => PtxSpecial.CtaidX, "%ctaid.y" => PtxSpecial.CtaidY, "%ctaid.z" => PtxSpecial.CtaidZ,
            "%nctaid.x" => PtxSpecial.NctaidX, "%nctaid.y" => PtxSpecial.NctaidY, "%nctaid.z" => PtxSpecial.NctaidZ,
            "%laneid" => PtxSpecial.LaneId, "%warpid" => PtxSpecial.WarpId, "%nwarpid" => PtxSpecial.NWarpId,
            _ => (PtxSpecial)255,
        };
        return special != (PtxSpecial)255;
    }

    private int Constant(ulong value)
    {
        if (_constSlots.TryGetValue(value, out int slot)) return slot;
        slot = _slots.Count + _constants.Count + _pendingSymbolSlots.Count;
        _constSlots[value] = slot;
        _constants.Add((slot, value));
        return slot;
    }

    // Shared symbols used as values get their address once all static shared arrays are laid out.
    private readonly Dictionary<string, int> _pendingSymbolSlots = new(StringComparer.Ordinal);
    private readonly List<(int, ulong)> _resolvedSymbolConstants = [];

    private int SymbolAddress(string name)
    {
        if (_pendingSymbolSlots.TryGetValue(name, out int slot)) return slot;
        slot = _slots.Count + _constants.Count + _pendingSymbolSlots.Count;
        _pendingSymbolSlots[name] = slot;
        return slot;
    }

    private void PatchSymbolConstants()
    {
        foreach (var (name, slot) in _pendingSymbolSlots)
        {
            if (!_symbols.TryGetValue(name, out var sym)) throw new PtxParseException(0, $"unknown symbol '{name}' in {_name}");
            _resolvedSymbolConstants.Add((slot, (ulong)sym.Offset));
        }
    }

    private static bool TryImmediate(string tok, out ulong value)
    {
        value = 0;
        if (tok.Length > 2 && tok[0] == '0' && (tok[1] is 'f' or 'F') && tok.Length == 10)
            return ulong.TryParse(tok[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        if (tok.Length > 2 && tok[0] == '0' && (tok[1] is 'd' or 'D') && tok.Length == 18)
            return ulong.TryParse(tok[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        bool neg = tok.StartsWith('-');
        string body = neg ? tok[1..] : tok;
        if (body.EndsWith('U')) body = body[..^1];
        bool ok = body.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(body[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (ok && neg) value = unchecked(0UL - value);
        return ok;
    }

    /// <summary>A source operand: register, special register, immediate or the address of a shared/local symbol.</summary>
    private int Source(string tok, int line)
    {
        if (tok.StartsWith('%'))
        {
            int slot = Register(tok, line);
            _currentUses.Add(slot);
            return slot;
        }
        if (TryImmediate(tok, out ulong v)) return Constant(v);
        if (PtxParser.IsIdentifier(tok))
        {
            if (_params.ContainsKey(tok)) throw new PtxUnsupportedInstructionException("mov of a .param address", line);
            return SymbolAddress(tok);
        }
        throw new PtxParseException(line, $"cannot read operand '{tok}' in {_name}");
    }

    private int Dest(string tok, int line)
    {
        if (!tok.StartsWith('%') || TrySpecial(tok, out _)) throw new PtxParseException(line, $"'{tok}' is not a writable register");
        int slot = Register(tok, line);
        _currentDefs.Add(slot);
        return slot;
    }

    /// <summary>"[base+off]" into a base slot and byte offset; a .param symbol gives its offset and slot -1.</summary>
    private (int Slot, long Offset, bool IsParam) Address(string tok, int line)
    {
        if (!tok.StartsWith('[') || !tok.EndsWith(']')) throw new PtxParseException(line, $"expected an address, found '{tok}'");
        string inner = tok[1..^1].Replace(" ", "", StringComparison.Ordinal);
        long off = 0;
        int plus = inner.IndexOf('+');
        string baseTok = inner;
        if (plus > 0)
        {
            baseTok = inner[..plus];
            if (!TryImmediate(inner[(plus + 1)..], out ulong o)) throw new PtxParseException(line, $"bad address offset in '{tok}'");
            off = (long)o;
        }
        if (_params.TryGetValue(baseTok, out var p)) return (-1, p.Offset + off, true);
        if (TryImmediate(baseTok, out ulong abs)) return (Constant(0), (long)abs + off, false);
        return (Source(baseTok, line), off, false);
    }

    private static List<string> SplitOperands(string s)
    {
        var list = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] is '[' or '{') depth++;
            else if (s[i] is ']' or '}') depth--;
            else if (s[i] == ',' && depth == 0)
            {
                list.Add(s[start..i].Trim());
                start = i + 1;
            }
        }
        if (s.Length > start && s[start..].Trim().Length > 0) list.Add(s[start..].Trim());
        return list;
    }

    // ---------------------------------------------------------------- instructions

    private void Instruction(string s, int line)
    {
        var ins = new PtxInstr { Guard = -1, D = -1, A = -1, B = -1, C = -1, E = -1, Line = line };
        if (s.StartsWith('@'))
        {
            int sp = s.IndexOfAny([' ', '\t']);
            string g = s[1..sp];
            ins.GuardNeg = g.StartsWith('!');
            ins.Guard = Register(ins.GuardNeg ? g[1..] : g, line);
            s = s[sp..].TrimStart();
        }
        int ws = s.IndexOfAny([' ', '\t']);
        string opcode = ws < 0 ? s : s[..ws];
        var ops = ws < 0 ? [] : SplitOperands(s[(ws + 1)..]);
        string[] parts = opcode.Split('.');
        var mods = new HashSet<string>(StringComparer.Ordinal);
        var types = new List<PtxType>();
        for (int i = 1; i < parts.Length; i++)
        {
            var t = PtxParser.ParseType(parts[i]);
            if (t != PtxType.None) types.Add(t);
            else mods.Add(parts[i]);
        }
        ins.Type = types.Count > 0 ? types[^1] : PtxType.None;
        var unsupported = new PtxUnsupportedInstructionException(opcode, line);
        // 16-bit integers only move between memory, registers and cvt (mov.u16 zero-fills a bf16 half in gemm_tc_bf16_wb16).
        if (types.Contains(PtxType.F16) || (types.Count > 0 && PtxParser.SizeOf(types[0]) == 2 && parts[0] is not ("ld" or "st" or "cvt" or "ldu" or "mov")))
            throw unsupported;
        switch (parts[0])
        {
            case "mov":
                if (ops.Count != 2 || ops[1].StartsWith('{') || ops[0].StartsWith('{')) throw unsupported;
                Emit(ref ins, PtxOp.Mov, Dest(ops[0], line), Source(ops[1], line));
                break;
            case "ld":
            case "ldu":
            case "st":
                DecodeMemory(ref ins, parts[0] == "st", mods, ops, line, opcode);
                break;
            case "atom":
            case "red":
                DecodeAtomic(ref ins, parts[0] == "red", mods, ops, line, opcode);
                break;
            case "cvt" when mods.Contains("bf16x2"):
                // cvt.rn.bf16x2.f32 d, a, b (sm_80): the packed form the mma bf16 fragments take.
                if (!mods.SetEquals(["rn", "bf16x2"]) || types.Count != 1 || types[0] != PtxType.F32 || ops.Count != 3) throw unsupported;
                Emit(ref ins, PtxOp.CvtBf16x2, Dest(ops[0], line), Source(ops[1], line), Source(ops[2], line));
                break;
            case "cvt":
                DecodeCvt(ref ins, types, mods, ops, line, opcode);
                break;
            case "cvta":
            {
                bool to = mods.Remove("to");
                var space = mods.Contains("shared") ? PtxSpace.Shared : mods.Contains("local") ? PtxSpace.Local
                          : mods.Contains("global") ? PtxSpace.Global : throw unsupported;
                var op = space == PtxSpace.Global ? PtxOp.Mov : to ? PtxOp.CvtaFromGeneric : PtxOp.CvtaToGeneric;
                ins.Imm = (long)(space == PtxSpace.Shared ? PtxAddressWindows.SharedBase : PtxAddressWindows.LocalBase);
                Emit(ref ins, op, Dest(ops[0], line), Source(ops[1], line));
                break;
            }
            case "bra":
                ins.Op = PtxOp.Bra;
                _branchFixups.Add((_code.Count, ops[0], line));
                _code.Add(ins);
                break;
            case "ret":
            case "exit":
                Emit(ref ins, PtxOp.Exit);
                break;
            case "bar":
            case "barrier":
                if (mods.Contains("warp")) { Emit(ref ins, PtxOp.Nop); break; }
                if (!(mods.Contains("sync") || parts.Length == 1) || ops.Count != 1 || mods.Contains("arrive") || mods.Contains("red")) throw unsupported;
                Emit(ref ins, PtxOp.BarSync);
                break;
            case "membar":
            case "fence":
                Emit(ref ins, PtxOp.Nop);
                break;
            case "shfl":
                DecodeShfl(ref ins, mods, ops, line, opcode);
                break;
            case "vote":
                DecodeVote(ref ins, mods, ops, line, opcode);
                break;
            case "setp":
                DecodeSetp(ref ins, mods, ops, line, opcode);
                break;
            case "mma":
                DecodeMma(ref ins, types, mods, ops, line, opcode);
                break;
            case "selp":
                Emit(ref ins, PtxOp.Selp, Dest(ops[0], line), Source(ops[1], line), Source(ops[2], line), Source(ops[3], line));
                break;
            default:
                DecodeArithmetic(ref ins, parts[0], mods, ops, line, opcode);
                break;
        }
    }

    private void Emit(ref PtxInstr ins, PtxOp op, int d = -1, int a = -1, int b = -1, int c = -1)
    {
        ins.Op = op;
        ins.D = d;
        ins.A = a;
        ins.B = b;
        ins.C = c;
        _code.Add(ins);
    }

    private static PtxSpace SpaceOf(HashSet<string> mods) =>
        mods.Contains("global") ? PtxSpace.Global : mods.Contains("shared") ? PtxSpace.Shared : mods.Contains("local") ? PtxSpace.Local
        : mods.Contains("param") ? PtxSpace.Param : mods.Contains("const") ? PtxSpace.Const : PtxSpace.Generic;

    private void DecodeMemory(ref PtxInstr ins, bool isStore, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        ins.Space = SpaceOf(mods);
        if (ins.Space == PtxSpace.Const || ops.Count != 2) throw new PtxUnsupportedInstructionException(opcode, line);
        ins.Vec = (byte)(mods.Contains("v4") ? 4 : mods.Contains("v2") ? 2 : 1);
        string valueTok = isStore ? ops[1] : ops[0];
        var (baseSlot, offset, isParam) = Address(isStore ? ops[0] : ops[1], line);
        ins.Imm = offset;
        ins.A = baseSlot;
        if (ins.Space == PtxSpace.Param)
        {
            if (isStore || !isParam || ins.Vec != 1) throw new PtxUnsupportedInstructionException(opcode, line, "only ld.param of a kernel parameter");
            ins.Op = PtxOp.LdParam;
            ins.D = Dest(valueTok, line);
            _code.Add(ins);
            return;
        }
        if (isParam) throw new PtxUnsupportedInstructionException(opcode, line, "kernel parameter address outside ld.param");
        ins.Op = isStore ? PtxOp.St : PtxOp.Ld;
        if (ins.Vec == 1)
        {
            if (isStore) ins.B = Source(valueTok, line);
            else ins.D = Dest(valueTok, line);
        }
        else
        {
            var elems = valueTok.Trim('{', '}').Split(',', StringSplitOptions.TrimEntries);
            if (elems.Length != ins.Vec) throw new PtxParseException(line, $"vector operand '{valueTok}' does not have {ins.Vec} elements");
            ins.E = _vectorSlots.Count;
            foreach (var e in elems) _vectorSlots.Add(isStore ? Source(e, line) : Dest(e, line));
        }
        _code.Add(ins);
    }

    private void DecodeAtomic(ref PtxInstr ins, bool isRed, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        ins.Space = SpaceOf(mods);
        PtxAtomOp? op = null;
        foreach (var m in mods)
        {
            op = m switch
            {
                "add" => PtxAtomOp.Add, "min" => PtxAtomOp.Min, "max" => PtxAtomOp.Max, "exch" => PtxAtomOp.Exch, "cas" => PtxAtomOp.Cas,
                "and" => PtxAtomOp.And, "or" => PtxAtomOp.Or, "xor" => PtxAtomOp.Xor, "inc" => PtxAtomOp.Inc, "dec" => PtxAtomOp.Dec,
                _ => op,
            };
        }
        if (op is null || ins.Space is PtxSpace.Param or PtxSpace.Const or PtxSpace.Local) throw new PtxUnsupportedInstructionException(opcode, line);
        if (op == PtxAtomOp.Add && ins.Type is not (PtxType.F32 or PtxType.F64 or PtxType.U32 or PtxType.S32 or PtxType.U64))
            throw new PtxUnsupportedInstructionException(opcode, line);
        ins.Mod = (byte)op.Value;
        int k = 0;
        ins.D = isRed ? -1 : Dest(ops[k++], line);
        var (baseSlot, offset, _) = Address(ops[k++], line);
        ins.A = baseSlot;
        ins.Imm = offset;
        ins.B = Source(ops[k++], line);
        if (op == PtxAtomOp.Cas) ins.C = Source(ops[k], line);
        ins.Op = PtxOp.Atom;
        _code.Add(ins);
    }

    private void DecodeCvt(ref PtxInstr ins, List<PtxType> types, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        if (types.Count != 2) throw new PtxUnsupportedInstructionException(opcode, line);
        PtxType dst = types[0], src = types[1];
        if (dst == PtxType.F16 || src == PtxType.F16) throw new PtxUnsupportedInstructionException(opcode, line);
        ins.Type = dst;
        ins.Type2 = src;
        ins.Mod = (byte)(mods.Contains("rni") ? PtxRound.Rni : mods.Contains("rzi") ? PtxRound.Rzi : mods.Contains("rmi") ? PtxRound.Rmi
                 : mods.Contains("rpi") ? PtxRound.Rpi : mods.Contains("rn") ? PtxRound.Rn : mods.Contains("rz") ? PtxRound.Rz
                 : mods.Contains("rm") ? PtxRound.Rm : mods.Contains("rp") ? PtxRound.Rp : PtxRound.Default);
        ins.Mod2 = (byte)(mods.Contains("sat") ? 1 : 0);
        int d = Dest(ops[0], line), a = Source(ops[1], line);
        bool intDst = !PtxParser.IsFloat(dst), intSrc = !PtxParser.IsFloat(src);
        if (intDst && intSrc && ins.Mod2 == 0 && PtxParser.SizeOf(dst) == 8 && PtxParser.SizeOf(src) == 4)
            Emit(ref ins, PtxParser.IsSigned(src) ? PtxOp.Sext32 : PtxOp.Zext32, d, a);
        else if (intDst && intSrc && ins.Mod2 == 0 && PtxParser.SizeOf(dst) == 4 && PtxParser.SizeOf(src) >= 4)
            Emit(ref ins, PtxOp.Mov, d, a);
        else Emit(ref ins, PtxOp.Cvt, d, a);
    }

    private void DecodeShfl(ref PtxInstr ins, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        if (!mods.Contains("sync") || ops.Count != 5 || ins.Type != PtxType.B32) throw new PtxUnsupportedInstructionException(opcode, line);
        ins.Mod = (byte)(mods.Contains("up") ? PtxShflMode.Up : mods.Contains("down") ? PtxShflMode.Down
                 : mods.Contains("bfly") ? PtxShflMode.Bfly : mods.Contains("idx") ? PtxShflMode.Idx
                 : throw new PtxUnsupportedInstructionException(opcode, line));
        var dst = ops[0].Split('|');
        ins.D = Dest(dst[0], line);
        ins.E = dst.Length > 1 ? Dest(dst[1], line) : -1;
        ins.A = Source(ops[1], line);
        ins.B = Source(ops[2], line);
        ins.C = Source(ops[3], line);
        ins.Imm = Source(ops[4], line);
        ins.Op = PtxOp.Shfl;
        _code.Add(ins);
    }

    private void DecodeVote(ref PtxInstr ins, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        if (!mods.Contains("sync") || ops.Count != 3) throw new PtxUnsupportedInstructionException(opcode, line);
        ins.Mod = (byte)(mods.Contains("all") ? PtxVoteMode.All : mods.Contains("any") ? PtxVoteMode.Any
                 : mods.Contains("uni") ? PtxVoteMode.Uni : mods.Contains("ballot") ? PtxVoteMode.Ballot
                 : throw new PtxUnsupportedInstructionException(opcode, line));
        ins.D = Dest(ops[0], line);
        ins.NegC = ops[1].StartsWith('!');
        ins.A = Source(ins.NegC ? ops[1][1..] : ops[1], line);
        ins.Imm = Source(ops[2], line);
        ins.Op = PtxOp.Vote;
        _code.Add(ins);
    }

    // mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {d0..d3}, {a0..a3}, {b0, b1}, {c0..c3}:
    // the 14 operand slots go to VectorSlots from E on (d, a, b, c). Only bf16 inputs are modelled (f16 is refused).
    private void DecodeMma(ref PtxInstr ins, List<PtxType> types, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        bool bf16 = mods.Contains("bf16");
        if (!bf16 || !mods.Contains("sync") || !mods.Contains("aligned") || !mods.Contains("m16n8k16") || !mods.Contains("row") || !mods.Contains("col")
            || types.Count != 2 || types[0] != PtxType.F32 || types[1] != PtxType.F32 || ops.Count != 4 || mods.Contains("satfinite"))
            throw new PtxUnsupportedInstructionException(opcode, line, "the emulator models mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 only");
        int[] counts = [4, 4, 2, 4];
        ins.E = _vectorSlots.Count;
        for (int g = 0; g < 4; g++)
        {
            var elems = ops[g].Trim('{', '}').Split(',', StringSplitOptions.TrimEntries);
            if (elems.Length != counts[g]) throw new PtxParseException(line, $"mma operand {g} '{ops[g]}' does not have {counts[g]} registers");
            foreach (var e in elems) _vectorSlots.Add(g == 0 ? Dest(e, line) : Source(e, line));
        }
        ins.Op = PtxOp.Mma;
        _code.Add(ins);
    }

    private void DecodeSetp(ref PtxInstr ins, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        PtxCmp? cmp = null;
        var bop = PtxBoolOp.None;
        foreach (var m in mods)
        {
            switch (m)
            {
                case "eq": cmp = PtxCmp.Eq; break;
                case "ne": cmp = PtxCmp.Ne; break;
                case "lt": cmp = PtxCmp.Lt; break;
                case "le": cmp = PtxCmp.Le; break;
                case "gt": cmp = PtxCmp.Gt; break;
                case "ge": cmp = PtxCmp.Ge; break;
                case "lo": cmp = PtxCmp.Lo; break;
                case "ls": cmp = PtxCmp.Ls; break;
                case "hi": cmp = PtxCmp.Hi; break;
                case "hs": cmp = PtxCmp.Hs; break;
                case "equ": cmp = PtxCmp.Equ; break;
                case "neu": cmp = PtxCmp.Neu; break;
                case "ltu": cmp = PtxCmp.Ltu; break;
                case "leu": cmp = PtxCmp.Leu; break;
                case "gtu": cmp = PtxCmp.Gtu; break;
                case "geu": cmp = PtxCmp.Geu; break;
                case "num": cmp = PtxCmp.Num; break;
                case "nan": cmp = PtxCmp.Nan; break;
                case "and": bop = PtxBoolOp.And; break;
                case "or": bop = PtxBoolOp.Or; break;
                case "xor": bop = PtxBoolOp.Xor; break;
                case "ftz": break;
                default: throw new PtxUnsupportedInstructionException(opcode, line);
            }
        }
        if (cmp is null || ins.Type == PtxType.Pred) throw new PtxUnsupportedInstructionException(opcode, line);
        bool isFloat = PtxParser.IsFloat(ins.Type);
        bool unordered = cmp.Value is PtxCmp.Equ or PtxCmp.Neu or PtxCmp.Ltu or PtxCmp.Leu or PtxCmp.Gtu or PtxCmp.Geu or PtxCmp.Num or PtxCmp.Nan;
        if (unordered && !isFloat) throw new PtxUnsupportedInstructionException(opcode, line, "unordered compare on integers");
        ins.Mod = (byte)cmp.Value;
        ins.Mod2 = (byte)bop;
        var dst = ops[0].Split('|');
        ins.D = Dest(dst[0], line);
        ins.E = dst.Length > 1 ? Dest(dst[1], line) : -1;
        ins.A = Source(ops[1], line);
        ins.B = Source(ops[2], line);
        if (bop != PtxBoolOp.None)
        {
            ins.NegC = ops[3].StartsWith('!');
            ins.C = Source(ins.NegC ? ops[3][1..] : ops[3], line);
        }
        ins.Op = PtxOp.Setp;
        _code.Add(ins);
    }

    private void DecodeArithmetic(ref PtxInstr ins, string name, HashSet<string> mods, List<string> ops, int line, string opcode)
    {
        var t = ins.Type;
        bool f32 = t == PtxType.F32, f64 = t == PtxType.F64, pred = t == PtxType.Pred;
        bool i64 = !f64 && PtxParser.SizeOf(t) == 8, i32 = !f32 && !pred && PtxParser.SizeOf(t) == 4 && t != PtxType.None;
        bool signed = PtxParser.IsSigned(t);
        bool approx = mods.Contains("approx") || mods.Contains("full");
        // Round-to-nearest is what C# float arithmetic does; other IEEE modes and saturation are not modelled.
        foreach (var m in mods)
        {
            bool ok = m switch
            {
                "rn" or "lo" or "hi" or "wide" or "approx" or "full" => true,
                "ftz" => approx || name is "ex2" or "lg2" or "sin" or "cos" or "rsqrt",
                _ => false,
            };
            if (!ok) throw new PtxUnsupportedInstructionException(opcode, line);
        }
        PtxOp? op = (name, f32, f64, i32, i64, pred) switch
        {
            ("add", true, _, _, _, _) => PtxOp.AddF32, ("sub", true, _, _, _, _) => PtxOp.SubF32, ("mul", true, _, _, _, _) => PtxOp.MulF32,
            ("fma", true, _, _, _, _) or ("mad", true, _, _, _, _) => PtxOp.FmaF32, ("div", true, _, _, _, _) => PtxOp.DivF32,
            ("min", true, _, _, _, _) => PtxOp.MinF32, ("max", true, _, _, _, _) => PtxOp.MaxF32, ("neg", true, _, _, _, _) => PtxOp.NegF32,
            ("abs", true, _, _, _, _) => PtxOp.AbsF32, ("rcp", true, _, _, _, _) => PtxOp.RcpF32, ("sqrt", true, _, _, _, _) => PtxOp.SqrtF32,
            ("rsqrt", true, _, _, _, _) => PtxOp.RsqrtF32, ("ex2", true, _, _, _, _) => PtxOp.Ex2F32, ("lg2", true, _, _, _, _) => PtxOp.Lg2F32,
            ("sin", true, _, _, _, _) => PtxOp.SinF32, ("cos", true, _, _, _, _) => PtxOp.CosF32,
            ("add", _, true, _, _, _) => PtxOp.AddF64, ("sub", _, true, _, _, _) => PtxOp.SubF64, ("mul", _, true, _, _, _) => PtxOp.MulF64,
            ("fma", _, true, _, _, _) or ("mad", _, true, _, _, _) => PtxOp.FmaF64, ("div", _, true, _, _, _) => PtxOp.DivF64,
            ("min", _, true, _, _, _) => PtxOp.MinF64, ("max", _, true, _, _, _) => PtxOp.MaxF64, ("neg", _, true, _, _, _) => PtxOp.NegF64,
            ("abs", _, true, _, _, _) => PtxOp.AbsF64, ("rcp", _, true, _, _, _) => PtxOp.RcpF64, ("sqrt", _, true, _, _, _) => PtxOp.SqrtF64,
            ("add", _, _, true, _, _) => PtxOp.AddI32, ("sub", _, _, true, _, _) => PtxOp.SubI32,
            ("mul", _, _, true, _, _) => mods.Contains("hi") ? (signed ? PtxOp.MulHiS32 : PtxOp.MulHiU32)
                                       : mods.Contains("wide") ? (signed ? PtxOp.MulWideS32 : PtxOp.MulWideU32) : PtxOp.MulLoI32,
            ("mad", _, _, true, _, _) => mods.Contains("hi") ? null
                                       : mods.Contains("wide") ? (signed ? PtxOp.MadWideS32 : PtxOp.MadWideU32) : PtxOp.MadLoI32,
            ("div", _, _, true, _, _) => signed ? PtxOp.DivS32 : PtxOp.DivU32, ("rem", _, _, true, _, _) => signed ? PtxOp.RemS32 : PtxOp.RemU32,
            ("min", _, _, true, _, _) => signed ? PtxOp.MinS32 : PtxOp.MinU32, ("max", _, _, true, _, _) => signed ? PtxOp.MaxS32 : PtxOp.MaxU32,
            ("neg", _, _, true, _, _) => PtxOp.NegI32, ("abs", _, _, true, _, _) => PtxOp.AbsS32,
            ("and", _, _, true, _, _) => PtxOp.AndB32, ("or", _, _, true, _, _) => PtxOp.OrB32, ("xor", _, _, true, _, _) => PtxOp.XorB32,
            ("not", _, _, true, _, _) => PtxOp.NotB32, ("shl", _, _, true, _, _) => PtxOp.ShlB32,
            ("shr", _, _, true, _, _) => signed ? PtxOp.ShrS32 : PtxOp.ShrU32,
            ("bfe", _, _, true, _, _) => signed ? null : PtxOp.BfeU32, ("popc", _, _, true, _, _) => PtxOp.PopcB32, ("clz", _, _, true, _, _) => PtxOp.ClzB32, ("brev", _, _, true, _, _) => PtxOp.BrevB32,
            ("add", _, _, _, true, _) => PtxOp.AddI64, ("sub", _, _, _, true, _) => PtxOp.SubI64,
            ("mul", _, _, _, true, _) => mods.Contains("hi") || mods.Contains("wide") ? null : PtxOp.MulLoI64,
            ("mad", _, _, _, true, _) => mods.Contains("hi") || mods.Contains("wide") ? null : PtxOp.MadLoI64,
            ("div", _, _, _, true, _) => signed ? PtxOp.DivS64 : PtxOp.DivU64, ("rem", _, _, _, true, _) => signed ? PtxOp.RemS64 : PtxOp.RemU64,
            ("min", _, _, _, true, _) => signed ? PtxOp.MinS64 : PtxOp.MinU64, ("max", _, _, _, true, _) => signed ? PtxOp.MaxS64 : PtxOp.MaxU64,
            ("neg", _, _, _, true, _) => PtxOp.NegI64, ("abs", _, _, _, true, _) => PtxOp.AbsS64,
            ("and", _, _, _, true, _) => PtxOp.AndB64, ("or", _, _, _, true, _) => PtxOp.OrB64, ("xor", _, _, _, true, _) => PtxOp.XorB64,
            ("not", _, _, _, true, _) => PtxOp.NotB64, ("shl", _, _, _, true, _) => PtxOp.ShlB64,
            ("shr", _, _, _, true, _) => signed ? PtxOp.ShrS64 : PtxOp.ShrU64,
            ("popc", _, _, _, true, _) => PtxOp.PopcB64, ("clz", _, _, _, true, _) => PtxOp.ClzB64, ("brev", _, _, _, true, _) => PtxOp.BrevB64,
            ("and", _, _, _, _, true) => PtxOp.AndPred, ("or", _, _, _, _, true) => PtxOp.OrPred, ("xor", _, _, _, _, true) => PtxOp.XorPred,
            ("not", _, _, _, _, true) => PtxOp.NotPred,
            _ => null,
        };
        if (op is null) throw new PtxUnsupportedInstructionException(opcode, line);
        int arity = op.Value switch
        {
            PtxOp.FmaF32 or PtxOp.FmaF64 or PtxOp.BfeU32 or PtxOp.MadLoI32 or PtxOp.MadWideS32 or PtxOp.MadWideU32 or PtxOp.MadLoI64 => 3,
            PtxOp.NegF32 or PtxOp.AbsF32 or PtxOp.RcpF32 or PtxOp.SqrtF32 or PtxOp.RsqrtF32 or PtxOp.Ex2F32 or PtxOp.Lg2F32 or PtxOp.SinF32
                or PtxOp.CosF32 or PtxOp.NegF64 or PtxOp.AbsF64 or PtxOp.RcpF64 or PtxOp.SqrtF64 or PtxOp.NegI32 or PtxOp.AbsS32
                or PtxOp.NotB32 or PtxOp.PopcB32 or PtxOp.ClzB32 or PtxOp.BrevB32 or PtxOp.NegI64 or PtxOp.AbsS64 or PtxOp.NotB64
                or PtxOp.PopcB64 or PtxOp.ClzB64 or PtxOp.BrevB64 or PtxOp.NotPred => 1,
            _ => 2,
        };
        if (ops.Count != arity + 1) throw new PtxParseException(line, $"'{opcode}' expects {arity + 1} operands, found {ops.Count}");
        Emit(ref ins, op.Value, Dest(ops[0], line), Source(ops[1], line),
             arity > 1 ? Source(ops[2], line) : -1, arity > 2 ? Source(ops[3], line) : -1);
    }
}
