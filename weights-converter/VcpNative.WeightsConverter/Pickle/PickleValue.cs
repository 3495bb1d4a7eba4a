// The inert object tree a restricted unpickle produces: plain data, tensors and TorchScript module records, never live objects.
namespace VcpNative.WeightsConverter.Pickle;

public abstract class PickleValue
{
    /// <summary>Human-readable kind for error messages.</summary>
    public abstract string Kind { get; }
}

public sealed class PickleNone : PickleValue
{
    public static readonly PickleNone Instance = new();

    private PickleNone()
    {
    }

    public override string Kind => "None";

    public override string ToString() => "None";
}

public sealed class PickleBool(bool value) : PickleValue
{
    public bool Value { get; } = value;

    public override string Kind => "bool";

    public override string ToString() => Value ? "True" : "False";
}

public sealed class PickleInt(long value) : PickleValue
{
    public long Value { get; } = value;

    public override string Kind => "int";

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class PickleFloat(double value) : PickleValue
{
    public double Value { get; } = value;

    public override string Kind => "float";

    public override string ToString() => Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class PickleString(string value) : PickleValue
{
    public string Value { get; } = value;

    public override string Kind => "str";

    public override string ToString() => Value;
}

public sealed class PickleBytes(byte[] value) : PickleValue
{
    public byte[] Value { get; } = value;

    public override string Kind => "bytes";
}

public sealed class PickleList(List<PickleValue> items) : PickleValue
{
    public List<PickleValue> Items { get; } = items;

    public override string Kind => "list";
}

public sealed class PickleTuple(PickleValue[] items) : PickleValue
{
    public PickleValue[] Items { get; } = items;

    public override string Kind => "tuple";
}

/// <summary>dict or collections.OrderedDict, in insertion order.</summary>
public sealed class PickleDict : PickleValue
{
    private readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);

    public List<KeyValuePair<PickleValue, PickleValue>> Entries { get; } = [];

    /// <summary>Instance attributes set by BUILD (e.g. a state_dict's `_metadata`); not part of the mapping.</summary>
    public PickleValue? Attributes { get; internal set; }

    public override string Kind => "dict";

    public void Set(PickleValue key, PickleValue value)
    {
        // Python dict semantics: a repeated key replaces the value in place.
        if (key is PickleString s)
        {
            if (_stringKeys.TryGetValue(s.Value, out var i))
            {
                Entries[i] = new(key, value);
                return;
            }
            _stringKeys[s.Value] = Entries.Count;
        }
        Entries.Add(new(key, value));
    }

    public PickleValue? Get(string key)
    {
        return _stringKeys.TryGetValue(key, out var i) ? Entries[i].Value : null;
    }
}

public sealed class PickleTensor(WeightTensor tensor) : PickleValue
{
    public WeightTensor Tensor { get; } = tensor;

    public override string Kind => "tensor";
}

/// <summary>A TorchScript module instance (`__torch__.*` class): only its class name and BUILD state, nothing runs.</summary>
public sealed class PickleObject(string className) : PickleValue
{
    public string ClassName { get; } = className;

    public PickleValue? State { get; internal set; }

    public override string Kind => ClassName;
}

/// <summary>An allow-listed global (a callable or class reference); only ever interpreted by the unpickler.</summary>
internal sealed class PickleGlobal(string module, string name) : PickleValue
{
    public string Module { get; } = module;

    public string Name { get; } = name;

    public string FullName => Module + "." + Name;

    public override string Kind => "global " + FullName;
}

/// <summary>A storage referenced by a persistent id: dtype, element count and its bytes (a zip entry).</summary>
internal sealed class PickleStorage(WeightDType dtype, long elementCount, TensorStorage storage, string key) : PickleValue
{
    public WeightDType DType { get; } = dtype;

    public long ElementCount { get; } = elementCount;

    public TensorStorage Storage { get; } = storage;

    public string Key { get; } = key;

    public override string Kind => "storage";
}
