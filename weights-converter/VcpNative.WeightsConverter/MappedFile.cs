// A read-only memory map of a whole weight file, so tensors are views into the page cache rather than copies.
using System.IO.MemoryMappedFiles;

namespace VcpNative.WeightsConverter;

internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;
    private bool _disposed;

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
            _base += view.PointerOffset;
        }
    }

    public string Path { get; }

    public long Length { get; }

    public static MappedFile Open(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"weight file not found: {path}", path);
        var length = new FileInfo(path).Length;
        // A zero-length file cannot be mapped; an empty instance lets readers report "truncated" uniformly.
        if (length == 0) return new MappedFile(path, 0, null, null);
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            return new MappedFile(path, length, map, view);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps the file and hands it to <paramref name="read"/>, whose result then owns it (a WeightSet unmaps on Dispose);
    /// if reading throws, the map is released here so a bad file never leaks one.
    /// </summary>
    public static T OpenOwnedBy<T>(string path, Func<MappedFile, T> read)
    {
        var file = Open(path);
        try
        {
            return read(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Bytes [offset, offset+length) of the file; the caller has checked the range.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + length}) outside file of {Length} bytes");
        return length == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_base + offset, length);
    }

    public UnmanagedMemoryStream OpenStream(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset + length > Length) throw new ArgumentOutOfRangeException(nameof(offset));
        return new UnmanagedMemoryStream(_base + offset, length);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
        _base = null;
    }
}
