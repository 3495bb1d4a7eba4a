// The one exception family of the JPEG decoder: a one-line message naming the file, the byte offset, and expected vs found.
namespace VcpNative.IO.Images;

public sealed class JpegDecodeException : Exception
{
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
