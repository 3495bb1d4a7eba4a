// One named array from a weight file: dtype, shape, strides into a shared storage, and conversions to float32/int64.
using System.Runtime.InteropServices;

namespace VcpNative.WeightsConverter;

public sealed class WeightTensor
{
    private byte[]? _materialised;

    internal WeightTensor(string name, WeightDType dtype, long[] shape, long[] strides, long storageOffset, TensorStorage storage)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Strides = strides;
        StorageOffset = storageOffset;
        Storage = storage;
        ElementCount = TensorLayout.ElementCount(shape);
        IsContiguous = TensorLayout.IsContiguous(shape, strides);
    }

    public string Name { get; }

    public WeightDType DType { get; }

    public long[] Shape { get; }

    /// <summary>Strides in elements (PyTorch convention); row-major contiguous tensors have strides = suffix products of Shape.</summary>
    public long[] Strides { get; }

    /// <summary>Offset of element [0,...,0] into the storage, in elements.</summary>
    public long StorageOffset { get; }

    public long ElementCount { get; }

    public bool IsContiguous { get; }

    public int ElementSize => WeightDTypeInfo.ElementSize(DType);

    public long ByteLength => ElementCount * ElementSize;

    internal TensorStorage Storage { get; }

    /// <summary>Creates a contiguous tensor over the given little-endian bytes (not copied).</summary>
    public static WeightTensor FromBytes(string name, WeightDType dtype, long[] shape, ReadOnlyMemory<byte> bytes)
    {
        var count = TensorLayout.ElementCount(shape);
        if (count * WeightDTypeInfo.ElementSize(dtype) != bytes.Length)
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype} needs {count * WeightDTypeInfo.ElementSize(dtype)} bytes, got {bytes.Length}");
        return new WeightTensor(name, dtype, (long[])shape.Clone(), TensorLayout.ContiguousStrides(shape), 0, new ArrayStorage(bytes));
    }

    public static WeightTensor FromFloat32(string name, long[] shape, float[] values) =>
        FromBytes(name, WeightDType.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>Same data under another name (storage shared, nothing copied).</summary>
    public WeightTensor WithName(string name) => new(name, DType, Shape, Strides, StorageOffset, Storage) { _materialised = _materialised };

    /// <summary>A 2-D transpose as a strided view over the same storage (materialised only when read).</summary>
    public WeightTensor Transposed2D(string name)
    {
        if (Shape.Length != 2) throw new InvalidOperationException($"tensor '{Name}' has {Shape.Length} dims, transpose needs 2");
        return new WeightTensor(name, DType, [Shape[1], Shape[0]], [Strides[1], Strides[0]], StorageOffset, Storage);
    }

    /// <summary>The tensor's elements, row-major and little-endian. A strided view is materialised once and cached.</summary>
    public ReadOnlySpan<byte> RawBytes
    {
        get
        {
            var elementSize = ElementSize;
            if (IsContiguous) return Storage.Bytes.Slice(checked((int)(StorageOffset * elementSize)), checked((int)(ElementCount * elementSize)));
            return _materialised ??= TensorLayout.Gather(Storage.Bytes, elementSize, Shape, Strides, StorageOffset);
        }
    }

    public float[] ToFloat32()
    {
        var result = new float[ElementCount];
        CopyToFloat32(result);
        return result;
    }

    /// <summary>Converts every element to float32 in one pass (fp16/bf16 exactly, f64 rounded, integers cast).</summary>
    public void CopyToFloat32(Span<float> destination)
    {
        if (destination.Length != ElementCount) throw new ArgumentException($"destination has {destination.Length} elements, tensor '{Name}' has {ElementCount}");
        DTypeConversion.ToFloat32(RawBytes, DType, destination);
    }

    public long[] ToInt64()
    {
        if (WeightDTypeInfo.IsFloatingPoint(DType)) throw new InvalidOperationException($"tensor '{Name}' is {DType}; ToInt64 only converts integer and bool tensors");
        var result = new long[ElementCount];
        DTypeConversion.ToInt64(RawBytes, DType, result);
        return result;
    }

    public override string ToString() => $"{Name}: {DType}[{string.Join(", ", Shape)}]";
}
