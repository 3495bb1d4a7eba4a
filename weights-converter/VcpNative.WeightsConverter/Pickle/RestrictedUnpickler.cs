// A pickle interpreter that only builds data: globals are resolved against an allow-list and "called" by
// interpreting a handful of known torch rebuild functions; anything else stops the load before it can run.
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace VcpNative.WeightsConverter.Pickle;

internal sealed class RestrictedUnpickler
{
    /// <summary>Globals a torch.save / TorchScript pickle may reference. Each one is interpreted here, never invoked.</summary>
    private static readonly HashSet<string> AllowedGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",
        "torch.Tensor",
        "torch.Size",
        "_codecs.encode",
    };

    private readonly byte[] _data;
    private readonly string _file;
    private readonly string _entryName;
    private readonly long _baseOffset;
    private readonly Func<PickleTuple, long, PickleValue> _persistentLoad;
    private readonly List<PickleValue> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, PickleValue> _memo = [];
    private int _pos;
    private int _opStart;

    /// <param name="baseOffset">File offset of the pickle's first byte, so errors point into the file.</param>
    /// <param name="persistentLoad">Turns a BINPERSID tuple into a value (a storage); receives the opcode's file offset.</param>
    public RestrictedUnpickler(byte[] data, string file, string entryName, long baseOffset, Func<PickleTuple, long, PickleValue> persistentLoad)
    {
        _data = data;
        _file = file;
        _entryName = entryName;
        _baseOffset = baseOffset;
        _persistentLoad = persistentLoad;
    }

    public PickleValue Load()
    {
        while (true)
        {
            _opStart = _pos;
            var op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break; // PROTO
                case 0x95: Read(8); break; // FRAME: framing is a hint for buffered readers
                case (byte)'.': // STOP
                    if (_stack.Count != 1) throw Fail($"STOP with {_stack.Count} values on the stack, expected 1");
                    return _stack[0];
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)']': Push(new PickleList([])); break; // EMPTY_LIST
                case (byte)')': Push(new PickleTuple([])); break; // EMPTY_TUPLE
                case 0x8f: Push(new PickleList([])); break; // EMPTY_SET, kept as a list of its items
                case (byte)'N': Push(PickleNone.Instance); break;
                case 0x88: Push(new PickleBool(true)); break;
                case 0x89: Push(new PickleBool(false)); break;
                case (byte)'J': Push(new PickleInt(BinaryPrimitives.ReadInt32LittleEndian(Read(4)))); break; // BININT
                case (byte)'K': Push(new PickleInt(ReadByte())); break; // BININT1
                case (byte)'M': Push(new PickleInt(BinaryPrimitives.ReadUInt16LittleEndian(Read(2)))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: Push(ReadLong(ReadLength(4))); break; // LONG4
                case (byte)'G': Push(new PickleFloat(BinaryPrimitives.ReadDoubleBigEndian(Read(8)))); break; // BINFLOAT is big-endian
                case (byte)'X': Push(new PickleString(ReadUtf8(ReadLength(4)))); break; // BINUNICODE
                case 0x8c: Push(new PickleString(ReadUtf8(ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(new PickleString(ReadUtf8(ReadLength(8)))); break; // BINUNICODE8
                case (byte)'T': Push(new PickleString(Encoding.Latin1.GetString(Read(ReadLength(4))))); break; // BINSTRING (py2 str)
                case (byte)'U': Push(new PickleString(Encoding.Latin1.GetString(Read(ReadByte())))); break; // SHORT_BINSTRING
                case (byte)'B': Push(new PickleBytes(Read(ReadLength(4)).ToArray())); break; // BINBYTES
                case (byte)'C': Push(new PickleBytes(Read(ReadByte()).ToArray())); break; // SHORT_BINBYTES
                case 0x8e: Push(new PickleBytes(Read(ReadLength(8)).ToArray())); break; // BINBYTES8
                case (byte)'t': Push(new PickleTuple(PopToMark())); break; // TUPLE
                case 0x85: Push(new PickleTuple([Pop()])); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b])); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b, c])); break; } // TUPLE3
                case (byte)'l': Push(new PickleList([.. PopToMark()])); break; // LIST
                case (byte)'d': // DICT
                {
                    var items = PopToMark();
                    var dict = new PickleDict();
                    SetItems(dict, items);
                    Push(dict);
                    break;
                }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(Peek(), [k, v]); break; } // SETITEM
                case (byte)'u': { var items = PopToMark(); SetItems(Peek(), items); break; } // SETITEMS
                case (byte)'a': { var v = Pop(); AppendItems(Peek(), [v]); break; } // APPEND
                case (byte)'e': case 0x90: { var items = PopToMark(); AppendItems(Peek(), items); break; } // APPENDS, ADDITEMS
                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break; // LONG_BINGET
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopToMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                case (byte)'c': // GLOBAL
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not PickleString m || name is not PickleString n) throw Fail("STACK_GLOBAL needs two strings");
                    Push(ResolveGlobal(m.Value, n.Value));
                    break;
                }
                case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, args)); break; } // REDUCE
                case 0x81: { var args = Pop(); var cls = Pop(); Push(NewObject(cls, args)); break; } // NEWOBJ
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; } // BUILD
                case (byte)'Q': // BINPERSID
                {
                    var pid = Pop();
                    if (pid is not PickleTuple tuple) throw Fail($"persistent id must be a tuple, found {pid.Kind}");
                    Push(_persistentLoad(tuple, _baseOffset + _opStart));
                    break;
                }
                default:
                    throw Fail($"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    private PickleValue ResolveGlobal(string module, string name)
    {
        var full = module + "." + name;
        // TorchScript module classes are inert records; storage classes only name a dtype.
        if (module == "__torch__" || module.StartsWith("__torch__.", StringComparison.Ordinal)) return new PickleGlobal(module, name);
        if (module == "torch" && (WeightDTypeInfo.TryParseTorchStorageName(name, out _) || name == "UntypedStorage")) return new PickleGlobal(module, name);
        if (AllowedGlobals.Contains(full)) return new PickleGlobal(module, name);
        throw Fail($"global '{full}' is not allowed: weight files may only reference tensor-rebuild functions; refusing to load (nothing was executed)");
    }

    private PickleValue Reduce(PickleValue callable, PickleValue argsValue)
    {
        if (callable is not PickleGlobal g) throw Fail($"REDUCE on a {callable.Kind}, expected an allowed global");
        if (argsValue is not PickleTuple argsTuple) throw Fail($"REDUCE arguments must be a tuple, found {argsValue.Kind}");
        var args = argsTuple.Items;
        switch (g.FullName)
        {
            case "collections.OrderedDict":
            {
                var dict = new PickleDict();
                if (args.Length > 0 && args[0] is PickleList pairs) AppendPairs(dict, pairs.Items);
                return dict;
            }
            case "torch._utils._rebuild_tensor":
            case "torch._utils._rebuild_tensor_v2":
                return RebuildTensor(args);
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                // A Parameter is its data tensor; requires_grad, hooks and extra state do not matter for weights.
                if (args.Length < 1 || args[0] is not PickleTensor) throw Fail($"{g.FullName} expects a tensor first argument");
                return args[0];
            case "torch._tensor._rebuild_from_type_v2":
                // (func, new_type, args, state): a tensor subclass; rebuild the plain tensor with func(*args).
                if (args.Length < 3) throw Fail("_rebuild_from_type_v2 expects (func, type, args, state)");
                // One level: a subclass of a subclass never occurs, and nested tuples 10^5 deep would overflow the stack.
                if (args[0] is PickleGlobal { FullName: "torch._tensor._rebuild_from_type_v2" })
                    throw Fail("_rebuild_from_type_v2 nested in itself");
                return Reduce(args[0], args[2]);
            case "torch.Size":
                return args.Length == 1 && args[0] is PickleTuple size ? size : new PickleTuple(args);
            case "_codecs.encode":
                // Protocol-2 pickles encode bytes as _codecs.encode(str, 'latin1').
                if (args.Length >= 1 && args[0] is PickleString text) return new PickleBytes(Encoding.Latin1.GetBytes(text.Value));
                throw Fail("_codecs.encode expects a string");
            default:
                throw Fail($"global '{g.FullName}' cannot be called");
        }
    }

    private PickleValue NewObject(PickleValue cls, PickleValue args)
    {
        if (cls is PickleGlobal g)
        {
            if (g.Module == "__torch__" || g.Module.StartsWith("__torch__.", StringComparison.Ordinal)) return new PickleObject(g.FullName);
            if (g.FullName == "collections.OrderedDict") return new PickleDict();
        }
        throw Fail($"NEWOBJ on {cls.Kind} is not allowed");
    }

    private void Build(PickleValue target, PickleValue state)
    {
        switch (target)
        {
            case PickleObject obj:
                obj.State = state;
                break;
            case PickleDict dict:
                dict.Attributes = state;
                break;
            case PickleTensor:
                // Tensor/Parameter __setstate__ carries Python attributes only, never data.
                break;
            default:
                throw Fail($"BUILD on a {target.Kind} is not supported");
        }
    }

    private PickleTensor RebuildTensor(PickleValue[] args)
    {
        if (args.Length < 4 || args[0] is not PickleStorage storage || args[1] is not PickleInt offset
            || args[2] is not PickleTuple sizeTuple || args[3] is not PickleTuple strideTuple)
            throw Fail("_rebuild_tensor_v2 expects (storage, storage_offset, size, stride, ...)");
        var shape = ToLongs(sizeTuple, "size");
        var strides = ToLongs(strideTuple, "stride");
        if (shape.Length != strides.Length) throw Fail($"size has {shape.Length} dims but stride has {strides.Length}");
        long extent;
        try
        {
            extent = TensorLayout.ExtentElements(shape, strides);
            TensorLayout.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw Fail($"size [{string.Join(", ", shape)}] is too large");
        }
        // An empty view touches nothing but its offset must still lie in the storage (RawBytes slices there).
        if (offset.Value < 0 || offset.Value > storage.ElementCount || offset.Value + extent > storage.ElementCount)
            throw Fail($"tensor view (offset {offset.Value}, size [{string.Join(", ", shape)}], stride [{string.Join(", ", strides)}]) needs {offset.Value + extent} elements, storage '{storage.Key}' has {storage.ElementCount}");
        return new PickleTensor(new WeightTensor("", storage.DType, shape, strides, offset.Value, storage.Storage));
    }

    private long[] ToLongs(PickleTuple tuple, string what)
    {
        var result = new long[tuple.Items.Length];
        for (var i = 0; i < result.Length; i++)
        {
            if (tuple.Items[i] is not PickleInt v || v.Value < 0) throw Fail($"{what} must hold non-negative integers");
            result[i] = v.Value;
        }
        return result;
    }

    private void SetItems(PickleValue target, PickleValue[] items)
    {
        if (target is not PickleDict dict) throw Fail($"SETITEM(S) on a {target.Kind}, expected a dict");
        if (items.Length % 2 != 0) throw Fail("SETITEMS with an odd number of items");
        for (var i = 0; i < items.Length; i += 2) dict.Set(items[i], items[i + 1]);
    }

    private void AppendItems(PickleValue target, PickleValue[] items)
    {
        switch (target)
        {
            case PickleList list:
                list.Items.AddRange(items);
                break;
            case PickleDict dict:
                // OrderedDict's reduce may append (key, value) pairs.
                AppendPairs(dict, items);
                break;
            default:
                throw Fail($"APPEND(S) on a {target.Kind}, expected a list");
        }
    }

    private void AppendPairs(PickleDict dict, IEnumerable<PickleValue> pairs)
    {
        foreach (var p in pairs)
        {
            PickleValue[] items = p switch
            {
                PickleTuple { Items.Length: 2 } t => t.Items,
                PickleList { Items.Count: 2 } l => [.. l.Items],
                _ => throw Fail("OrderedDict items must be (key, value) pairs"),
            };
            dict.Set(items[0], items[1]);
        }
    }

    private PickleInt ReadLong(int byteCount)
    {
        var bytes = Read(byteCount);
        if (byteCount > 8)
        {
            var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
            if (big < long.MinValue || big > long.MaxValue) throw Fail($"integer {big} does not fit in 64 bits");
            return new PickleInt((long)big);
        }
        long value = 0;
        for (var i = byteCount - 1; i >= 0; i--) value = (value << 8) | bytes[i];
        // Sign-extend from the top byte (two's complement, little-endian).
        if (byteCount > 0 && byteCount < 8 && (bytes[byteCount - 1] & 0x80) != 0) value -= 1L << (8 * byteCount);
        return new PickleInt(value);
    }

    private PickleValue MemoGet(long index) =>
        _memo.TryGetValue(index, out var v) ? v : throw Fail($"memo slot {index} was never stored");

    private void Push(PickleValue v) => _stack.Add(v);

    private PickleValue Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks.Peek())) throw Fail("stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private PickleValue Peek()
    {
        if (_stack.Count == 0) throw Fail("stack underflow");
        return _stack[^1];
    }

    private PickleValue[] PopToMark()
    {
        if (_marks.Count == 0) throw Fail("no MARK on the stack");
        var mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private byte ReadByte() => Read(1)[0];

    private int ReadLength(int width)
    {
        var span = Read(width);
        var value = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(span) : BinaryPrimitives.ReadUInt64LittleEndian(span);
        if (value > (ulong)(_data.Length - _pos)) throw Fail($"length {value} runs past the end of the {_data.Length}-byte pickle (file truncated?)");
        return (int)value;
    }

    private ReadOnlySpan<byte> Read(int count)
    {
        if (count > _data.Length - _pos)
        {
            throw Fail(_opStart >= _data.Length
                ? $"pickle of {_data.Length} bytes ends without a STOP opcode (file truncated?)"
                : $"pickle ends inside opcode 0x{_data[_opStart]:x2}: expected {count} more bytes, found {_data.Length - _pos} (file truncated?)");
        }
        var span = _data.AsSpan(_pos, count);
        _pos += count;
        return span;
    }

    private string ReadUtf8(int count) => Encoding.UTF8.GetString(Read(count));

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Fail("GLOBAL name is not newline-terminated (file truncated?)");
        var text = Encoding.UTF8.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return text;
    }

    private ModelFormatException Fail(string detail) =>
        new(_file, _baseOffset + _opStart, null, $"{_entryName} byte {_opStart}: {detail}");
}
