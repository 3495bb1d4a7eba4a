// Where a tensor's bytes live: a managed array, a region of a memory-mapped file, or a lazily inflated zip entry.
namespace VcpNative.WeightsConverter;

internal abstract class TensorStorage
{
    public abstract long ByteLength { get; }

    public abstract ReadOnlySpan<byte> Bytes { get; }
}

internal sealed class ArrayStorage(ReadOnlyMemory<byte> data) : TensorStorage
{
    public override long ByteLength => data.Length;

    public override ReadOnlySpan<byte> Bytes => data.Span;
}

internal sealed class MappedRegionStorage(MappedFile file, long offset, long length) : TensorStorage
{
    public override long ByteLength => length;

    public override ReadOnlySpan<byte> Bytes
    {
        get
        {
            // Spans are int-sized; a single storage over 2 GiB would need chunked access, which no CLIP weight needs.
            if (length > int.MaxValue)
                throw new ModelFormatException(file.Path, offset, null, $"storage of {length} bytes exceeds the 2 GiB single-tensor limit");
            return file.Span(offset, (int)length);
        }
    }
}

/// <summary>A storage whose bytes are produced on first use (a deflated zip entry), then kept.</summary>
internal sealed class LazyStorage(long byteLength, Func<byte[]> load) : TensorStorage
{
    private byte[]? _data;

    public override long ByteLength => byteLength;

    public override ReadOnlySpan<byte> Bytes => _data ??= load();
}
