// An ordered name -> tensor map read from one file, with its string metadata; owns the file mapping.
using Pickle = VcpNative.WeightsConverter.Pickle;

namespace VcpNative.WeightsConverter;

public enum WeightFileFormat { Safetensors, TorchSave, TorchScript, InMemory }

public sealed class WeightSet : IDisposable
{
    private readonly List<WeightTensor> _tensors;
    private readonly Dictionary<string, int> _index;
    private readonly IDisposable? _owner;

    internal WeightSet(string sourcePath, WeightFileFormat format, IEnumerable<WeightTensor> tensors,
        IReadOnlyDictionary<string, string> metadata, IDisposable? owner, Pickle.PickleValue? tree = null)
    {
        SourcePath = sourcePath;
        Format = format;
        Metadata = metadata;
        Tree = tree;
        _owner = owner;
        _tensors = [];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!_index.TryAdd(t.Name, _tensors.Count))
                throw new ModelFormatException(sourcePath, null, t.Name, "duplicate tensor name");
            _tensors.Add(t);
        }
    }

    /// <summary>A set built in memory (tests, conversions); owns nothing.</summary>
    public WeightSet(IEnumerable<WeightTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        : this("<memory>", WeightFileFormat.InMemory, tensors, metadata ?? new Dictionary<string, string>(), null)
    {
    }

    public string SourcePath { get; }

    public WeightFileFormat Format { get; }

    /// <summary>safetensors `__metadata__`, or the non-tensor scalars of a torch.save checkpoint (e.g. `epoch`).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The unpickled object tree for torch.save / TorchScript files; null for safetensors.</summary>
    public Pickle.PickleValue? Tree { get; }

    public IReadOnlyList<WeightTensor> Tensors => _tensors;

    public int Count => _tensors.Count;

    public IEnumerable<string> Names
    {
        get
        {
            foreach (var t in _tensors) yield return t.Name;
        }
    }

    public bool Contains(string name) => _index.ContainsKey(name);

    public bool TryGet(string name, out WeightTensor tensor)
    {
        if (_index.TryGetValue(name, out var i))
        {
            tensor = _tensors[i];
            return true;
        }
        tensor = null!;
        return false;
    }

    /// <summary>The named tensor; a missing one is a model-file problem, so it throws <see cref="ModelFormatException"/>.</summary>
    public WeightTensor this[string name] =>
        _index.TryGetValue(name, out var i)
            ? _tensors[i]
            : throw new ModelFormatException(SourcePath, null, name, $"tensor not found (the file has {_tensors.Count} tensors)");

    /// <summary>A new set over the same storages (nothing copied) that keeps this set's file mapping alive; dispose only one of them.</summary>
    internal WeightSet Derive(IEnumerable<WeightTensor> tensors) => new(SourcePath, Format, tensors, Metadata, _owner, Tree);

    public void Dispose() => _owner?.Dispose();
}
