// The one exception family of the JPEG decoder: a one-line message naming the file, the byte offset, and expected vs found.
namespace VcpNative.IO.Images;

/// <summary>A JPEG file that cannot be decoded; carries the file and byte offset.</summary>
public sealed class JpegDecodeException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/> at <paramref name="offset"/>.</summary>
    public JpegDecodeException(string file, long offset, string detail)
        : base($"{file}: offset {offset}: {detail}")
    {
        File = file;
        Offset = offset;
    }

    /// <summary>Name of the file (or stream) being decoded, as given by the caller.</summary>
    public string File { get; }

    /// <summary>Byte offset in the file where the problem was detected.</summary>
    public long Offset { get; }
}
