// The one failure type of image decoding: a malformed, truncated, unsupported or oversized file.
namespace VcpNative.IO.Images;

public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string fileName, long byteOffset, string expected, string found)
        : base($"{fileName}: at byte {byteOffset}: expected {expected}, found {found}")
    {
        FileName = fileName;
        ByteOffset = byteOffset;
        Expected = expected;
        Found = found;
    }

    public ImageDecodeException() : base("image decode failed") { FileName = Expected = Found = ""; }

    public ImageDecodeException(string message) : base(message) { FileName = Expected = Found = ""; }

    public ImageDecodeException(string message, Exception inner) : base(message, inner) { FileName = Expected = Found = ""; }

    public string FileName { get; }

    /// <summary>Offset in the file where the problem was seen (-1 when it is not tied to one place).</summary>
    public long ByteOffset { get; }

    public string Expected { get; }
    public string Found { get; }
}
