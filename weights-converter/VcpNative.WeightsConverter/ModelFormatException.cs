// The one exception type for unreadable, corrupt, truncated or unsafe weight files.
namespace VcpNative.WeightsConverter;

public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string file, long? offset, string? tensorName, string detail, Exception? inner = null)
        : base(Compose(file, offset, tensorName, detail), inner)
    {
        File = file;
        Offset = offset;
        TensorName = tensorName;
        Detail = detail;
    }

    /// <summary>Path of the offending file.</summary>
    public string File { get; }

    /// <summary>Byte offset in <see cref="File"/> where the problem was found, when known.</summary>
    public long? Offset { get; }

    public string? TensorName { get; }

    /// <summary>The message without the file/offset/tensor prefix.</summary>
    public string Detail { get; }

    private static string Compose(string file, long? offset, string? tensorName, string detail)
    {
        var text = Path.GetFileName(file);
        if (offset is long o) text += $": offset {o}";
        if (tensorName is not null) text += $": tensor '{tensorName}'";
        // One line, always: the CLI prints this as is.
        return (text + ": " + detail).Replace('\n', ' ').Replace('\r', ' ');
    }
}
