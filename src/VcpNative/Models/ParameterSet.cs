// Named model parameters as tensors, with shape checks that name the tensor and both shapes.
using System.Runtime.InteropServices;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Clip;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Models;

/// <summary>
/// A model's weights by canonical name, as F32 tensors on one backend, except the compressed linear weights of a
/// bf16 / int8 file (<see cref="LinearWeightFormats"/>), which stay compressed on the CPU backend (BF16, or I8 with
/// channel scales) and are widened to F32 for other backends. On a GPU backend computing with bf16 tensor cores the
/// transformer blocks' linear weights are kept as BF16 on the device instead (half the memory and weight traffic;
/// the GEMM rounds them to the same bf16 anyway).
/// </summary>
public sealed class ParameterSet : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors = new(StringComparer.Ordinal);

    /// <summary>An empty set; <paramref name="source"/> names where it came from in messages.</summary>
    public ParameterSet(string source)
    {
        Source = source;
    }

    /// <summary>Where the weights came from (file path), for error messages.</summary>
    public string Source { get; }

    /// <summary>Every tensor name.</summary>
    public IEnumerable<string> Names => tensors.Keys;

    /// <summary>Number of tensors.</summary>
    public int Count => tensors.Count;

    /// <summary>Bytes of tensor memory held (element size x count, plus int8 channel scales): what a weight format saves.</summary>
    public long StorageBytes
    {
        get
        {
            long bytes = 0;
            foreach (var t in tensors.Values)
            {
                bytes += t.Numel * DTypes.SizeOf(t.DType);
                if (t.ChannelScales is { } s)
                {
                    bytes += s.Numel * sizeof(float);
                }
            }
            return bytes;
        }
    }

    /// <summary>Every tensor of a weight file, under its stored (flattened) names, as F32 on <paramref name="backend"/>.</summary>
    public static ParameterSet Load(string path, IBackend? backend = null)
    {
        using var weights = WeightLoader.LoadVerbatim(path);
        return FromWeights(weights, backend);
    }

    /// <summary>
    /// Converts every tensor of a weight file to F32 on <paramref name="backend"/>; a bf16 / int8 file's linear weights
    /// stay compressed on the CPU (their format is read from the file: metadata and dtypes, see <see cref="LinearWeightFormats"/>).
    /// On a backend whose <see cref="IBackend.LinearWeightPlacement"/> is <see cref="LinearWeightPlacement.Bf16"/> (a GPU
    /// with bf16 tensor-core matmuls, set before loading), the 2-D weights that
    /// <see cref="ClipWeightNames.IsBlockLinearWeight"/> names become BF16 device tensors: bf16 bits from a bf16 file as
    /// they are, f32/f16 values and dequantised int8 rounded to nearest even (<see cref="WeightQuantization.ToBFloat16(float)"/>).
    /// </summary>
    public static ParameterSet FromWeights(WeightSet weights, IBackend? backend = null)
    {
        var set = new ParameterSet(weights.SourcePath);
        var format = LinearWeightFormats.Of(weights);
        // Where linear weights go is the backend's call: kept compressed in host memory (the CPU), BF16 on a device
        // that multiplies on tensor cores, or F32. Without a backend: the shared CPU backend.
        var placement = backend?.LinearWeightPlacement ?? LinearWeightPlacement.CompressedAsStored;
        var onCpu = placement == LinearWeightPlacement.CompressedAsStored;
        var bf16OnDevice = placement == LinearWeightPlacement.Bf16;
        foreach (var w in weights.Tensors)
        {
            var shape = new int[w.Shape.Length];
            for (var i = 0; i < shape.Length; i++)
            {
                shape[i] = checked((int)w.Shape[i]);
            }
            using var noScope = TensorScope.Suspend();
            var toBf16 = bf16OnDevice && shape.Length == 2 && ClipWeightNames.IsBlockLinearWeight(w.Name);
            Tensor t;
            if (w.Name.EndsWith(LinearWeightFormats.ScaleSuffix, StringComparison.Ordinal))
            {
                // Consumed with its weight; one without an int8 weight is a broken file.
                var weightName = w.Name[..^LinearWeightFormats.ScaleSuffix.Length];
                if (!weights.TryGet(weightName, out var owner) || owner.DType != WeightDType.I8)
                {
                    throw new ModelFormatException(weights.SourcePath, null, w.Name,
                        $"scale without an int8 weight: expected I8 tensor '{weightName}', found {(owner is null ? "none" : owner.ToString())}");
                }
                continue;
            }
            if (w.DType == WeightDType.I8 && (format == LinearWeightFormat.Int8 || weights.Contains(LinearWeightFormats.ScaleName(w.Name))))
            {
                t = LoadInt8Weight(weights, w, shape, onCpu, backend, toBf16);
            }
            else if (w.DType == WeightDType.BF16 && toBf16)
            {
                t = Bf16OnBackend(RawBFloat16(w), shape, backend!);
            }
            else if (w.DType == WeightDType.BF16 && format == LinearWeightFormat.BF16 && shape.Length == 2 && onCpu)
            {
                t = Tensor.WrapBFloat16(RawBFloat16(w), shape);
            }
            else if (onCpu)
            {
                // Straight into the tensor's memory: no intermediate float[] per tensor (ViT-L is 1.7 GB of f32).
                t = Tensor.Empty(shape, DType.F32, backend);
                w.CopyToFloat32(t.AsSpan());
            }
            else
            {
                t = OnBackend(w.ToFloat32(), shape, backend!, toBf16);
            }
            t.Name = w.Name;
            set.tensors[w.Name] = t;
        }
        return set;
    }

    /// <summary>
    /// An int8 weight [N, K] with its F32 <c>.int8_scale</c> [N]: kept as I8 + channel scales on the CPU, dequantised
    /// (q * scale, one f32 rounding, as the CPU GEMM packs it) for other backends.
    /// </summary>
    private static Tensor LoadInt8Weight(WeightSet weights, WeightTensor w, int[] shape, bool onCpu, IBackend? backend, bool toBf16)
    {
        var file = weights.SourcePath;
        var scaleName = LinearWeightFormats.ScaleName(w.Name);
        if (shape.Length != 2)
        {
            throw new ModelFormatException(file, null, w.Name, $"int8 weight: expected a 2-D [N, K] matrix, found I8 {Shapes.Format(shape)}");
        }
        var rows = shape[0];
        if (!weights.TryGet(scaleName, out var scaleTensor))
        {
            throw new ModelFormatException(file, null, w.Name, $"int8 weight without its scale: expected F32 tensor '{scaleName}' [{rows}], found none");
        }
        if (scaleTensor.DType != WeightDType.F32 || scaleTensor.Shape.Length != 1 || scaleTensor.Shape[0] != rows)
        {
            throw new ModelFormatException(file, null, scaleName,
                $"scale of int8 weight '{w.Name}': expected F32 [{rows}], found {scaleTensor.DType} [{string.Join(", ", scaleTensor.Shape)}]");
        }
        var scales = scaleTensor.ToFloat32();
        for (var r = 0; r < rows; r++)
        {
            if (!float.IsFinite(scales[r]) || scales[r] < 0f)
            {
                throw new ModelFormatException(file, null, scaleName, $"expected finite scales >= 0, found {scales[r]} at row {r}");
            }
        }
        var q = GC.AllocateUninitializedArray<sbyte>(checked((int)w.ElementCount));
        MemoryMarshal.Cast<byte, sbyte>(w.RawBytes).CopyTo(q);
        if (onCpu)
        {
            return Tensor.WrapInt8(q, scales, shape);
        }
        var values = new float[q.Length];
        var cols = shape[1];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = q[i] * scales[i / cols];
        }
        return OnBackend(values, shape, backend!, toBf16);
    }

    private static ushort[] RawBFloat16(WeightTensor w)
    {
        var bits = GC.AllocateUninitializedArray<ushort>(checked((int)w.ElementCount));
        MemoryMarshal.Cast<byte, ushort>(w.RawBytes).CopyTo(bits);
        return bits;
    }

    /// <summary>F32 values on a non-CPU backend as F32, or rounded to BF16 (nearest even) when <paramref name="bf16"/>.</summary>
    private static Tensor OnBackend(float[] values, int[] shape, IBackend backend, bool bf16)
    {
        if (!bf16)
        {
            return Tensor.FromArray(values, shape, backend);
        }
        var bits = GC.AllocateUninitializedArray<ushort>(values.Length);
        WeightQuantization.ToBFloat16(values, bits);
        return Bf16OnBackend(bits, shape, backend);
    }

    /// <summary>bf16 bits as a BF16 tensor on <paramref name="backend"/> (the GPU uploads the bits as they are).</summary>
    private static Tensor Bf16OnBackend(ushort[] bits, int[] shape, IBackend backend)
    {
        using var host = Tensor.WrapBFloat16(bits, shape);
        var t = Tensor.Empty(shape, DType.BF16, backend);
        backend.Copy(host, t);
        return t;
    }

    /// <summary>Adds <paramref name="tensor"/> under <paramref name="name"/> and takes ownership of it.</summary>
    public void Add(string name, Tensor tensor)
    {
        tensor.Name = name;
        tensors[name] = tensor;
    }

    /// <summary>True when a tensor is named <paramref name="name"/>.</summary>
    public bool Contains(string name) => tensors.ContainsKey(name);

    /// <summary>The tensor named <paramref name="name"/>, if any.</summary>
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

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
        tensors.Clear();
    }
}
