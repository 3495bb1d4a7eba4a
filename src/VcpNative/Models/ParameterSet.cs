// Named model parameters as tensors, with shape checks that name the tensor and both shapes.
using VcpNative.Tensors;
using VcpNative.WeightsConverter;

namespace VcpNative.Models;

/// <summary>A model's weights by canonical name, converted to F32 tensors on one backend.</summary>
public sealed class ParameterSet : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors = new(StringComparer.Ordinal);

    public ParameterSet(string source)
    {
        Source = source;
    }

    /// <summary>Where the weights came from (file path), for error messages.</summary>
    public string Source { get; }

    public IEnumerable<string> Names => tensors.Keys;

    public int Count => tensors.Count;

    /// <summary>Every tensor of a weight file, under its stored (flattened) names, as F32 on <paramref name="backend"/>.</summary>
    public static ParameterSet Load(string path, IBackend? backend = null)
    {
        using var weights = WeightLoader.LoadVerbatim(path);
        return FromWeights(weights, backend);
    }

    /// <summary>Converts every tensor of a weight file to F32 on <paramref name="backend"/>.</summary>
    public static ParameterSet FromWeights(WeightSet weights, IBackend? backend = null)
    {
        var set = new ParameterSet(weights.SourcePath);
        foreach (var w in weights.Tensors)
        {
            var shape = new int[w.Shape.Length];
            for (var i = 0; i < shape.Length; i++)
            {
                shape[i] = checked((int)w.Shape[i]);
            }
            using var noScope = TensorScope.Suspend();
            Tensor t;
            if (backend is null or Tensors.Cpu.CpuBackend)
            {
                // Straight into the tensor's memory: no intermediate float[] per tensor (ViT-L is 1.7 GB of f32).
                t = Tensor.Empty(shape);
                w.CopyToFloat32(t.AsSpan());
            }
            else
            {
                t = Tensor.FromArray(w.ToFloat32(), shape, backend);
            }
            t.Name = w.Name;
            set.tensors[w.Name] = t;
        }
        return set;
    }

    public void Add(string name, Tensor tensor)
    {
        tensor.Name = name;
        tensors[name] = tensor;
    }

    public bool Contains(string name) => tensors.ContainsKey(name);

    public bool TryGet(string name, out Tensor tensor) => tensors.TryGetValue(name, out tensor!);

    /// <summary>The tensor named <paramref name="name"/>, checking its shape when <paramref name="expected"/> is given (-1 = any).</summary>
    public Tensor Get(string name, params int[] expected)
    {
        if (!tensors.TryGetValue(name, out var t))
        {
            throw new ModelFormatException(Source, null, name, "missing tensor (is this the right kind of weight file?)");
        }
        if (expected.Length > 0 && !ShapeMatches(t.Shape, expected))
        {
            throw new ModelFormatException(Source, null, name, $"expected shape {Shapes.Format(expected)}, found {Shapes.Format(t.Shape)}");
        }
        return t;
    }

    private static bool ShapeMatches(ReadOnlySpan<int> actual, int[] expected)
    {
        if (actual.Length != expected.Length)
        {
            return false;
        }
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] >= 0 && expected[i] != actual[i])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Number of blocks named prefix.N.* (N = 0, 1, ...).</summary>
    public int CountIndexed(string prefix, string suffix)
    {
        var n = 0;
        while (tensors.ContainsKey($"{prefix}.{n}.{suffix}"))
        {
            n++;
        }
        return n;
    }

    /// <summary>Writes every tensor as F32 safetensors (atomically, via the weights converter's writer).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            var values = t.ToArray();
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            entries.Add((name, WeightDType.F32, Array.ConvertAll(t.Shape.ToArray(), d => (long)d), bytes));
        }
        WeightsConverter.Safetensors.SafetensorsWriter.Write(path, entries, metadata);
    }

    public void Dispose()
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
        tensors.Clear();
    }
}
