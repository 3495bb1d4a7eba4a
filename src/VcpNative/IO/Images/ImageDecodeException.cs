// The one failure type of image decoding: a malformed, truncated, unsupported or oversized file.
namespace VcpNative.IO.Images;

/// <summary>An image file that cannot be decoded; carries the file, byte offset, and what was expected vs found.</summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates the exception for <paramref name="fileName"/> at <paramref name="byteOffset"/> (-1 when the
    /// problem is not tied to one place, e.g. inside a library's decoder; the message then names no offset).</summary>
    public ImageDecodeException(string fileName, long byteOffset, string expected, string found)
        : base($"{fileName}: {(byteOffset >= 0 ? $"at byte {byteOffset}: " : "")}expected {expected}, found {found}")
    {
        FileName = fileName;
        ByteOffset = byteOffset;
        Expected = expected;
        Found = found;
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public ImageDecodeException() : base("image decode failed") { FileName = Expected = Found = ""; }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public ImageDecodeException(string message) : base(message) { FileName = Expected = Found = ""; }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public ImageDecodeException(string message, Exception inner) : base(message, inner) { FileName = Expected = Found = ""; }

    /// <summary>The file (or name) being decoded; empty when not given.</summary>
    public string FileName { get; }

    /// <summary>Offset in the file where the problem was seen (-1 when it is not tied to one place).</summary>
    public long ByteOffset { get; }

    /// <summary>What the decoder expected; empty when not given.</summary>
    public string Expected { get; }
    /// <summary>What it found instead; empty when not given.</summary>
    public string Found { get; }
}
